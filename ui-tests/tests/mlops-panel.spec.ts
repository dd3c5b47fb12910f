/**
 * The MLOps sidebar in a real JupyterLab, in Debian's headless Chromium,
 * reading its status from the real server extension.
 */
import { expect, test } from '@jupyterlab/galata';

const ROOT = process.env.MLOPS_UI_ROOT as string;

test.describe('MLOps panel', () => {
  test('shows the workspace, healthy stores and the capabilities', async ({
    page
  }) => {
    await page.sidebar.openTab('jp-mlops-overview');
    const panel = page.locator('#jp-mlops-overview');
    await expect(panel.getByTestId('mlops-workspace-root')).toHaveText(ROOT);
    await expect(panel.getByTestId('mlops-tracking-uri')).toHaveText(
      `sqlite:///${ROOT}/.mlops/mlflow.db`
    );
    // the MLflow store is created on the first health check: allow for it
    await expect(panel.getByTestId('mlops-health-state_db')).toContainText(
      'ok',
      { timeout: 60000 }
    );
    await expect(panel.getByTestId('mlops-health-mlflow')).toContainText(
      'ok',
      { timeout: 60000 }
    );
    await expect(panel.getByTestId('mlops-capability-experiments')).toBeVisible();
    await expect(panel.getByTestId('mlops-error')).toHaveCount(0);
  });

  test('adds a note to the activity log', async ({ page }) => {
    await page.sidebar.openTab('jp-mlops-overview');
    const panel = page.locator('#jp-mlops-overview');
    const note = `browser note ${Date.now()}`;
    await panel.getByRole('textbox', { name: 'Note' }).fill(note);
    await panel.getByRole('button', { name: 'Add', exact: true }).click();
    await expect(panel.getByTestId('mlops-activity')).toContainText(note);
  });

  test('lists its commands in the palette under MLOps', async ({ page }) => {
    await page.keyboard.press('Control+Shift+C');
    await page
      .locator('#modal-command-palette .lm-CommandPalette-input')
      .fill('MLOps');
    for (const label of [
      'Open the MLOps Panel',
      'Refresh MLOps Workspace Status',
      'Show MLOps Workspace Info'
    ]) {
      await expect(page.getByRole('menuitem', { name: label })).toBeVisible();
    }
    await page.getByRole('menuitem', { name: 'Show MLOps Workspace Info' }).click();
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog).toContainText('MLOps workspace');
    await expect(dialog).toContainText(ROOT);
  });
});
