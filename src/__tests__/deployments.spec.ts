/**
 * The deployments API module against the real server (jest.globalSetup.js),
 * with real model servers and a router on 127.0.0.1. Two small versions of
 * a model are registered beforehand by the real Python API, as a notebook
 * would; the deployment is then driven over REST: deployed, rolled out as a
 * canary, rolled back, shadowed, read (health, predictions, comparison,
 * events), and deleted. The section's model polls it too. Every deployment
 * is stopped at the end: deployments outlive the server (separate processes).
 */

import * as http from 'http';

import { MLOpsRequestError } from '../api';
import { DeploymentsAPI, IDeployment } from '../api/deployments';
import { DeploymentsModel } from '../panels/models/deployments/model';
import { pythonJson, ROOT as root, testClient } from './helpers';

const MODEL = 'jest-deploy';
const NAME = 'jest-api';

const REGISTER = `
import json, jupyter_mlops
from jupyter_mlops.core.deploy.demo_models import register_constant_model
ws = jupyter_mlops.workspace()
v1 = register_constant_model(ws, ${JSON.stringify(MODEL)}, value=0, alias="champion")
v2 = register_constant_model(ws, ${JSON.stringify(MODEL)}, value=1, alias="challenger")
print(json.dumps([v1, v2]))
`;

