/**
 * The Timeline panel in a real JupyterLab (Debian's headless Chromium): a
 * drift alert is seeded through the real stack in the server's root
 * (seed_monitor.py: a deployed model, shifted traffic, a monitor's check). The
 * panel, opened from the command palette, shows the alert on top, the monitor
 * with its last check, and the timeline with the alert, the drift check and
 * the deployment's events; acknowledging the alert changes its state; a kind
 * filter hides a kind; a drift-check item opens the Drift panel.
 */
import { expect, test } from '@jupyterlab/galata';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = process.env.MLOPS_UI_ROOT as string;

interface ISeeded {
  alert_id: number;
  monitor: string;
  deployment: string;
  drift_check_id: number;
}

function seed(prefix: string): ISeeded {
  const venv = path.join(__dirname, '..', '..', '.venv', 'bin', 'python');
  const python = process.env.PYTHON_BIN || (fs.existsSync(venv) ? venv : 'python3');
  const out = execFileSync(python, [path.join(__dirname, '..', 'seed_monitor.py'), ROOT, prefix], {
    encoding: 'utf-8',
    timeout: 170000
  });
  const lines = out.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as ISeeded;
}

test.describe('Timeline panel', () => {
  test('shows a seeded alert, acknowledges it and lists the timeline', async ({ page }) => {
    test.setTimeout(300000);
    // the root may persist between runs: a fresh prefix keeps the names unique
    const seeded = seed(`galata${Date.now()}`);

    await page.keyboard.press('Control+Shift+C');
    await page
      .locator('#modal-command-palette .lm-CommandPalette-input')
      .fill('Open Timeline');
    await page.getByRole('menuitem', { name: 'Open Timeline' }).click();

    const panel = page.locator('#jp-mlops-timeline');
    await expect(panel).toBeVisible();
    const alert = panel.getByTestId(`alert-${seeded.alert_id}`);
    await expect(alert).toBeVisible();
    await expect(alert).toHaveAttribute('data-status', 'open');
    await expect(alert).toContainText(`Drift on ${seeded.deployment}`);
    await expect(alert).toContainText(seeded.monitor);

    const monitor = panel.getByTestId(`monitor-${seeded.monitor}`);
    await expect(monitor).toContainText('drift');
    await expect(monitor.locator('svg.jp-mlops-timeline-spark')).toHaveCount(1);

    const list = panel.getByTestId('timeline-list');
    const alertItem = list.locator(
      `[data-testid="timeline-item"][data-id="alert:${seeded.alert_id}"]`
    );
    await expect(alertItem).toBeVisible();
    await expect(
      list.locator(`[data-testid="timeline-item"][data-id="drift_check:${seeded.drift_check_id}"]`)
    ).toBeVisible();
    await expect(
      list.locator('[data-testid="timeline-item"][data-kind="deployment"]').first()
    ).toBeVisible();
    await expect(
      list.locator('[data-testid="timeline-item"][data-kind="dataset"]').first()
    ).toBeVisible();

    await panel.getByTestId(`alert-ack-${seeded.alert_id}`).click();
    await expect(alert).toHaveAttribute('data-status', 'acknowledged');
    await expect(panel.getByTestId(`alert-ack-${seeded.alert_id}`)).toHaveCount(0);
    const response = await page.request.get('/jupyter-mlops/alerts', {
      params: { status: 'acknowledged' }
    });
    const body = (await response.json()) as { alerts: { id: number; acknowledged_by: string }[] };
    expect(body.alerts.map(a => a.id)).toContain(seeded.alert_id);

    await panel.getByTestId('timeline-kind-alert').uncheck();
    await expect(list.locator('[data-testid="timeline-item"][data-kind="alert"]')).toHaveCount(0);
    await expect(
      list.locator('[data-testid="timeline-item"][data-kind="drift_check"]').first()
    ).toBeVisible();

    const shots = process.env.MLOPS_SCREENSHOT_DIR || 'test-results';
    await panel.screenshot({ path: path.join(shots, 'timeline-panel.png') });

    await list
      .locator(`[data-testid="timeline-item"][data-id="drift_check:${seeded.drift_check_id}"] a`)
      .click();
    await expect(page.locator('#jp-mlops-drift')).toBeVisible();
  });
});
