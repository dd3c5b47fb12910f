/**
 * The datasets API module and the Datasets panel model against the real
 * server (jest.globalSetup.js). The workspace starts empty: CSV files are
 * written through Jupyter's own contents API, then snapshotted over REST.
 */

import { ServerConnection } from '@jupyterlab/services';

import { DatasetsAPI, versionRef } from '../api/datasets';
import { DatasetsModel, IDatasetReference } from '../panels/datasets/model';
import { failure, testClient, testSettings } from './helpers';

const settings = testSettings();
const api = new DatasetsAPI(testClient());

const V1 = 'id,amount,country\n1,10.5,DE\n2,20.0,FR\n3,,DE\n';
const V2 = 'id,amount,country\n1,11.0,DE\n2,25.0,FR\n3,30.0,IT\n4,-1.0,DE\n';

async function writeFile(path: string, content: string): Promise<void> {
  const url = `${settings.baseUrl}api/contents/${path}`;
  const response = await ServerConnection.makeRequest(
    url,
    {
      method: 'PUT',
      body: JSON.stringify({ type: 'file', format: 'text', content })
    },
    settings
  );
  if (!response.ok) {
    throw new Error(`writing ${path}: ${response.status} ${await response.text()}`);
  }
}

describe('DatasetsAPI against the real server', () => {
  let first: string;
  let second: string;

  beforeAll(async () => {
    await writeFile('jest-sales.csv', V1);
    const a = await api.snapshot({ path: 'jest-sales.csv', name: 'jest-sales', tags: ['base'] });
    expect(a.new).toBe(true);
    expect(a.profile?.columns.map(c => c.name)).toEqual(['id', 'amount', 'country']);
    const again = await api.snapshot({ path: 'jest-sales.csv', name: 'jest-sales' });
    expect(again.new).toBe(false);
    expect(again.version).toBe(a.version);
    await writeFile('jest-sales.csv', V2);
    const b = await api.snapshot({ path: 'jest-sales.csv', name: 'jest-sales' });
    [first, second] = [a.version, b.version];
  });

  it('lists the dataset with its tags', async () => {
    const { datasets } = await api.list();
    const sales = datasets.find(d => d.name === 'jest-sales');
    expect(sales?.versions).toBe(2);
    expect(sales?.latest).toBe(second);
    expect(sales?.tags).toEqual({ base: first });
  });

  it('gives the timeline newest first, and a version with its profile', async () => {
    const timeline = await api.versions('jest-sales');
    expect(timeline.versions.map(v => v.version)).toEqual([second, first]);
    expect(timeline.versions[1].tags).toEqual(['base']);
    expect(timeline.versions[0].runs).toEqual([]);
    const detail = await api.version('jest-sales', 'base');
    expect(detail.rows).toBe(3);
    const amount = detail.profile?.columns.find(c => c.name === 'amount');
    expect(amount?.missing).toBe(1);
    expect(amount?.histogram?.counts.reduce((x, y) => x + y, 0)).toBe(2);
    const profile = await api.profile('jest-sales', second.slice(0, 8));
    expect(profile.profile.rows).toBe(4);
  });

  it('diffs two versions', async () => {
    const diff = await api.diff('jest-sales', 'base', 'latest');
    expect(diff.rows).toEqual({ a: 3, b: 4, delta: 1 });
    const country = diff.columns.find(c => c.name === 'country');
    expect(country?.new_categories).toEqual(['IT']);
    expect(diff.summary).toContain('rows +1');
  });

  it('stores expectations and validates a version against them', async () => {
    await api.setExpectations('jest-sales', { columns: { amount: { min: 0 } } });
    const stored = await api.expectations('jest-sales');
    expect(stored.expectations?.columns?.amount).toEqual({ min: 0 });
    const report = await api.validate('jest-sales', 'latest');
    expect(report.passed).toBe(false);
    expect(report.failures[0]).toMatchObject({ column: 'amount', check: 'min', count: 1 });
    const adHoc = await api.validate('jest-sales', 'base', { min_rows: 1 });
    expect(adHoc.passed).toBe(true);
  });

  it('answers bad input with the server message', async () => {
    let error = await failure(api.snapshot({ path: 'jest-sales.csv', name: '../x' }));
    expect(error.status).toBe(400);
    expect(error.message).toContain('looks like a path');
    error = await failure(api.snapshot({ path: '../../etc/hostname', name: 'x' }));
    expect(error.status).toBe(400);
    expect(error.code).toBe('outside_workspace');
    error = await failure(api.version('jest-sales', 'nope'));
    expect(error.status).toBe(404);
    expect(error.message).toContain(second.slice(0, 12));
    error = await failure(api.setExpectations('jest-sales', { columns: { amount: { mni: 1 } } }));
    expect(error.status).toBe(400);
    expect(error.message).toContain("'mni'");
  });

  it('deletes a version and lists its object for gc', async () => {
    await writeFile('jest-temp.csv', 'x\n1\n');
    const temp = await api.snapshot({ path: 'jest-temp.csv', name: 'jest-temp' });
    const deleted = await api.deleteVersion('jest-temp', temp.short);
    expect(deleted.deleted).toBe(temp.version);
    const report = await api.gc({ dry_run: true, grace_seconds: 0 });
    expect(report.dry_run).toBe(true);
    expect(report.objects.map(o => o.key)).toContain(temp.version);
  });
});

describe('DatasetsModel', () => {
  it('selects a dataset, diffs two ticked versions and emits drift references', async () => {
    await writeFile('jest-model.csv', 'a,b\n1,x\n2,y\n');
    const one = await api.snapshot({ path: 'jest-model.csv', name: 'jest-model' });
    await writeFile('jest-model.csv', 'a,b,c\n1,x,0.5\n2,y,1.5\n3,z,2.5\n');
    const two = await api.snapshot({ path: 'jest-model.csv', name: 'jest-model' });

    const model = new DatasetsModel(api);
    await model.refresh();
    expect(model.datasets.map(d => d.name)).toContain('jest-model');
    await model.selectDataset('jest-model');
    expect(model.error).toBeNull();
    expect(model.versions.map(v => v.version)).toEqual([two.version, one.version]);
    expect(model.pane).toBe('version');
    expect(model.detail?.version).toBe(two.version);

    model.toggleCompare(two.version);
    model.toggleCompare(one.version);
    await model.runDiff();
    expect(model.pane).toBe('diff');
    expect(model.diff?.a).toBe(one.version);
    expect(model.diff?.added_columns.map(c => c.name)).toEqual(['c']);

    await model.validate(two.version);
    expect(model.pane).toBe('validation');
    expect(model.needsExpectations).toBe(true);
    expect(model.paneError).toContain('has no expectations yet');
    await model.adoptSuggestedExpectations(two.version);
    expect(model.paneError).toBeNull();
    expect(model.validation?.passed).toBe(true);

    const chosen: IDatasetReference[] = [];
    model.driftReferenceChosen.connect((_, r) => chosen.push(r));
    model.useAsDriftReference(one.version);
    expect(chosen).toEqual([
      { name: 'jest-model', version: one.version, ref: versionRef('jest-model', one.version) }
    ]);
  });

  it('shows the server message when a dataset vanished', async () => {
    const model = new DatasetsModel(api);
    await model.selectDataset('never-snapshotted');
    expect(model.error).toContain("No dataset named 'never-snapshotted'");
  });
});
