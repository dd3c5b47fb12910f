/**
 * The pipelines API module and the read-only MLOpsRuns drive against a real
 * Jupyter server running jupyter-mlops (see jest.globalSetup.js). Tiny
 * notebooks and a three-step spec are written into the server's root; runs
 * execute for real with papermill on the server's executor.
 */

import * as fs from 'fs';
import * as path from 'path';

import { DONE_STATUSES, IRun, PipelinesAPI } from '../api/pipelines';
import { RunsDrive } from '../panels/pipelines/drive';
import { collect } from '../panels/pipelines/params';
import { failure, ROOT, testClient } from './helpers';

const client = testClient();
const api = new PipelinesAPI(client);
const OUT = 'from jupyter_mlops.core.pipelines.outputs import output\n';

function notebook(file: string, params: string, ...cells: string[]): void {
  const cell = (source: string, tags: string[] = []) => ({
    cell_type: 'code',
    execution_count: null,
    metadata: { tags },
    outputs: [],
    source
  });
  const nb = {
    cells: [cell(params, ['parameters']), ...cells.map(c => cell(c))],
    metadata: {
      kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' }
    },
    nbformat: 4,
    nbformat_minor: 5
  };
  fs.mkdirSync(path.dirname(path.join(ROOT, file)), { recursive: true });
  fs.writeFileSync(path.join(ROOT, file), JSON.stringify(nb));
}

async function finished(id: string, timeoutMs = 120000): Promise<IRun> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await api.getRun(id);
    if (DONE_STATUSES.includes(run.status) || Date.now() > deadline) {
      return run;
    }
    await new Promise(r => setTimeout(r, 250));
  }
}

