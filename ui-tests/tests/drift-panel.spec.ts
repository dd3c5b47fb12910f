/**
 * The Drift panel in a real JupyterLab (Debian's headless Chromium): two
 * versions of a CSV, the second with `amount` shifted, are snapshotted over
 * the REST API; the panel, opened from the command palette, runs a check
 * between them, flags `amount`, plots it with plotly.js and lists the check
 * in its history.
 */
import { expect, test } from '@jupyterlab/galata';
import * as fs from 'fs';
import * as path from 'path';

import { DOCS_VIEWPORT, shoot } from './screenshots';

const ROOT = process.env.MLOPS_UI_ROOT as string;

/** `amount` ~ N(10 + shift, 2) (deterministic), `region` cycling through four values. */
function csv(rows: number, shift: number): string {
  const regions = ['north', 'south', 'east', 'west'];
  const lines = ['amount,region'];
  let seed = 11;
  const random = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  for (let i = 0; i < rows; i++) {
    const normal = Math.sqrt(-2 * Math.log(random())) * Math.cos(2 * Math.PI * random());
    lines.push(`${(10 + shift + 2 * normal).toFixed(4)},${regions[i % 4]}`);
  }
  return lines.join('\n') + '\n';
}

test.use({ viewport: DOCS_VIEWPORT });

test.describe('Drift panel', () => {
  test('compares two dataset versions, flags and plots the shifted column', async ({
    page
  }) => {
    // the root may persist between runs: a fresh name keeps the history exact
    const name = `galata-drift-${Date.now().toString(36)}`;
    const file = `${name}.csv`;
    const snapshot = async (text: string, tags: string[]) => {
      fs.writeFileSync(path.join(ROOT, file), text);
      const response = await page.request.post('/jupyter-mlops/datasets', {
        data: { path: file, name, tags }
      });
      expect(response.status()).toBe(201);
      return (await response.json()) as { version: string; short: string };
    };
    const baseline = await snapshot(csv(1500, 0), ['baseline']);
    const shifted = await snapshot(csv(1500, 3), []);

    await page.keyboard.press('Control+Shift+C');
    await page
      .locator('#modal-command-palette .lm-CommandPalette-input')
      .fill('Open Drift');
    await page.getByRole('menuitem', { name: 'Open Drift' }).click();

    const panel = page.locator('#jp-mlops-drift');
    await expect(panel).toBeVisible();
    // the panel gets the width of the window (and the screenshots show only it)
    await page.sidebar.close('left');
    await panel.getByTestId('drift-reference-dataset').selectOption(name);
    await panel.getByTestId('drift-reference-version').selectOption(baseline.version);
    await panel.getByTestId('drift-current-dataset').selectOption(name);
    await panel.getByTestId('drift-current-version').selectOption(shifted.version);
    await panel.getByTestId('drift-run').click();

    await expect(panel.getByTestId('drift-headline')).toContainText('Dataset drift detected');
    const amount = panel.getByTestId('drift-row-amount');
    await expect(amount).toHaveAttribute('data-drifted', 'true');
    await expect(amount.getByTestId('drift-verdict')).toHaveText('drift');
    await expect(
      panel.getByTestId('drift-row-region').getByTestId('drift-verdict')
    ).toHaveText('no drift');
    // the overview: every column's score against its threshold
    await panel.getByRole('button', { name: 'All columns' }).click();
    await expect(panel.locator('.jp-mlops-drift-plotTitle')).toHaveText(
      'All columns: score vs threshold'
    );
    const overview = panel.getByTestId('drift-plot');
    await expect(overview).toHaveAttribute('data-rendered', 'plotly', { timeout: 60000 });
    await expect(overview.locator('.gtitle')).toHaveText('Drift: 1 of 2 columns');
    await expect(overview.locator('.xtick')).toHaveText(['amount', 'region']);
    await shoot(panel.getByTestId('drift-table'), 'drift-check-table');
    // sorted by verdict, drifted first
    await expect(panel.locator('[data-testid^="drift-row-"]').first()).toHaveAttribute(
      'data-testid',
      'drift-row-amount'
    );

    await amount.click();
    const plot = panel.getByTestId('drift-plot');
    // plotly.js marks the element it draws into (loaded on demand: allow for it)
    await expect(panel.locator('.js-plotly-plot')).toHaveCount(1, { timeout: 60000 });
    await expect(plot).toHaveClass(/js-plotly-plot/);
    await expect(plot).toHaveAttribute('data-rendered', 'plotly');
    await expect(plot.locator('.legendtext')).toHaveText(['reference', 'current']);
    await shoot(panel, 'drift-column-plot');

    const history = panel.getByTestId('drift-history');
    const entry = history.locator('li', { hasText: `${name}@${baseline.short}` });
    await expect(entry).toHaveCount(1);
    await expect(entry).toContainText(`${name}@${shifted.short}`);
    const href = await panel.getByTestId('drift-export').getAttribute('href');
    expect(href).toMatch(/\/jupyter-mlops\/drift\/checks\/\d+\/html\?download=true$/);
    const page_ = await page.request.get(href!.replace('?download=true', ''));
    expect(await page_.text()).toContain('Dataset drift detected');

    // sorting by column name puts amount before region
    await panel.getByRole('columnheader', { name: 'column' }).click();
    await expect(panel.locator('[data-testid^="drift-row-"]')).toHaveCount(2);
    await expect(panel.locator('[data-testid^="drift-row-"]').nth(1)).toHaveAttribute(
      'data-testid',
      'drift-row-region'
    );
  });
});
