/**
 * The registry API module against a real Jupyter server running jupyter-mlops
 * (see jest.globalSetup.js). A model with a champion (v1) and a challenger
 * (v2), both real scikit-learn models, is seeded in the server's root by
 * ui-tests/seed_models.py; the gate, the promotion, the alias history and the
 * lineage then go through RegistryAPI.
 */

import { DatasetsAPI } from '../api/datasets';
import { RegistryAPI } from '../api/registry';
import { ModelsModel } from '../panels/models/model';
import { failure, seedScript, testClient } from './helpers';

const api = new RegistryAPI(testClient());
const MODEL = 'jest-churn';

interface ISeed {
  model: string;
  notebook: string;
  train: string;
  holdout: string;
  holdout_name: string;
  runs: { weak: string; strong: string };
}

describe('RegistryAPI against the real server', () => {
  let seed: ISeed;

  beforeAll(() => {
    seed = seedScript<ISeed>('seed_models.py', [MODEL], 240000);
  }, 300000);

  it('lists the model, its versions with aliases, metrics, datasets and notebook', async () => {
    const models = await api.models();
    const model = models.find(m => m.name === MODEL);
    expect(model?.aliases).toEqual({ champion: 1, challenger: 2 });
    expect(model?.protected).toEqual(['champion']);

    const detail = await api.model(MODEL);
    expect(detail.versions.map(v => v.version)).toEqual([2, 1]);
    const v2 = detail.versions[0];
    expect(v2.aliases).toEqual(['challenger']);
    expect(v2.run_id).toBe(seed.runs.strong);
    expect(v2.metrics.train_accuracy).toBeGreaterThan(0.5);
    expect(v2.notebook_path).toBe(seed.notebook);
    expect(v2.datasets.map(d => d.version)).toContain(seed.train);

    const champion = await api.version(MODEL, 'champion');
    expect(champion.version).toBe(1);
    expect((await api.versions(MODEL)).length).toBe(2);
  });

  it('gates the challenger, promotes it with a reason and shows the move', async () => {
    const result = await api.gate({
      model: MODEL,
      dataset: `${seed.holdout_name}@v1`,
      metrics: { f1: { min_delta: 0.05 } }
    });
    expect(result.passed).toBe(true);
    expect(result.promoted).toBe(false);
    expect([result.challenger, result.champion]).toEqual([2, 1]);
    expect(result.dataset).toBe(`${seed.holdout_name}@${seed.holdout}`);
    expect(result.checks[0].metric).toBe('f1');
    expect(result.checks[0].passed).toBe(true);
    expect(result.verdict).toBe('PASSED');
    expect((await api.getGate(result.id)).checks).toEqual(result.checks);
    expect((await api.gates({ model: MODEL })).map(g => g.id)).toContain(result.id);

    const refused = await failure(api.setAlias(MODEL, 'champion', 2));
    expect(refused.status).toBe(409);
    expect(refused.message).toContain('protected-alias');
    const noReason = await failure(api.promote(MODEL, 'challenger', ' '));
    expect(noReason.status).toBe(400);
    expect(noReason.message).toContain('reason-required');

    const moved = await api.promote(MODEL, 'challenger', `gate #${result.id} passed`);
    expect(moved.moved).toBe(true);
    expect(moved.alias.version).toBe(2);
    const history = await api.aliases(MODEL, { alias: 'champion' });
    expect(history.aliases.champion).toBe(2);
    expect(history.history.map(m => [m.from_version, m.to_version, m.via, m.reason])).toEqual([
      [1, 2, 'promote', `gate #${result.id} passed`],
      [null, 1, 'promote', 'baseline']
    ]);
    expect((await api.alias(MODEL, 'champion')).history.length).toBe(2);

    const staged = await api.setAlias(MODEL, 'staging', 1);
    expect(staged.move?.via).toBe('set');
    const removed = await api.removeAlias(MODEL, 'staging', 'done');
    expect(removed.alias.version).toBeNull();
  });

  it('fills the panel\'s gate form from the model\'s last gate, and from a gate shown', async () => {
    const last = await api.gate({
      model: MODEL,
      challenger: 2,
      against: 1,
      dataset: `${seed.holdout_name}@v1`,
      metrics: { accuracy: { min_delta: 0.02 }, f1: { min_delta: 0.05 } }
    });
    const panel = new ModelsModel(api, new DatasetsAPI(testClient()));
    await panel.refresh();
    await panel.select(MODEL);
    expect(panel.gateForm).toEqual(
      expect.objectContaining({
        challenger: '2',
        against: '1',
        dataset: seed.holdout_name,
        version: seed.holdout,
        metric: 'accuracy',
        minDelta: '0.02'
      })
    );
    const earlier = panel.gates.find(g => g.id !== last.id && g.checks[0]?.metric === 'f1');
    expect(earlier).toBeDefined();
    panel.showGate(earlier!.id);
    expect(panel.gate?.id).toBe(earlier!.id);
    expect(panel.gateForm).toEqual(
      expect.objectContaining({ challenger: 'challenger', against: 'champion', metric: 'f1' })
    );
    expect(panel.gateForm.minDelta).toBe('0.05');
  });

  it('walks the lineage back to the run, the notebook and the training data', async () => {
    const graph = await api.lineage(MODEL, 2);
    expect(graph.root).toBe(`model:${MODEL}/2`);
    const byKind = Object.fromEntries(graph.nodes.map(n => [n.kind, n]));
    expect(byKind.run.open).toEqual(
      expect.objectContaining({ type: 'run', run_id: seed.runs.strong })
    );
    expect(byKind.notebook.open).toEqual({ type: 'notebook', path: seed.notebook });
    expect(byKind.dataset_version.open).toEqual({
      type: 'dataset',
      name: `${MODEL}-train`,
      version: seed.train
    });
    expect(graph.edges.map(e => e.relation)).toEqual(
      expect.arrayContaining(['produced_by', 'ran', 'read'])
    );
  });

  it('answers unknown names with what exists', async () => {
    const model = await failure(api.model('jest-ghost'));
    expect(model.status).toBe(404);
    expect(model.message).toContain(MODEL);
    const version = await failure(api.version(MODEL, 9));
    expect(version.status).toBe(404);
    expect(version.message).toContain('Versions: 1, 2');
    const alias = await failure(api.alias(MODEL, 'prod'));
    expect(alias.status).toBe(404);
    expect(alias.message).toContain('@champion');
    const gate = await failure(
      api.gate({ model: MODEL, against: 1, dataset: `${MODEL}-train`, metrics: ['nope'] })
    );
    expect(gate.status).toBe(400);
    expect(gate.message).toContain("Unknown metric 'nope'");
    // after the promotion both aliases name v2: nothing to compare, said so
    const same = await failure(api.gate({ model: MODEL, dataset: `${MODEL}-train` }));
    expect(same.status).toBe(400);
    expect(same.message).toContain('same version, v2');
  });
});
