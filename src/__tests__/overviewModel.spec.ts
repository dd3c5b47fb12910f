/**
 * The panel's model loads everything the sidebar shows from the real server.
 */

import { OverviewModel } from '../panels/overviewModel';
import { testClient } from './helpers';

describe('OverviewModel', () => {
  it('fills config, health and events and signals each change', async () => {
    const client = testClient();
    const model = new OverviewModel(client);
    const states: string[] = [];
    model.changed.connect(() => states.push(model.state));
    await model.addNote('model test note');
    expect(model.state).toBe('ready');
    expect(model.error).toBeNull();
    expect(model.config?.workspace.root).toBe(process.env.MLOPS_TEST_ROOT);
    expect(model.health?.components.state_db.ok).toBe(true);
    expect(model.events[0].message).toBe('model test note');
    expect(states).toEqual(['loading', 'ready']);
  });

  it('flags a missing server extension once', async () => {
    const client = testClient({ baseUrl: `${process.env.MLOPS_TEST_BASE_URL}missing/` });
    const model = new OverviewModel(client);
    let warnings = 0;
    model.extensionMissing.connect(() => warnings++);
    await model.refresh();
    await model.refresh();
    expect(model.state).toBe('error');
    expect(model.serverExtensionMissing).toBe(true);
    expect(warnings).toBe(1);
  });
});
