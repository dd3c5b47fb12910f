/**
 * The drift API module against a real Jupyter server running jupyter-mlops
 * (see jest.globalSetup.js). Two versions of a CSV are written into the
 * server's root and snapshotted through the datasets route; the checks, the
 * history, figures and the HTML export then go through DriftAPI.
 */

import * as fs from 'fs';
import * as path from 'path';

import { DriftAPI } from '../api/drift';
import { failure, ROOT, testClient } from './helpers';

const client = testClient();
const api = new DriftAPI(client);

/** A deterministic CSV: `amount` moves by `shift`, `region` does not. */
function csv(rows: number, shift: number): string {
  const regions = ['north', 'south', 'east', 'west'];
  const lines = ['amount,region'];
  let seed = 7;
  const random = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  for (let i = 0; i < rows; i++) {
    const normal = Math.sqrt(-2 * Math.log(random())) * Math.cos(2 * Math.PI * random());
    lines.push(`${(10 + shift + 2 * normal).toFixed(4)},${regions[i % 4]}`);
  }
  return lines.join('\n') + '\n';
}

async function snapshot(file: string, text: string, tags: string[] = []): Promise<void> {
  fs.writeFileSync(path.join(ROOT, file), text);
  await client.request('datasets', {
    method: 'POST',
    body: { path: file, name: 'jest-drift', tags }
  });
}

describe('DriftAPI against the real server', () => {
  beforeAll(async () => {
    await snapshot('jest-drift-v1.csv', csv(1500, 0), ['baseline']);
    await snapshot('jest-drift-v2.csv', csv(1500, 3));
  });

  it('lists the datasets and versions the pickers offer', async () => {
    expect(await api.datasets()).toContain('jest-drift');
    const versions = await api.versions('jest-drift');
    expect(versions).toHaveLength(2);
    expect(versions[1].tags).toEqual(['baseline']);
  });

  it('runs a check, keeps it, and draws it', async () => {
    const check = await api.check({
      reference: 'jest-drift@baseline',
      current: 'jest-drift',
      tests: { region: 'psi' }
    });
    expect(check.origin).toBe('rest');
    expect(check.drifted_columns).toEqual(['amount']);
    const amount = check.report.columns.find(c => c.name === 'amount');
    expect(amount?.test).toBe('wasserstein');
    expect(amount?.drifted).toBe(true);
    expect(amount?.summary?.kind).toBe('histogram');
    expect(check.report.columns.find(c => c.name === 'region')?.test).toBe('psi');

    const again = await api.get(check.id);
    expect(again.report.columns).toEqual(check.report.columns);
    const history = await api.checks({ dataset: 'jest-drift' });
    expect(history.checks[0].id).toBe(check.id);
    expect((history.checks[0] as unknown as Record<string, unknown>).report).toBeUndefined();

    const figure = await api.figure(check.id, 'amount');
    expect(figure.data.map(t => t.name)).toEqual(['reference', 'current']);
    const overview = await api.figure(check.id);
    expect(overview.data.map(t => t.name)).toEqual(['score', 'threshold']);

    expect(api.htmlUrl(check.id)).toMatch(
      new RegExp(`/jupyter-mlops/drift/checks/${check.id}/html\\?download=true$`)
    );
    const page = await api.html(check.id);
    expect(page.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(page).toContain('Dataset drift detected');
  });

  it('reports unknown datasets, columns and checks with the server message', async () => {
    let error = await failure(api.check({ reference: 'nope', current: 'jest-drift' }));
    expect(error.status).toBe(404);
    expect(error.message).toContain("No dataset named 'nope'");
    error = await failure(
      api.check({
        reference: 'jest-drift',
        current: 'jest-drift',
        tests: { missing: 'psi' }
      })
    );
    expect(error.status).toBe(400);
    expect(error.message).toContain("tests: 'missing' is not a column");
    error = await failure(api.get(987654));
    expect(error.status).toBe(404);
    error = await failure(api.html(987654));
    expect(error.message).toContain('No drift check 987654');
  });
});
