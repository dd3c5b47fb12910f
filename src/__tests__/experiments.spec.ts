/**
 * The experiments API module against the real server (jest.globalSetup.js).
 * Runs are logged beforehand by the real Python API (`start_run`) into the
 * server's workspace, as a notebook kernel would.
 */

import * as fs from 'fs';
import * as path from 'path';

import { MLOpsRequestError } from '../api';
import { ExperimentsAPI, IRunSummary } from '../api/experiments';
import { pythonJson, ROOT as root, testClient } from './helpers';

const EXPERIMENT = 'jest-experiments';

const LOG_RUNS = `
import json, jupyter_mlops
ids = []
for i in range(3):
    with jupyter_mlops.start_run(${JSON.stringify(EXPERIMENT)}, name=f"r{i}",
                                 params={"lr": 10 ** -(i + 1), "model": "rf"}) as run:
        for step in range(4):
            run.log(acc=0.5 + i / 10 + step / 100, **{"loss/val": 1 - step / 4})
    ids.append(run.id)
print(json.dumps(ids))
`;

describe('ExperimentsAPI against the real server', () => {
  const api = new ExperimentsAPI(testClient());
  let ids: string[] = [];

  beforeAll(() => {
    fs.mkdirSync(path.join(root, 'nb'), { recursive: true });
    fs.writeFileSync(path.join(root, 'nb', 'train.ipynb'), '{}');
    ids = pythonJson<string[]>(['-c', LOG_RUNS], {
      env: {
        ...process.env,
        JUPYTER_MLOPS_WORKSPACE: root,
        JUPYTER_MLOPS_NOTEBOOK: path.join(root, 'nb', 'train.ipynb'),
        JUPYTER_MLOPS_OUTPUT_NOTEBOOK: path.join(root, 'nb', 'train-out.ipynb')
      },
      stdio: ['ignore', 'pipe', 'pipe'], // MLflow's INFO lines stay out of the report
      timeout: 120000
    });
  }, 150000);

  it('lists the experiment', async () => {
    const { experiments } = await api.experiments();
    expect(experiments.map(e => e.name)).toContain(EXPERIMENT);
  });

  it('pages runs with tokens, ordered and filtered in the store', async () => {
    const first = await api.runs(EXPERIMENT, {
      page_size: 2,
      order_by: 'attributes.run_name ASC'
    });
    expect(first.runs.map(r => r.name)).toEqual(['r0', 'r1']);
    expect(first.next_page_token).toBeTruthy();
    const second = await api.runs(EXPERIMENT, {
      page_size: 2,
      order_by: 'attributes.run_name ASC',
      page_token: first.next_page_token
    });
    expect(second.runs.map(r => r.name)).toEqual(['r2']);
    expect(second.next_page_token).toBeNull();

    const filtered = await api.runs(first.experiment_ids[0], {
      filter: 'metrics.acc > 0.6',
      order_by: 'metrics.acc DESC'
    });
    expect(filtered.runs.map(r => r.name)).toEqual(['r2', 'r1']);
    const row: IRunSummary = filtered.runs[0];
    expect(row.params).toEqual({ lr: '0.001', model: 'rf' });
    expect(row.metrics.acc).toBeCloseTo(0.73);
    expect(row.notebook).toBe('nb/train.ipynb');
  });

  it('reads a run with its notebooks and artifacts', async () => {
    const detail = await api.run(ids[0]);
    expect(detail.run.id).toBe(ids[0]);
    expect(detail.notebook).toEqual({
      recorded: 'nb/train.ipynb',
      path: 'nb/train.ipynb',
      exists: true
    });
    expect(detail.output_notebook).toEqual({
      recorded: 'nb/train-out.ipynb',
      path: 'nb/train-out.ipynb',
      exists: false
    });
    expect(detail.artifacts.map(a => a.path)).toContain('environment');
  });

  it('reads a metric history, slash in the key included', async () => {
    const history = await api.metricHistory(ids[1], 'loss/val');
    expect(history.key).toBe('loss/val');
    expect(history.points.map(p => p.step)).toEqual([0, 1, 2, 3]);
    expect(history.points.map(p => p.value)).toEqual([1, 0.75, 0.5, 0.25]);
  });

  it('compares runs', async () => {
    const comparison = await api.compare([ids[0], ids[2]]);
    expect(comparison.params_common).toEqual({ model: 'rf' });
    expect(Object.keys(comparison.params_differ)).toEqual(['lr']);
    expect(comparison.metrics.acc[ids[2]]).toBeCloseTo(0.73);
  });

  it('carries the server message of 400 and 404 answers', async () => {
    await expect(api.runs(EXPERIMENT, { page_size: 0 })).rejects.toMatchObject({
      status: 400,
      code: 'invalid_input'
    });
    await expect(
      api.runs(EXPERIMENT, { filter: 'metrics.acc >>> 1' })
    ).rejects.toBeInstanceOf(MLOpsRequestError);
    const missing = 'e'.repeat(32);
    await expect(api.run(missing)).rejects.toMatchObject({
      status: 404,
      message: `Run '${missing}' not found.`
    });
    await expect(api.compare([ids[0]])).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('run_ids')
    });
    await expect(api.runs('no-such-experiment')).rejects.toMatchObject({
      status: 404,
      message: expect.stringContaining("'no-such-experiment'")
    });
  });
});
