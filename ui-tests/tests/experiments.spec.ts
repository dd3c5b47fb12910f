/**
 * The "Done when", through the real UI: a notebook that runs
 * `%%track` in a real kernel shows up in the Experiments panel with its
 * notebook path and git commit; two runs open in the compare view with
 * plotly charts; the chosen columns are remembered in the settings.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import { DOCS_VIEWPORT, shoot } from './screenshots';

const ROOT = process.env.MLOPS_UI_ROOT as string;
const PYTHON = path.resolve(__dirname, '..', '..', '.venv', 'bin', 'python');

function git(...args: string[]): string {
  return execFileSync('git', ['-C', ROOT, ...args], { encoding: 'utf-8' }).trim();
}

async function openExperiments(page: IJupyterLabPageFixture): Promise<void> {
  await page.keyboard.press('Control+Shift+C');
  await page
    .locator('#modal-command-palette .lm-CommandPalette-input')
    .fill('Open Experiments');
  await page.getByRole('menuitem', { name: 'Open Experiments' }).click();
}

test.use({ viewport: DOCS_VIEWPORT });

test.describe('Experiments panel', () => {
  let commit = '';

  test.beforeAll(() => {
    // a committed repository at the server root, so every run records a commit
    fs.mkdirSync(ROOT, { recursive: true });
    if (!fs.existsSync(path.join(ROOT, '.git'))) {
      git('init', '-q');
    }
    git(
      '-c', 'user.name=galata', '-c', 'user.email=galata@example.invalid',
      'commit', '-q', '--allow-empty', '-m', 'experiments browser test'
    );
    commit = git('rev-parse', 'HEAD');
  });

  // a notebook the test wrote outside Galata's temporary folder, removed after the test
  let written: string | null = null;
  test.afterEach(async ({ page }) => {
    if (written) {
      await page.contents.deleteFile(written);
      written = null;
    }
  });

  test('a %%track run shows its notebook and commit; two runs compare', async ({
    page
  }) => {
    test.setTimeout(300000);
    // runs of earlier test sessions in this root stay in "demo": name this session's
    const stamp = `run-${Date.now().toString(36)}`;
    const name = `train-${stamp}.ipynb`;
    // a short path (Galata's tmpPath is long), so the runs table shows it whole
    const notebook = `notebooks/${name}`;
    written = notebook;
    const cells = ['%load_ext jupyter_mlops\nimport jupyter_mlops'];
    for (const [suffix, lr, acc] of [
      ['a', '0.1', '0.91'],
      ['b', '0.01', '0.87']
    ]) {
      // a loss logged per step gives the compare view a history to chart
      cells.push(
        `%%track --experiment demo --name ${stamp}-${suffix} --param lr=${lr} --log acc\n` +
          `for step in range(8):\n` +
          `    jupyter_mlops.log(loss=round(1 / (1 + ${lr} * 10 * step), 4), step=step)\n` +
          `acc = ${acc}`
      );
    }
    // The notebook is written under its final name, then opened and run in the UI.
    // (New → Untitled.ipynb → rename would leave the kernel's JPY_SESSION_NAME stale, and
    // the run would depend on the server's /api/sessions answering within the core's 1 s
    // lookup timeout, which a loaded test machine does not guarantee.)
    await page.contents.uploadContent(
      JSON.stringify({
        nbformat: 4,
        nbformat_minor: 5,
        metadata: {
          kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' }
        },
        cells: cells.map((source, i) => ({
          id: `cell-${i}`,
          cell_type: 'code',
          metadata: {},
          execution_count: null,
          outputs: [],
          source
        }))
      }),
      'text',
      notebook
    );
    await page.notebook.openByPath(notebook);
    await page.notebook.activate(name);
    await page.notebook.run();
    for (const cell of [1, 2]) {
      expect((await page.notebook.getCellTextOutput(cell))?.join('')).toContain(
        'finished; logged acc'
      );
    }

    await openExperiments(page);
    // the panel gets the width of the window (and the screenshots show only it)
    await page.sidebar.close('left');
    const panel = page.locator('#jp-mlops-experiments');
    await panel
      .getByTestId('mlops-exp-experiment')
      .filter({ hasText: /^demo$/ })
      .click();
    await expect(panel.getByTestId('mlops-exp-title')).toHaveText('demo');
    const rows = panel.getByTestId('mlops-exp-run-row').filter({ hasText: stamp });
    await expect(rows).toHaveCount(2, { timeout: 30000 });
    for (const row of [rows.nth(0), rows.nth(1)]) {
      await expect(row.getByTestId('mlops-exp-cell-notebook')).toHaveText(notebook);
      await expect(row.getByTestId('mlops-exp-cell-commit')).toHaveText(
        commit.slice(0, 8)
      );
      await expect(row.getByTestId('mlops-exp-cell-status')).toHaveText('FINISHED');
    }
    await shoot(panel, 'experiments-runs');

    // the detail of the newest run: notebook, commit, and the notebook opens
    await expect(rows.nth(0).getByTestId('mlops-exp-run-link')).toHaveText(`${stamp}-b`);
    await rows.nth(0).getByTestId('mlops-exp-run-link').click();
    const detail = panel.getByTestId('mlops-exp-detail');
    await expect(detail.getByTestId('mlops-exp-notebook-path')).toHaveText(notebook);
    await expect(detail.getByTestId('mlops-exp-commit')).toHaveText(commit);
    await expect(detail.getByTestId('mlops-exp-params')).toContainText('0.01');
    await expect(detail.getByTestId('mlops-exp-metrics')).toContainText('0.87');
    await expect(detail.getByTestId('mlops-exp-artifacts')).toContainText(
      'environment/requirements.txt'
    );
    await shoot(panel, 'experiments-run-detail');
    await detail.getByTestId('mlops-exp-notebook-open').click();
    await expect(
      page.locator('#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current')
    ).toContainText(name);
    await page.activity.activateTab('Experiments');

    // select both runs and compare them
    for (const row of [rows.nth(0), rows.nth(1)]) {
      await row.getByTestId('mlops-exp-select').check();
    }
    await panel.getByTestId('mlops-exp-compare-button').click();
    const compare = panel.getByTestId('mlops-exp-compare');
    await expect(compare).toContainText('Comparing 2 runs');
    await expect(compare.locator('.jp-mlops-exp-differ')).toContainText('params.lr');
    // one chart per metric history (acc logged once, loss per step)
    const history = compare.getByTestId('mlops-exp-history-chart');
    await expect(history).toHaveCount(2);
    for (const chart of [history.nth(0), history.nth(1)]) {
      await expect(chart).toHaveAttribute('data-rendered', 'plotly', { timeout: 60000 });
    }
    await expect(history.locator('.gtitle')).toHaveText(['acc', 'loss']);
    // each chart has a line per run, named after it
    await expect(history.nth(1).locator('.legendtext')).toHaveText([
      `${stamp}-b`,
      `${stamp}-a`
    ]);
    const parallel = compare.getByTestId('mlops-exp-parallel');
    await expect(parallel).toHaveAttribute('data-rendered', 'plotly');
    await expect(parallel.locator('.parcoords')).toHaveCount(1);
    await shoot(compare, 'experiments-compare', { height: 1400 });
  });

  test('columns chosen by the user are remembered in the settings', async ({
    page
  }) => {
    test.setTimeout(180000);
    const experiment = `galata-columns-${Date.now()}`;
    execFileSync(
      PYTHON,
      [
        '-c',
        'import jupyter_mlops\n' +
          'for i in range(3):\n' +
          `    with jupyter_mlops.start_run("${experiment}", name=f"c{i}", ` +
          'params={"depth": i}) as run:\n' +
          '        run.log(auc=0.5 + i / 10)\n'
      ],
      {
        env: { ...process.env, JUPYTER_MLOPS_WORKSPACE: ROOT },
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: 120000
      }
    );
    await openExperiments(page);
    const panel = page.locator('#jp-mlops-experiments');
    await panel
      .getByTestId('mlops-exp-experiment')
      .filter({ hasText: experiment })
      .click();
    await expect(panel.getByTestId('mlops-exp-run-row')).toHaveCount(3);
    // by default the first metrics and params are shown
    await expect(panel.getByTestId('mlops-exp-header-metrics.auc')).toBeVisible();
    await expect(panel.getByTestId('mlops-exp-header-params.depth')).toBeVisible();

    // sorting by a header is done by the server
    await panel.getByTestId('mlops-exp-header-metrics.auc').click();
    await expect(
      panel.getByTestId('mlops-exp-run-row').first().getByTestId('mlops-exp-run-link')
    ).toHaveText('c2');
    await panel.getByTestId('mlops-exp-header-metrics.auc').click();
    await expect(
      panel.getByTestId('mlops-exp-run-row').first().getByTestId('mlops-exp-run-link')
    ).toHaveText('c0');

    await panel.getByTestId('mlops-exp-columns-button').click();
    await panel
      .getByTestId('mlops-exp-columns')
      .getByRole('checkbox', { name: 'auc' })
      .uncheck();
    await expect(panel.getByTestId('mlops-exp-header-metrics.auc')).toHaveCount(0);

    // a filter goes to the server in MLflow's syntax
    await panel.getByTestId('mlops-exp-filter').fill("params.depth = '1'");
    await panel.getByTestId('mlops-exp-filter').press('Enter');
    await expect(panel.getByTestId('mlops-exp-run-row')).toHaveCount(1);

    // after a reload the columns come back from the settings registry (the layout
    // restorer reopens the panel, so Galata's wait for the Launcher does not apply)
    await page.reload({ waitForIsReady: false });
    await page.locator('#jupyterlab-splash').waitFor({ state: 'detached' });
    await openExperiments(page);
    await page
      .locator('#jp-mlops-experiments')
      .getByTestId('mlops-exp-experiment')
      .filter({ hasText: experiment })
      .click();
    const reloaded = page.locator('#jp-mlops-experiments');
    await expect(reloaded.getByTestId('mlops-exp-run-row')).toHaveCount(3);
    await expect(reloaded.getByTestId('mlops-exp-header-params.depth')).toBeVisible();
    await expect(reloaded.getByTestId('mlops-exp-header-metrics.auc')).toHaveCount(0);
  });
});
