/**
 * The typed client against a real Jupyter server running jupyter-mlops
 * (see jest.globalSetup.js): URLs, auth, error typing, cache busting.
 */

import { MLOpsNetworkError, MLOpsRequestError, ServerExtensionMissingError } from '../api';
import { testClient } from './helpers';

describe('MLOpsClient against the real server', () => {
  const client = testClient();

  it('reads the config of the workspace', async () => {
    const config = await client.config();
    expect(config.api_version).toBe(1);
    expect(config.workspace.root).toBe(process.env.MLOPS_TEST_ROOT);
    expect(config.workspace.state_db).toContain('/.mlops/state.db');
    expect(config.capabilities.map(c => c.id)).toContain('experiments');
  });

  it('reports the health of both stores', async () => {
    const health = await client.health();
    expect(health.ok).toBe(true);
    expect(Object.keys(health.components).sort()).toEqual(['mlflow', 'state_db']);
  });

  it('adds a note and lists it (query through the cache buster)', async () => {
    const created = await client.addNote({ message: 'from jest', subject: 'tests' });
    expect(created.kind).toBe('note');
    const listed = await client.events({ kind: 'note', subject: 'tests', limit: 5 });
    expect(listed.events.map(e => e.message)).toContain('from jest');
    expect(listed.events.every(e => e.subject === 'tests')).toBe(true);
  });

  it('turns a 400 into a typed error carrying the server message', async () => {
    const failure = client.request('events', {
      method: 'POST',
      body: { kind: 'note', message: '' }
    });
    await expect(failure).rejects.toBeInstanceOf(MLOpsRequestError);
    await failure.catch((e: MLOpsRequestError) => {
      expect(e.status).toBe(400);
      expect(e.code).toBe('invalid_input');
      expect(e.message).toContain('message: String should have at least 1 character');
    });
  });

  it('passes query validation errors through', async () => {
    await expect(client.events({ limit: 0 })).rejects.toMatchObject({
      status: 400,
      code: 'invalid_input'
    });
  });

  it('is refused with a wrong token', async () => {
    const intruder = testClient({ token: 'wrong' });
    await expect(intruder.config()).rejects.toMatchObject({ status: 403 });
  });

  it('says the server extension is missing on a 404 from /config', async () => {
    const elsewhere = testClient({
      baseUrl: `${process.env.MLOPS_TEST_BASE_URL}not-jupyter-mlops/`
    });
    const failure = elsewhere.config();
    await expect(failure).rejects.toBeInstanceOf(ServerExtensionMissingError);
    await failure.catch((e: Error) =>
      expect(e.message).toContain('jupyter server extension list')
    );
  });

  it('says when nothing answers at all', async () => {
    const gone = testClient({ baseUrl: 'http://127.0.0.1:9/' });
    await expect(gone.health()).rejects.toBeInstanceOf(MLOpsNetworkError);
  });
});
