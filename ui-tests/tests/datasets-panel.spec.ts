/**
 * The Datasets panel in a real JupyterLab (Debian's headless Chromium):
 * two versions of a CSV in the workspace are snapshotted over the REST API,
 * then the panel, opened from the command palette, shows the dataset, its
 * two versions, a version's profile with histograms, and their diff.
 */
import { expect, test } from '@jupyterlab/galata';
import * as fs from 'fs';
import * as path from 'path';

import { DOCS_VIEWPORT, shoot } from './screenshots';

const ROOT = process.env.MLOPS_UI_ROOT as string;

const V1 = 'id,amount,country\n1,10.5,DE\n2,20.0,FR\n3,30.0,DE\n';
const V2 = 'id,amount,region\n1,11.5,north\n2,25.0,south\n3,30.0,north\n4,45.0,south\n';

test.use({ viewport: DOCS_VIEWPORT });

test.describe('Datasets panel', () => {
  test('shows versions, a profile and the diff of two snapshots', async ({ page }) => {
    // the root persists between runs: a fresh name keeps the counts exact
    const name = `galata-sales-${Date.now().toString(36)}`;
    const file = `${name}.csv`;
    const snapshot = async (tags: string[]) => {
      const response = await page.request.post('/jupyter-mlops/datasets', {
        data: { path: file, name, tags }
      });
      expect(response.status()).toBe(201);
      return (await response.json()) as { short: string; new: boolean };
    };
    fs.writeFileSync(path.join(ROOT, file), V1);
    const first = await snapshot(['baseline']);
    fs.writeFileSync(path.join(ROOT, file), V2);
    const second = await snapshot([]);
    expect(second.new).toBe(true);

    await page.keyboard.press('Control+Shift+C');
    await page
      .locator('#modal-command-palette .lm-CommandPalette-input')
      .fill('Open Datasets');
    await page.getByRole('menuitem', { name: 'Open Datasets' }).click();

    const panel = page.getByTestId('mlops-datasets-panel');
    await expect(panel).toBeVisible();
    // the panel gets the width of the window (and the screenshots show only it)
    await page.sidebar.close('left');
    await panel.getByTestId(`mlops-dataset-${name}`).getByRole('button').click();

    const v1 = panel.getByTestId(`mlops-dataset-version-${first.short}`);
    const v2 = panel.getByTestId(`mlops-dataset-version-${second.short}`);
    await expect(v1).toBeVisible();
    await expect(v2).toBeVisible();
    await expect(v1.getByTestId('mlops-dataset-tag')).toHaveText('baseline');

    // the newest version opens with its schema and per-column profile
    const detail = panel.getByTestId('mlops-dataset-detail');
    await expect(detail.getByTestId('mlops-dataset-detail-rows')).toHaveText('4');
    await expect(detail.getByTestId('mlops-dataset-column-region')).toBeVisible();
    const amount = detail.getByTestId('mlops-dataset-column-amount');
    await expect(amount.getByTestId('mlops-dataset-histogram')).toBeVisible();
    expect(await amount.locator('rect').count()).toBeGreaterThan(1);
    await shoot(panel, 'datasets-version-profile', { height: 480 });

    // the older one, chosen in the timeline
    await v1.getByRole('button', { name: first.short }).click();
    await expect(detail.getByTestId('mlops-dataset-detail-rows')).toHaveText('3');
    await expect(detail.getByTestId('mlops-dataset-column-country')).toBeVisible();

    await v1.getByRole('checkbox', { name: `Compare ${first.short}` }).check();
    await v2.getByRole('checkbox', { name: `Compare ${second.short}` }).check();
    await panel.getByTestId('mlops-datasets-compare').click();
    const diff = panel.getByTestId('mlops-dataset-diff');
    await expect(diff.getByTestId('mlops-dataset-diff-rows')).toHaveText('3 → 4 (+1)');
    await expect(diff.getByTestId('mlops-dataset-diff-added')).toContainText('region');
    await expect(diff.getByTestId('mlops-dataset-diff-removed')).toContainText('country');
    await expect(diff.getByTestId('mlops-dataset-diff-column-amount')).toContainText(
      'changed'
    );
    await expect(panel.getByTestId('mlops-datasets-error')).toHaveCount(0);
    await shoot(panel, 'datasets-diff', { height: 480 });
  });
});