describe('PipelinesAPI against the real server', () => {
  beforeAll(() => {
    notebook('jest-pipe/prepare.ipynb', 'n = 1', OUT + "output('rows', n * 10)");
    notebook(
      'jest-pipe/train.ipynb',
      'rows = 0\nepochs = 1',
      OUT + "output('score', rows / epochs)"
    );
    notebook('jest-pipe/report.ipynb', 'score = 0.0', "print('score', score)");
    fs.writeFileSync(
      path.join(ROOT, 'jest-pipe/jest.pipeline.yaml'),
      [
        'name: jest',
        'parameters:',
        '  n: {type: int, default: 3}',
        '  epochs: {type: int, default: 2}',
        'steps:',
        '  - {name: prepare, notebook: jest-pipe/prepare.ipynb, parameters: {n: "${params.n}"}}',
        '  - name: train',
        '    notebook: jest-pipe/train.ipynb',
        '    parameters: {rows: "${steps.prepare.outputs.rows}", epochs: "${params.epochs}"}',
        '  - {name: report, notebook: jest-pipe/report.ipynb,',
        '     parameters: {score: "${steps.train.outputs.score}"}}',
        ''
      ].join('\n')
    );
    fs.writeFileSync(
      path.join(ROOT, 'jest-pipe/cycle.pipeline.yaml'),
      'steps:\n  - {name: a, notebook: jest-pipe/report.ipynb, depends_on: [b]}\n' +
        '  - {name: b, notebook: jest-pipe/report.ipynb, depends_on: [a]}\n'
    );
  });

  it('lists pipelines and shows one with its parameters and DAG', async () => {
    const listing = await api.list();
    const spec = listing.pipelines.find(p => p.path === 'jest-pipe/jest.pipeline.yaml');
    expect(spec?.kind).toBe('spec');
    expect(spec?.steps).toBe(3);
    const broken = listing.pipelines.find(p => p.path === 'jest-pipe/cycle.pipeline.yaml');
    expect(broken?.error?.reason).toContain('cycle');
    expect(listing.pipelines.some(p => p.path === 'jest-pipe/train.ipynb')).toBe(true);

    const detail = await api.get('jest-pipe/jest.pipeline.yaml');
    expect(detail.parameters.map(p => [p.name, p.type, p.default])).toEqual([
      ['n', 'int', 3],
      ['epochs', 'int', 2]
    ]);
    expect(detail.graph.levels).toEqual([['prepare'], ['train'], ['report']]);
    const nb = await api.get('jest-pipe/train.ipynb');
    expect(nb.kind).toBe('notebook');
    expect(nb.parameters.map(p => p.name)).toEqual(['rows', 'epochs']);
  });

  it('runs with a parameter from the form; steps, outputs and notebooks come back', async () => {
    const detail = await api.get('jest-pipe/jest.pipeline.yaml');
    const { values, error } = collect(detail.parameters, { n: '3', epochs: '5' });
    expect(error).toBeNull();
    expect(values).toEqual({ epochs: 5 }); // only what differs from the defaults
    const started = await api.run(detail.path, values);
    expect(started.parameters).toEqual({ n: 3, epochs: 5 });
    const run = await finished(started.id);
    expect(run.status).toBe('succeeded');
    const steps = Object.fromEntries(run.steps.map(s => [s.name, s]));
    expect(steps.train.parameters).toEqual({ rows: 30, epochs: 5 });
    expect(steps.report.parameters).toEqual({ score: 6 });
    expect(steps.report.cells_done).toBe(steps.report.cells_total);

    const executed = await api.stepNotebook(run.id, 'report');
    expect(executed.type).toBe('notebook');
    expect(executed.writable).toBe(false);

    // the drive JupyterLab opens `MLOpsRuns:<run-id>/report.ipynb` through
    const drive = new RunsDrive(api);
    const model = await drive.get(`${run.id}/report.ipynb`);
    expect(model.type).toBe('notebook');
    expect(model.path).toBe(`${run.id}/report.ipynb`);
    const sources = model.content.cells.map((c: any) =>
      Array.isArray(c.source) ? c.source.join('') : c.source
    );
    expect(sources.join('\n')).toContain('score = 6');
    await expect(drive.save(`${run.id}/report.ipynb`, model)).rejects.toThrow('read-only');
    await expect(drive.delete(`${run.id}/report.ipynb`)).rejects.toThrow('read-only');
    const outside = await failure(drive.get(`${run.id}/../../state.db`));
    expect(outside.status).toBe(400);

    const again = await api.rerun(run.id);
    expect(again.rerun_of).toBe(run.id);
    expect((await finished(again.id)).parameters).toEqual({ n: 3, epochs: 5 });
    const page = await api.runs({ pipeline: detail.path, limit: 1 });
    expect(page.runs.map(r => r.id)).toEqual([again.id]);
    expect(page.next_before).toBe(again.id);
  });

  it('schedules: next fire times, pause and resume, delete', async () => {
    const times = await api.fireTimes('15 6 * * *', 'Asia/Tokyo');
    expect(times.times).toHaveLength(5);
    expect(times.local.every(t => t.includes('T06:15:00+09:00'))).toBe(true);
    const made = await api.createSchedule({
      pipeline: 'jest-pipe/jest.pipeline.yaml',
      cron: '15 6 * * *',
      timezone: 'Asia/Tokyo',
      parameters: { epochs: 4 }
    });
    expect(made.upcoming).toEqual(
      (await api.fireTimes('15 6 * * *', 'Asia/Tokyo')).times
    );
    expect((await api.pause(made.id)).upcoming).toEqual([]);
    const resumed = await api.resume(made.id);
    expect(resumed.paused).toBe(false);
    expect(resumed.upcoming).toHaveLength(5);
    const listed = await api.schedules('jest-pipe/jest.pipeline.yaml');
    expect(listed.schedules.map(s => s.id)).toEqual([made.id]);
    expect(await api.deleteSchedule(made.id)).toEqual({ deleted: made.id });
  });

  it('says what is wrong with bad input', async () => {
    const unknown = await failure(api.run('jest-pipe/jest.pipeline.yaml', { epoch: 1 }));
    expect(unknown.status).toBe(400);
    expect(unknown.message).toContain('known parameters: epochs, n');
    const cron = await failure(api.fireTimes('0 0 31 2 *'));
    expect(cron.message).toContain('never matches');
    const cycle = await failure(api.get('jest-pipe/cycle.pipeline.yaml'));
    expect(cycle.message).toContain('cycle.pipeline.yaml:2');
    expect(cycle.message).toContain('a → b → a');
    const check = await api.validate({ path: 'jest-pipe/cycle.pipeline.yaml' });
    expect(check.valid).toBe(false);
    expect(check.errors[0].line).toBe(2);
    const outside = await failure(api.run('../elsewhere.ipynb'));
    expect(outside.status).toBe(400);
  });
});
