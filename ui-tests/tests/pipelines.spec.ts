/**
 * The Pipelines panel in a real JupyterLab (Debian's headless Chromium): a
 * three-step pipeline (prepare → train → report, a parameter and an upstream
 * output) is written into the server's root; the panel runs it with a
 * parameter from its generated form and shows the steps complete in the DAG
 * and the steps table; the executed notebook of a step opens read-only from
 * the MLOpsRuns drive; a schedule made in the editor shows its next five fire
 * times and pauses and resumes; the notebook toolbar button opens a notebook
 * in the panel.
 */
import { expect, test } from '@jupyterlab/galata';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = process.env.MLOPS_UI_ROOT as string;
const OUT = 'from jupyter_mlops.core.pipelines.outputs import output\n';

function notebook(file: string, params: string, ...cells: string[]): void {
  const cell = (source: string, tags: string[] = []) => ({
    cell_type: 'code',
    execution_count: null,
    metadata: { tags },
    outputs: [],
    source
  });
  const nb = {
    cells: [cell(params, ['parameters']), ...cells.map(c => cell(c))],
    metadata: {
      kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' }
    },
    nbformat: 4,
    nbformat_minor: 5
  };
  fs.mkdirSync(path.dirname(path.join(ROOT, file)), { recursive: true });
  fs.writeFileSync(path.join(ROOT, file), JSON.stringify(nb));
}

async function openPipelines(page: any): Promise<void> {
  await page.keyboard.press('Control+Shift+C');
  await page
    .locator('#modal-command-palette .lm-CommandPalette-input')
    .fill('Open Pipelines');
  await page.getByRole('menuitem', { name: 'Open Pipelines' }).click();
}

