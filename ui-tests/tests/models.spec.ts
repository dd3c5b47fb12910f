/**
 * The Models panel in a real JupyterLab (Debian's headless Chromium): a model
 * with a champion (v1) and a challenger (v2), real scikit-learn models, is
 * seeded in the server root (seed_models.py); from the panel the gate runs
 * the challenger against the champion on the held-out snapshot, the result
 * table shows the pass, "Promote" (refused without a reason) moves @champion
 * and the alias history shows the move; the lineage opens the run.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { execFileSync } from 'child_process';
import * as path from 'path';

import { DOCS_VIEWPORT, shoot } from './screenshots';

const ROOT = process.env.MLOPS_UI_ROOT as string;
const PYTHON = path.resolve(__dirname, '..', '..', '.venv', 'bin', 'python');
const SEED = path.resolve(__dirname, '..', 'seed_models.py');

interface ISeed {
  model: string;
  holdout: string;
  holdout_name: string;
  runs: { weak: string; strong: string };
}

async function openModels(page: IJupyterLabPageFixture): Promise<void> {
  await page.keyboard.press('Control+Shift+C');
  await page
    .locator('#modal-command-palette .lm-CommandPalette-input')
    .fill('Open Models');
  await page.getByRole('menuitem', { name: 'Open Models' }).click();
}

test.use({ viewport: DOCS_VIEWPORT });

test.describe('Models panel', () => {
  test('runs the gate, promotes with a reason and shows the alias move', async ({ page }) => {
    test.setTimeout(300000);
    // the root may persist between runs: a fresh name keeps the history exact
    const name = `galata-models-${Date.now().toString(36)}`;
    const seed = JSON.parse(
      execFileSync(PYTHON, [SEED, ROOT, name], { encoding: 'utf-8', timeout: 240000 })
        .trim()
        .split('\n')
        .pop() as string
    ) as ISeed;

    await openModels(page);
    const panel = page.locator('#jp-mlops-models');
    await expect(panel).toBeVisible();
    await expect(panel.getByRole('tab', { name: 'Registry' })).toBeVisible();
    await expect(panel.getByRole('tab', { name: 'Deployments' })).toHaveText('Deployments');
    // the panel gets the width of the window (and the screenshots show only it)
    await page.sidebar.close('left');
    await panel.getByTestId(`model-${name}`).click();

    const v1 = panel.getByTestId('version-row-1');
    const v2 = panel.getByTestId('version-row-2');
    await expect(v1.getByTestId('alias-badge-champion')).toBeVisible();
    await expect(v2.getByTestId('alias-badge-challenger')).toBeVisible();
    // each version links the run that made it and the data it was trained on
    for (const [row, run] of [
      [v1, 'train-weak'],
      [v2, 'train-strong']
    ] as const) {
      await expect(row).toContainText(`${name}-train`);
      await expect(row).toContainText(run);
    }
    await shoot(panel, 'registry-versions');

    // the gate: @challenger vs @champion, F1 must improve by 0.05 on the held-out version
    await panel.getByTestId('gate-challenger').selectOption('challenger');
    await panel.getByTestId('gate-against').selectOption('champion');
    await panel.getByTestId('gate-dataset').selectOption(seed.holdout_name);
    await panel.getByTestId('gate-version').selectOption(seed.holdout);
    await panel.getByTestId('gate-metric').selectOption('f1');
    await panel.getByTestId('gate-min-delta').fill('0.05');
    await panel.getByTestId('gate-run').click();

    const result = panel.getByTestId('gate-result');
    await expect(result).toHaveAttribute('data-passed', 'true', { timeout: 60000 });
    await expect(panel.getByTestId('gate-verdict')).toHaveText('PASSED');
    const f1 = panel.getByTestId('gate-check-f1-min_delta');
    await expect(f1.getByTestId('gate-check-result')).toHaveText('PASS');
    await expect(result.getByRole('columnheader', { name: 'champion v1' })).toBeVisible();
    await expect(panel.getByTestId('gate-headline')).toContainText(
      `${seed.holdout_name}@${seed.holdout.slice(0, 12)}`
    );
    await expect(panel.getByTestId('gate-history').locator('li')).toHaveCount(1);
    await shoot(panel.getByTestId('gate-section'), 'registry-gate-result', { height: 1200 });

    // promote: refused without a reason (the button stays disabled), then done with one
    const reason = panel.getByTestId('promote-reason');
    await reason.fill('');
    await panel.getByTestId('promote-version').selectOption('challenger');
    await expect(panel.getByTestId('promote-run')).toBeDisabled();
    await reason.fill('beats the champion on the holdout');
    await panel.getByTestId('promote-run').click();
    await expect(panel.getByTestId('models-notice')).toHaveText('@champion moved to v2.');

    const history = panel.getByTestId('alias-history');
    const latest = history.locator('li').first();
    await expect(latest).toHaveAttribute('data-alias', 'champion');
    await expect(latest).toHaveAttribute('data-via', 'promote');
    await expect(latest).toContainText('v1 → v2');
    await expect(latest).toContainText('beats the champion on the holdout');
    await expect(history.locator('li[data-alias="champion"]')).toHaveCount(2);
    await expect(v2.getByTestId('alias-badge-champion')).toBeVisible();
    await expect(v1.getByTestId('alias-badge-champion')).toHaveCount(0);
    await shoot(panel.locator('.jp-mlops-models-columns'), 'registry-alias-history', {
      height: 1200
    });

    // lineage of v2: back to its run and training data; the run opens in Experiments
    await panel.getByTestId('lineage-2').click();
    const lineage = panel.getByTestId('lineage');
    await expect(lineage.getByTestId('lineage-node-dataset_version')).toContainText(
      `${name}-train@`
    );
    await expect(lineage.getByTestId('lineage-node-notebook')).toContainText(
      `${name}-train.ipynb`
    );
    const run = lineage.getByTestId('lineage-node-run');
    await expect(run).toHaveAttribute('data-node-id', `run:${seed.runs.strong}`);
    await shoot(panel.getByTestId('lineage-section'), 'registry-lineage', { height: 1200 });
    await run.click();
    await expect(page.locator('#jp-mlops-experiments')).toBeVisible();

    // the Deployments tab is there and switches
    await page.locator('.lm-TabBar-tab', { hasText: 'Models' }).click();
    await panel.getByRole('tab', { name: 'Deployments' }).click();
    await expect(panel.getByTestId('versions-table')).toHaveCount(0);
    await panel.getByRole('tab', { name: 'Registry' }).click();
    await expect(panel.getByTestId('versions-table')).toBeVisible();
  });
});
