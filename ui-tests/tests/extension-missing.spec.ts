/**
 * When the server half is missing, the panel says so in a dialog.
 *
 * Test double, said plainly: the real server always has the extension here,
 * so Playwright answers the extension's REST routes with the 404 a server
 * without it gives (route interception in the browser). Everything else —
 * JupyterLab, the labextension, the browser — is real.
 */
import { expect, test } from '@jupyterlab/galata';

// a raw page: Galata's own goto() waits for an idle app, which a modal dialog prevents;
// JupyterLab's service worker would otherwise see requests before Playwright's route
test.use({ autoGoto: false, serviceWorkers: 'block' });

test('a missing server extension shows a dialog, not a broken panel', async ({
  context,
  baseURL
}) => {
  const page = await context.newPage();
  // only the REST routes: the labextension's own files live under /lab/extensions/jupyter-mlops/
  await page.route(
    url => url.pathname.startsWith('/jupyter-mlops/'),
    route =>
      route.fulfill({
        status: 404,
        contentType: 'text/html',
        body: '<html><body>404 : Not Found</body></html>'
      })
  );
  await page.goto(`${baseURL}/lab`);
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog).toContainText('jupyter-mlops server extension missing', {
    timeout: 60000
  });
  await expect(dialog).toContainText('jupyter server extension list');
  await dialog.getByRole('button', { name: 'Ok' }).click();
  await page.locator('li[data-id="jp-mlops-overview"]').click();
  await expect(page.getByTestId('mlops-error')).toContainText(
    'server extension is not installed'
  );
  await page.close();
});
