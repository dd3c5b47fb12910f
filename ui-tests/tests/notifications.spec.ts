/**
 * Notifications in the MLOps sidebar, end to end: a webhook added through the
 * panel's form, a test send, then a note added in the panel reaches the
 * endpoint through the server's notifier (the outbox over the activity log),
 * and a failing endpoint shows as failing. The endpoint is a real HTTP server
 * started by the test on 127.0.0.1.
 */
import { expect, test } from '@jupyterlab/galata';
import http from 'http';
import { AddressInfo } from 'net';

import { DOCS_VIEWPORT, shoot } from './screenshots';

interface IPost {
  kind: string;
  message: string;
}

test.use({ viewport: DOCS_VIEWPORT });

test.describe('Notifications', () => {
  let server: http.Server;
  let url = '';
  const posts: IPost[] = [];
  let status = 200;

  test.beforeAll(async () => {
    server = http.createServer((req, res) => {
      let raw = '';
      req.on('data', chunk => (raw += chunk));
      req.on('end', () => {
        const event = JSON.parse(raw || '{}').event ?? {};
        posts.push({ kind: event.kind, message: event.message });
        res.writeHead(status);
        res.end();
      });
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });

  test.afterAll(async () => {
    await new Promise(resolve => server.close(resolve));
  });

  test('a webhook added in the panel hears the notes added there', async ({ page }) => {
    const name = `galata-${Date.now()}`;
    await page.sidebar.openTab('jp-mlops-overview');
    const panel = page.locator('#jp-mlops-overview');
    const form = panel.getByTestId('webhook-form');
    await form.getByRole('textbox', { name: 'Webhook name' }).fill(name);
    await form.getByRole('textbox', { name: 'Webhook URL' }).fill(url);
    await form.getByRole('textbox', { name: 'Events' }).fill('note');
    await form.getByRole('button', { name: 'Add webhook' }).click();
    const hook = panel.getByTestId(`webhook-${name}`);
    await expect(hook).toContainText('delivering');
    await expect(hook).toContainText('note');

    await hook.getByRole('button', { name: 'Test' }).click();
    await expect(hook.getByTestId('webhook-test-result')).toContainText('delivered (HTTP 200)');
    expect(posts.some(p => p.kind === 'notify.test')).toBe(true);

    // a note recorded in the panel goes out through the server's notifier (every 2 s)
    const note = `deployed by the browser test ${Date.now()}`;
    await panel.getByRole('textbox', { name: 'Note' }).fill(note);
    await panel.getByRole('button', { name: 'Add', exact: true }).click();
    await expect
      .poll(() => posts.filter(p => p.kind === 'note').map(p => p.message), { timeout: 30000 })
      .toContain(note);
    await hook.getByRole('button', { name: 'History' }).click();
    await expect(hook.getByTestId('webhook-deliveries')).toContainText('note');
    await expect(hook.getByTestId('webhook-deliveries')).toContainText('notify.test');

    // an endpoint that refuses: the next note is retried, and the panel says it is failing
    status = 503;
    await panel.getByRole('textbox', { name: 'Note' }).fill(`${note} again`);
    await panel.getByRole('button', { name: 'Add', exact: true }).click();
    await expect
      .poll(
        async () => {
          await page.locator('#jp-mlops-overview [title="Refresh workspace status"]').click();
          return (await hook.getByTestId('webhook-state').textContent()) ?? '';
        },
        { timeout: 30000 }
      )
      .toContain('failing');
    await expect(hook.getByTestId('webhook-error')).toContainText('503');
    const section = panel.getByTestId('mlops-notifications-section');
    await section.scrollIntoViewIfNeeded();
    await shoot(section, 'notifications-panel', { height: 1400 });
    status = 200;

    await hook.getByRole('button', { name: 'Remove' }).click();
    await hook.getByRole('button', { name: `Remove ${name}?` }).click();
    await expect(panel.getByTestId(`webhook-${name}`)).toHaveCount(0);
  });
});