/** POST /invocations on the deployment's own URL (no kept-alive socket); who answered. */
function predict(url: string): Promise<string> {
  const body = JSON.stringify({ dataframe_split: { columns: ['x'], data: [[1.0]] } });
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${url}/invocations`,
      {
        method: 'POST',
        agent: false,
        headers: { 'Content-Type': 'application/json', Connection: 'close' }
      },
      response => {
        response.resume();
        response.on('end', () => {
          expect(response.statusCode).toBe(200);
          resolve(response.headers['x-mlops-version'] as string);
        });
      }
    );
    request.on('error', reject);
    request.end(body);
  });
}

async function waitFor<T>(
  probe: () => Promise<T | null>,
  timeoutMs = 30000
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error('timed out');
    }
    await new Promise(r => setTimeout(r, 250));
  }
}

describe('DeploymentsAPI against the real server', () => {
  const api = new DeploymentsAPI(testClient());
  let v1 = '';
  let v2 = '';
  let dep: IDeployment;

  beforeAll(() => {
    const [a, b] = pythonJson<[string, string]>(['-c', REGISTER], {
      env: { ...process.env, JUPYTER_MLOPS_WORKSPACE: root },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120000
    });
    v1 = `${MODEL}/${a}`;
    v2 = `${MODEL}/${b}`;
  }, 150000);

  afterAll(async () => {
    // deployments are separate processes: none may outlive the test server
    const { deployments } = await api.list();
    for (const d of deployments) {
      await api.remove(d.name);
    }
  }, 120000);

  it('deploys a registered model and serves it at its URL', async () => {
    dep = await api.create({ model: `${MODEL}@champion`, name: NAME });
    expect(dep.status).toBe('running');
    expect(dep.traffic).toEqual({ [v1]: 100 });
    expect(dep.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await predict(dep.url)).toBe(v1);
    const { deployments, targets } = await api.list(MODEL);
    expect(deployments.map(d => d.name)).toEqual([NAME]);
    expect(targets).toContain('local');
    expect((await api.list('other-model')).deployments).toEqual([]);
  }, 120000);

  it('rolls a canary out, reports its progress and health, rolls it back', async () => {
    dep = await api.setStrategy(
      NAME,
      { kind: 'canary', steps: [20, 100], bake: 600 },
      `${MODEL}@challenger`
    );
    expect(dep.traffic).toEqual({ [v1]: 80, [v2]: 20 });
    const rollout = dep.rollout!;
    expect(rollout.state).toBe('running');
    expect(rollout.steps).toEqual([20, 100]);
    expect(rollout.weight).toBe(20);
    expect(rollout.bake_remaining_s).toBeGreaterThan(500);
    const served: string[] = [];
    for (let i = 0; i < 10; i++) {
      served.push(await predict(dep.url));
    }
    expect(served.filter(v => v === v2)).toHaveLength(2);

    const health = await api.health(NAME);
    const byKey = Object.fromEntries(health.versions.map(v => [v.key, v]));
    expect(byKey[v1].live && byKey[v1].healthy).toBe(true);
    expect(byKey[v2].requests).toBeGreaterThanOrEqual(2);
    expect(byKey[v1].p50_ms).toBeGreaterThan(0);

    dep = await api.rollback(NAME, 'jest says no');
    expect(dep.traffic).toEqual({ [v1]: 100 });
    expect(dep.rollout!.state).toBe('rolled_back');
    expect(dep.rollout!.reason).toBe('jest says no');
  }, 120000);

  it('shadows the challenger and compares its answers', async () => {
    dep = await api.setStrategy(NAME, { kind: 'shadow' }, `${MODEL}@challenger`);
    expect(dep.strategy.kind).toBe('shadow');
    for (let i = 0; i < 5; i++) {
      expect(await predict(dep.url)).toBe(v1);
    }
    const comparison = await waitFor(async () => {
      const c = await api.shadow(NAME);
      return c.requests >= 5 ? c : null;
    });
    expect(comparison.champion).toBe(v1);
    expect(comparison.challenger).toBe(v2);
    expect(comparison.agreement_rate).toBe(0);

    const page = await api.predictions(NAME, { limit: 3, shadow: false });
    expect(page.predictions).toHaveLength(3);
    expect(page.next_before).not.toBeNull();
    expect(page.predictions[0].version).toBe(v1);
    const events = await api.events(NAME, { limit: 50 });
    expect(events.events.map(e => e.kind)).toEqual(
      expect.arrayContaining(['created', 'rollout', 'rollback'])
    );
  }, 120000);

  it('feeds the section model, which polls only while visible', async () => {
    const model = new DeploymentsModel(api, MODEL, 200);
    let changes = 0;
    model.changed.connect(() => changes++);
    model.setVisible(true);
    await waitFor(async () => (model.loaded ? true : null));
    expect(model.deployments.map(d => d.name)).toEqual([NAME]);
    await waitFor(async () => (model.shadow[NAME] ? true : null));
    expect(model.shadow[NAME].requests).toBeGreaterThanOrEqual(5);
    await waitFor(async () => (changes >= 3 ? true : null));
    model.setVisible(false);
    await new Promise(r => setTimeout(r, 300)); // a refresh in flight lands
    const settled = changes;
    await new Promise(r => setTimeout(r, 800));
    expect(changes).toBe(settled);

    await model.act(NAME, 'promote');
    expect(model.actionErrors[NAME]).toBeUndefined();
    expect(model.deployments[0].traffic).toEqual({ [v2]: 100 });
    await model.act(NAME, 'promote'); // nothing left to promote: the server's 409
    expect(model.actionErrors[NAME]).toMatch(/no candidate to promote/);
    model.dispose();
  }, 120000);

  it('carries the server message of 4xx answers', async () => {
    await expect(api.get('no-such-deployment')).rejects.toMatchObject({
      status: 404,
      message: `No deployment named 'no-such-deployment'. Deployments: ${NAME}.`
    });
    await expect(
      api.setStrategy(NAME, { kind: 'ab', steps: [5, 100] }, `${MODEL}@challenger`)
    ).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining('not steps')
    });
    await expect(
      api.create({ model: `${MODEL}@champion`, name: 'clash', port: dep.port })
    ).rejects.toMatchObject({
      status: 409,
      message: expect.stringContaining(`Port ${dep.port} is already in use`)
    });
    await expect(api.create({ model: 'nope@champion' })).rejects.toBeInstanceOf(
      MLOpsRequestError
    );
  }, 60000);

  it('stops and deletes the deployment', async () => {
    dep = await api.stop(NAME);
    expect(dep.status).toBe('stopped');
    const gone = await api.remove(NAME);
    expect(gone).toEqual({ name: NAME, stopped: false, purged: false });
    expect((await api.list()).deployments).toEqual([]);
  }, 60000);
});