test.describe('Pipelines panel', () => {
  // the root may persist between runs: a fresh folder keeps the history exact
  const dir = `galata-pipe-${Date.now()}`;
  const spec = `${dir}/train.pipeline.yaml`;

  test.beforeAll(() => {
    notebook(`${dir}/prepare.ipynb`, 'n = 1', OUT + "output('rows', n * 10)");
    notebook(`${dir}/train.ipynb`, 'rows = 0\nepochs = 1', OUT + "output('score', rows / epochs)");
    notebook(`${dir}/report.ipynb`, 'score = 0.0', "print('the score is', score)");
    fs.writeFileSync(
      path.join(ROOT, spec),
      [
        'name: galata-train',
        'description: prepare, train, report',
        'parameters:',
        '  n: {type: int, default: 3}',
        '  epochs: {type: int, default: 2}',
        'steps:',
        `  - {name: prepare, notebook: ${dir}/prepare.ipynb, parameters: {n: "\${params.n}"}}`,
        '  - name: train',
        `    notebook: ${dir}/train.ipynb`,
        '    parameters: {rows: "${steps.prepare.outputs.rows}", epochs: "${params.epochs}"}',
        `  - {name: report, notebook: ${dir}/report.ipynb,`,
        '     parameters: {score: "${steps.train.outputs.score}"}}',
        ''
      ].join('\n')
    );
  });

  test('runs a pipeline with a parameter, shows its steps, opens a step notebook', async ({
    page
  }) => {
    test.setTimeout(240000);
    await openPipelines(page);
    const panel = page.locator('#jp-mlops-pipelines');
    await expect(panel).toBeVisible();
    await panel.getByTestId(`pipeline-item-${spec}`).click();
    await expect(panel.getByTestId('pipeline-name')).toHaveText('galata-train');
    // the DAG: three nodes, two edges, in dependency order
    await expect(panel.locator('[data-testid^="dag-node-"]')).toHaveCount(3);
    await expect(panel.locator('[data-edge="prepare->train"]')).toHaveCount(1);
    await expect(panel.locator('[data-edge="train->report"]')).toHaveCount(1);
    // the form, generated from the parameters with their defaults
    await expect(panel.getByTestId('param-n')).toHaveValue('3');
    await expect(panel.getByTestId('param-epochs')).toHaveValue('2');
    await panel.getByTestId('param-epochs').fill('5');
    await panel.getByTestId('pipelines-run').click();

    const steps = panel.getByTestId('pipelines-run-steps');
    await expect(steps.getByTestId('run-status')).toHaveText('succeeded', { timeout: 180000 });
    for (const name of ['prepare', 'train', 'report']) {
      await expect(steps.getByTestId(`step-row-${name}`)).toHaveAttribute(
        'data-status',
        'succeeded'
      );
      await expect(panel.getByTestId(`dag-node-${name}`)).toHaveAttribute(
        'data-status',
        'succeeded'
      );
    }
    // the upstream output and the parameter reached the steps
    await expect(steps.getByTestId('step-row-train')).toContainText('"rows":30');
    await expect(steps.getByTestId('step-row-train')).toContainText('"epochs":5');
    await expect(steps.getByTestId('step-row-report')).toContainText('"score":6');
    const cells = steps.getByTestId('step-row-report').getByTestId('step-cells');
    await expect(cells).toHaveText(/^(\d+)\/\1$/);
    await expect(panel.getByTestId('pipelines-history').locator('tbody tr')).toHaveCount(1);

    // the executed notebook opens in JupyterLab from the read-only MLOpsRuns drive
    await steps.getByTestId('open-notebook-report').click();
    const tab = page.getByRole('tab', { name: /report\.ipynb/ });
    await expect(tab).toBeVisible();
    const notebookPanel = page.locator('.jp-NotebookPanel:visible');
    await expect(notebookPanel).toContainText('score = 6', { timeout: 30000 });
    await expect(notebookPanel).toContainText('the score is 6');
    const path_ = await page.evaluate(() => {
      const current = (window as any).jupyterapp.shell.currentWidget;
      return current?.context?.path as string;
    });
    expect(path_).toMatch(/^MLOpsRuns:[0-9a-z-]+\/report\.ipynb$/);
    // a record of what ran: no kernel is started for it
    await page.waitForTimeout(1000);
    const sessions = await (await page.request.get('/api/sessions')).json();
    expect(sessions.filter((s: any) => String(s.path).includes('report.ipynb'))).toEqual([]);
    if (process.env.MLOPS_UI_SCREENSHOTS) {
      await page.screenshot({ path: 'test-results/pipelines-notebook.png' });
      await page.getByRole('tab', { name: 'Pipelines' }).click();
      await page.screenshot({ path: 'test-results/pipelines-panel.png' });
    }
  });

  test('creates a schedule, shows its next fire times, pauses and resumes it', async ({
    page
  }) => {
    await openPipelines(page);
    const panel = page.locator('#jp-mlops-pipelines');
    await panel.getByTestId(`pipeline-item-${spec}`).click();
    await panel.getByTestId('pipelines-tab-schedule').click();
    await panel.getByTestId('schedule-cron').fill('61 * * * *');
    await expect(panel.getByTestId('schedule-preview-error')).toContainText(
      "field 1 (minute) '61' is not valid"
    );
    await panel.getByTestId('schedule-cron').fill('30 4 * * 1');
    await panel.getByTestId('schedule-timezone').fill('Europe/Paris');
    const preview = panel.getByTestId('schedule-preview').getByTestId('fire-time');
    await expect(preview).toHaveCount(5);
    await panel.getByTestId('schedule-create').click();

    const item = panel.locator('[data-testid^="schedule-"][data-paused]');
    await expect(item).toHaveCount(1);
    const upcoming = item.getByTestId('schedule-upcoming').getByTestId('fire-time');
    await expect(upcoming).toHaveCount(5);
    // every fire time is a Monday at 04:30 in Paris
    const times = await upcoming.evaluateAll(nodes =>
      nodes.map(n => n.getAttribute('data-iso') as string)
    );
    for (const iso of times) {
      const paris = new Date(iso).toLocaleString('en-GB', {
        timeZone: 'Europe/Paris',
        weekday: 'short',
        hour: '2-digit',
        minute: '2-digit'
      });
      expect(paris).toBe('Mon 04:30');
    }
    if (process.env.MLOPS_UI_SCREENSHOTS) {
      await page.screenshot({ path: 'test-results/pipelines-schedule.png' });
    }
    await item.getByTestId('schedule-toggle').click();
    await expect(item).toHaveAttribute('data-paused', 'true');
    await expect(item.getByTestId('schedule-state')).toHaveText('paused');
    await expect(item.getByTestId('schedule-upcoming')).toHaveCount(0);
    await item.getByTestId('schedule-toggle').click();
    await expect(item).toHaveAttribute('data-paused', 'false');
    await expect(upcoming).toHaveCount(5);
    await item.getByTestId('schedule-delete').click();
    await expect(item).toHaveCount(0);
  });

  test('the notebook toolbar button opens the notebook in the panel', async ({ page }) => {
    await page.notebook.openByPath(`${dir}/train.ipynb`);
    await page.locator('[data-jp-item-name="mlops-run-as-pipeline"]').click();
    const panel = page.locator('#jp-mlops-pipelines');
    await expect(panel.getByTestId('pipeline-name')).toHaveText('train');
    await expect(panel.getByTestId('param-rows')).toHaveValue('0');
    await expect(panel.getByTestId('param-epochs')).toHaveValue('1');
  });
});
