/**
 * The Deployments section of the Models panel in a real JupyterLab (Debian's
 * headless Chromium), over real model servers and a router on 127.0.0.1:
 * two versions of a small model are registered by the Python API in the
 * server's workspace, deployed over REST with a 30 % canary of the second;
 * the panel, opened with `mlops:open-models`, shows the deployment's URL and
 * its 70/30 traffic split on the "Deployments" tab; rolling back from the
 * panel (with its confirmation) puts all traffic back on the first version
 * and says why. The deployment is stopped and deleted at the end (it is a
 * process of its own and would outlive the server).
 */
import { expect, test } from '@jupyterlab/galata';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import { DOCS_VIEWPORT, shoot } from './screenshots';

const ROOT = process.env.MLOPS_UI_ROOT as string;

function python(): string {
  const venv = path.join(__dirname, '..', '..', '.venv', 'bin', 'python');
  return fs.existsSync(venv) ? venv : 'python3';
}

/** Register two constant versions of `model` in the UI server's workspace. */
function register(model: string): [string, string] {
  const code = `
import json, jupyter_mlops
from jupyter_mlops.core.deploy.demo_models import register_constant_model
ws = jupyter_mlops.workspace()
print(json.dumps([register_constant_model(ws, ${JSON.stringify(model)}, value=0, alias="champion"),
                  register_constant_model(ws, ${JSON.stringify(model)}, value=1, alias="challenger")]))
`;
  const out = execFileSync(python(), ['-c', code], {
    env: { ...process.env, JUPYTER_MLOPS_WORKSPACE: ROOT },
    encoding: 'utf-8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120000
  });
  const [a, b] = JSON.parse(out.trim().split('\n').pop() as string);
  return [`${model}/${a}`, `${model}/${b}`];
}

test.use({ viewport: DOCS_VIEWPORT });

test.describe('Deployments section', () => {
  // the root may persist between runs: fresh names keep the assertions exact
  const stamp = Date.now().toString(36);
  const model = `galata-model-${stamp}`;
  const name = `galata-${stamp}`;

  test.afterEach(async ({ request }) => {
    await request.delete(`/jupyter-mlops/deployments/${name}`, { timeout: 60000 });
  });

  test('shows the URL and traffic split of a canary, and rolls it back', async ({
    page
  }) => {
    const [v1, v2] = register(model);
    const created = await page.request.post('/jupyter-mlops/deployments', {
      data: { model: `${model}@champion`, name },
      timeout: 120000
    });
    expect(created.status()).toBe(201);
    const dep = await created.json();
    const canary = await page.request.post(`/jupyter-mlops/deployments/${name}/strategy`, {
      data: {
        strategy: { kind: 'canary', steps: [30, 100], bake: 600 },
        model: `${model}@challenger`
      },
      timeout: 120000
    });
    expect(canary.status()).toBe(200);

    // traffic, so the health figures have something to show: both versions answer
    const answered = new Map<string, number>();
    for (let i = 0; i < 60; i++) {
      const answer = await page.request.post(`${dep.url}/invocations`, {
        data: { dataframe_split: { columns: ['x'], data: [[i]] } }
      });
      expect(answer.status()).toBe(200);
      const version = answer.headers()['x-mlops-version'];
      answered.set(version, (answered.get(version) ?? 0) + 1);
    }
    expect([...answered.keys()].sort()).toEqual([v1, v2].sort());

    await page.evaluate(async () => {
      await (window as any).jupyterapp.commands.execute('mlops:open-models');
    });
    await page.getByRole('tab', { name: 'Deployments' }).click();
    // the panel gets the width of the window (and the screenshots show only it)
    await page.sidebar.close('left');

    const card = page.getByTestId(`deployment-${name}`);
    await expect(card).toBeVisible({ timeout: 30000 });
    await expect(card.getByTestId('deployment-url')).toHaveText(dep.url);
    await expect(card.getByTestId('deployment-status')).toHaveText('running');
    const segment = (version: string) =>
      card.locator(`[data-testid="traffic-segment"][data-version="${version}"]`);
    await expect(segment(v1)).toHaveAttribute('data-weight', '70');
    await expect(segment(v2)).toHaveAttribute('data-weight', '30');
    await expect(segment(v2)).toContainText('(candidate)');
    const bar = card.getByTestId('traffic-bar');
    await expect(bar).toHaveAttribute('aria-label', `Traffic: ${v1} 70 %, ${v2} 30 %`);
    const widths = await bar
      .locator('.jp-mlops-TrafficSegment')
      .evaluateAll(nodes => nodes.map(n => (n as HTMLElement).style.width));
    expect(widths).toEqual(['70%', '30%']);
    const progress = card.getByTestId('canary-progress');
    await expect(progress).toHaveAttribute('data-state', 'running');
    await expect(progress.getByTestId('canary-step')).toHaveText(['30 %', '100 %']);
    await expect(progress.getByTestId('canary-weight')).toContainText(`${v2} takes 30 % now`);
    await expect(progress.getByTestId('canary-bake')).toHaveText(/^(5\d\d|600) s$/);
    // health of each version over the last minute: both live, both served requests
    for (const [version, role] of [
      [v1, 'stable'],
      [v2, 'candidate']
    ]) {
      const row = card.getByTestId(`version-${version}`);
      await expect(row).toHaveAttribute('data-role', role);
      await expect(row.locator('td').nth(2)).toHaveText('healthy', { timeout: 30000 });
      await expect(row.locator('td').nth(3)).not.toHaveText('–', { timeout: 30000 });
      await expect(row.locator('td').nth(4)).toHaveText('0.0 %');
    }
    await shoot(page.locator('#jp-mlops-models'), 'deployments-canary', { height: 480 });

    // roll back from the panel: a confirmation first, then the split changes
    await card.getByTestId('deployment-rollback').click();
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog).toContainText(`Drop ${v2}`);
    await dialog.getByRole('button', { name: 'Roll back' }).click();
    await expect(segment(v1)).toHaveAttribute('data-weight', '100', { timeout: 30000 });
    await expect(segment(v2)).toHaveCount(0);
    await expect(bar.locator('.jp-mlops-TrafficSegment')).toHaveCount(1);
    await expect(progress).toHaveAttribute('data-state', 'rolled_back');
    await expect(card.getByTestId('rollout-reason')).toHaveText(
      'Rolled back: rolled back from the Models panel'
    );
    await expect(card.getByTestId('deployment-rollback')).toBeDisabled();
    await shoot(card, 'deployments-rolled-back');

    // the server agrees: all traffic on the first version
    const after = await (await page.request.get(`/jupyter-mlops/deployments/${name}`)).json();
    expect(after.traffic).toEqual({ [v1]: 100 });
  });
});
