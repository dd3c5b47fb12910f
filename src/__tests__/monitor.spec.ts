/**
 * The monitor API module and the Timeline panel's model against a real Jupyter
 * server running jupyter-mlops (see jest.globalSetup.js). A drift alert is
 * seeded through the real stack in the server's root (ui-tests/seed_monitor.py:
 * a deployed model, shifted traffic, a monitor's check); the alert is then
 * listed, acknowledged and its monitor muted over REST, and the timeline lists
 * what happened, filtered and paged.
 */

import { MonitorAPI } from '../api/monitor';
import { targetOf, TimelineModel } from '../panels/timeline/model';
import { failure, seedScript, testClient } from './helpers';

const api = new MonitorAPI(testClient());

interface ISeeded {
  alert_id: number;
  monitor: string;
  deployment: string;
  drift_check_id: number;
  check_id: number;
}

describe('MonitorAPI and the Timeline model against the real server', () => {
  let seeded: ISeeded;

  beforeAll(() => {
    seeded = seedScript<ISeeded>('seed_monitor.py', ['jest'], 170000);
  }, 180000);

  it('lists the monitor with its last check and its history', async () => {
    const monitors = await api.monitors();
    const monitor = monitors.find(m => m.name === seeded.monitor);
    expect(monitor?.deployment).toBe(seeded.deployment);
    expect(monitor?.last_check?.status).toBe('drift');
    expect(monitor?.open_alert_id).toBe(seeded.alert_id);
    const history = await api.history(seeded.monitor, { limit: 5 });
    expect(history.checks.map(c => c.id)).toEqual([seeded.check_id]);
    expect(history.checks[0].drifted_columns).toContain('amount');
  });

  it('lists, acknowledges the alert and mutes its monitor', async () => {
    const open = await api.alerts({ status: 'open' });
    const alert = open.find(a => a.id === seeded.alert_id);
    expect(alert?.monitor).toBe(seeded.monitor);
    expect(alert?.drift_check_id).toBe(seeded.drift_check_id);

    const acked = await api.acknowledge(seeded.alert_id, 'on it');
    expect(acked.status).toBe('acknowledged');
    expect(acked.note).toBe('on it');
    expect((await api.alerts({ status: 'open' })).map(a => a.id)).not.toContain(
      seeded.alert_id
    );
    expect((await api.alerts({ status: 'active' })).map(a => a.id)).toContain(
      seeded.alert_id
    );

    const muted = await api.mute(seeded.monitor, '2h');
    expect(muted.muted).toBe(true);
    const unmuted = await api.mute(seeded.monitor, null);
    expect(unmuted.muted).toBe(false);
    const paused = await api.setPaused(seeded.monitor, true);
    expect(paused.paused).toBe(true);
    expect((await api.setPaused(seeded.monitor, false)).paused).toBe(false);
  });

  it('pages the timeline and filters it by kind', async () => {
    const page = await api.timeline({ kinds: ['alert', 'drift_check', 'deployment'] });
    expect(new Set(page.items.map(i => i.kind))).toEqual(
      new Set(['alert', 'drift_check', 'deployment'])
    );
    const alert = page.items.find(i => i.kind === 'alert');
    expect(alert?.ref).toMatchObject({ kind: 'alert', id: seeded.alert_id });
    const times = page.items.map(i => i.time);
    expect([...times].sort().reverse()).toEqual(times);

    const first = await api.timeline({ limit: 2 });
    expect(first.items).toHaveLength(2);
    expect(first.next_before).toBe(first.items[1].time);
    const older = await api.timeline({ limit: 2, before: first.next_before as string });
    for (const item of older.items) {
      expect(item.time < (first.next_before as string)).toBe(true);
    }
  });

  it('names the problem in a 4xx', async () => {
    const missing = await failure(api.get('no-such-monitor'));
    expect(missing.status).toBe(404);
    expect(missing.message).toContain("No monitor named 'no-such-monitor'");
    const badKind = await failure(
      api.timeline({ kinds: ['runs' as unknown as 'run'] })
    );
    expect(badKind.status).toBe(400);
    expect(badKind.message).toContain('Unknown timeline kind');
    const noDeployment = await failure(api.create({ deployment: 'nowhere' }));
    expect(noDeployment.status).toBe(404);
    const noAlert = await failure(api.acknowledge(987654));
    expect(noAlert.status).toBe(404);
  });

  it('drives the panel model: refresh, sparklines, filters and links', async () => {
    const model = new TimelineModel(api);
    let changes = 0;
    model.changed.connect(() => changes++);
    await model.refresh();
    expect(model.error).toBeNull();
    expect(model.alerts.map(a => a.id)).toContain(seeded.alert_id);
    expect(model.monitors.map(m => m.name)).toContain(seeded.monitor);
    expect(model.shares[seeded.monitor].length).toBeGreaterThanOrEqual(1);
    expect(model.items.length).toBeGreaterThan(0);
    expect(changes).toBeGreaterThan(0);

    await model.toggleKind('alert');
    expect(model.kinds.has('alert')).toBe(false);
    expect(model.items.some(i => i.kind === 'alert')).toBe(false);

    await model.checkNow(seeded.monitor);
    expect(model.error).toBeNull();
    expect(model.monitors.find(m => m.name === seeded.monitor)?.last_check?.message).toContain(
      `incident open: alert ${seeded.alert_id}`
    );
    model.startPolling(50);
    expect(model.polling).toBe(true);
    model.dispose();
    expect(model.polling).toBe(false);

    expect(targetOf({ kind: 'run', id: 'abc', experiment_id: '1' })).toEqual({
      command: 'mlops:open-experiments',
      args: { runId: 'abc', experimentId: '1' }
    });
    expect(targetOf({ kind: 'dataset', name: 'sales', version: 'ff' })?.command).toBe(
      'mlops:open-datasets'
    );
    expect(targetOf({ kind: 'drift_check', id: 3 })).toEqual({
      command: 'mlops:open-drift',
      args: { checkId: 3 }
    });
    expect(targetOf({ kind: 'pipeline_run', id: 'r1' })?.command).toBe('mlops:open-pipelines');
    for (const kind of ['gate', 'alias', 'deployment']) {
      expect(targetOf({ kind, name: 'churn', id: 1 })?.command).toBe('mlops:open-models');
    }
    expect(targetOf({ kind: 'event', id: 1 })).toBeNull();
  });
});
