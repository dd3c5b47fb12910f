/**
 * The webhook API and the Notifications section's model against a real
 * Jupyter server running jupyter-mlops (see jest.globalSetup.js), posting to a
 * real HTTP endpoint started here on 127.0.0.1.
 */

import http from 'http';
import { AddressInfo } from 'net';

import { NotifyAPI } from '../api/notify';
import { NotificationsModel, parsePatterns } from '../panels/notifications/model';
import { failure, testClient } from './helpers';

const api = new NotifyAPI(testClient());

interface IReceived {
  body: any;
  headers: http.IncomingHttpHeaders;
}

describe('Notifications against the real server', () => {
  let server: http.Server;
  let url = '';
  const received: IReceived[] = [];
  let answer = 200;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let raw = '';
      req.on('data', chunk => (raw += chunk));
      req.on('end', () => {
        received.push({ body: JSON.parse(raw || 'null'), headers: req.headers });
        res.writeHead(answer);
        res.end('ok');
      });
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });

  afterAll(async () => {
    for (const hook of await api.webhooks()) {
      if (hook.name.startsWith('jest-')) {
        await api.remove(hook.name);
      }
    }
    await new Promise(resolve => server.close(resolve));
  });

  it('adds a webhook from the form, test-sends to the endpoint, disables and removes it', async () => {
    const model = new NotificationsModel(api);
    model.updateForm({ name: 'jest-ops', url, events: 'monitor.alert, pipeline.run=failed' });
    expect(model.canAdd).toBe(true);
    await model.add();
    expect(model.formError).toBeNull();
    const hook = model.webhooks.find(h => h.name === 'jest-ops');
    expect(hook?.events).toEqual(['monitor.alert', 'pipeline.run=failed']);
    expect(hook?.enabled).toBe(true);
    expect(model.form.name).toBe('');

    await model.test('jest-ops');
    expect(model.tests['jest-ops'].ok).toBe(true);
    expect(model.tests['jest-ops'].status_code).toBe(200);
    const sent = received[received.length - 1];
    expect(sent.body.event.kind).toBe('notify.test');
    const deliveries = await api.deliveries('jest-ops');
    expect(deliveries[0].kind).toBe('notify.test');

    await model.toggleDeliveries('jest-ops');
    expect(model.deliveries['jest-ops'].map(d => [d.kind, d.ok, d.status_code])).toEqual([
      ['notify.test', true, 200]
    ]);

    answer = 500;
    await model.test('jest-ops');
    expect(model.tests['jest-ops'].ok).toBe(false);
    expect(model.tests['jest-ops'].status_code).toBe(500);
    answer = 200;
    // the open history followed the refresh: newest first
    expect(model.deliveries['jest-ops'].map(d => d.status_code)).toEqual([500, 200]);
    await model.toggleDeliveries('jest-ops');
    expect('jest-ops' in model.deliveries).toBe(false);

    await model.setEnabled('jest-ops', false);
    expect(model.webhooks.find(h => h.name === 'jest-ops')?.enabled).toBe(false);
    await model.remove('jest-ops');
    expect(model.webhooks.some(h => h.name === 'jest-ops')).toBe(false);
  });

  it('keeps the server\'s reason on the form for a bad URL, and 404s an unknown name', async () => {
    const model = new NotificationsModel(api);
    model.updateForm({ name: 'jest-bad', url: 'ftp://example.org/x', events: '*' });
    await model.add();
    expect(model.formError).toMatch(/http/i);
    expect(model.webhooks.some(h => h.name === 'jest-bad')).toBe(false);
    const missing = await failure(api.test('jest-ghost'));
    expect(missing.status).toBe(404);
    expect(parsePatterns(' a.b,  c=d e ')).toEqual(['a.b', 'c=d', 'e']);
  });
});
