/**
 * The closed loop, watched through the panels (Debian's headless Chromium):
 * `jupyter mlops demo --no-lab --keep-running` runs the whole loop for real in
 * a fresh folder (first training, deploy, traffic, injected drift, the
 * monitor's alert, the retraining run it triggers, the gate, the canary), then
 * a JupyterLab of its own opens on that folder (ui-tests/loop-server.ts). The
 * test walks what happened: the Timeline shows the drift alert and, in its
 * activity list, the triggered pipeline run, the passing gate, the champion's
 * move and the canary's deployment events; the Pipelines panel shows the
 * retraining run succeeded, triggered by drift_alert, with its three steps;
 * the Models panel's Registry tab shows churn with @champion on v2, the gate
 * PASSED and the alias history v1 → v2; its Deployments tab shows churn-api
 * serving v2 at 100 %. Screenshots `loop-*` (tests/screenshots.ts).
 */
import { expect, test } from '@jupyterlab/galata';
import type { Page } from '@playwright/test';

import { ILoop, startLoop } from '../loop-server';
import { DOCS_VIEWPORT, shoot } from './screenshots';

let loop: ILoop | null = null;

async function openPanel(page: Page, label: string): Promise<void> {
  await page.keyboard.press('Control+Shift+C');
  await page.locator('#modal-command-palette .lm-CommandPalette-input').fill(label);
  await page.getByRole('menuitem', { name: label }).click();
}

test.describe('The closed loop through the panels', () => {
  test.describe.configure({ mode: 'serial' });
  // the page talks to the demo's own JupyterLab, not to the shared one
  test.use({
    baseURL: async ({}, use) => {
      await use(loop ? loop.url : 'http://127.0.0.1:9');
    },
    viewport: DOCS_VIEWPORT
  });

  test.beforeAll(async () => {
    // the demo takes 1–2 minutes on a quiet 2-core machine, more under load; its own
    // limit (8 min) and the server's (90 s) end inside this one, so they clean up first
    test.setTimeout(12 * 60 * 1000);
    loop = await startLoop({ demoTimeoutMs: 8 * 60 * 1000, labTimeoutMs: 90 * 1000 });
    const stages = loop.record.stages.map(s => `${s.seconds.toFixed(1)} s  ${s.title}`);
    console.log(
      `demo: ${loop.demoSeconds.toFixed(1)} s (loop ${loop.record.wall_s.toFixed(1)} s), ` +
        `JupyterLab up in ${loop.labSeconds.toFixed(1)} s\n  ${stages.join('\n  ')}`
    );
  });

  test.afterAll(async () => {
    test.setTimeout(3 * 60 * 1000);
    if (loop) {
      const stopping = loop;
      loop = null;
      await stopping.stop();
    }
  });

  test('a drift alert, the retraining run, the gate and the canary', async ({ page }) => {
    test.setTimeout(120000);
    expect(loop).not.toBeNull();
    const { record } = loop as ILoop;
    expect(record.status).toBe('complete');
    const facts = record.facts;
    const started = Date.now();
    await page.sidebar.close('left');

    // ── Timeline: the alert on top, the loop in the activity list ──
    await openPanel(page, 'Open Timeline');
    const timeline = page.locator('#jp-mlops-timeline');
    await expect(timeline).toBeVisible();
    const alert = timeline.getByTestId(`alert-${facts.alert_id}`);
    await expect(alert).toBeVisible();
    await expect(alert).toContainText('Drift on churn-api');
    await expect(alert).toContainText('triggered retrain.pipeline.yaml');
    // the monitor that raised it (paused by the test so no later check resolves the alert)
    const monitor = timeline.getByTestId('monitor-churn-api-drift');
    await expect(monitor).toContainText('churn-api');
    await expect(monitor.locator('td').nth(1)).toContainText('drift');
    await expect(monitor.locator('td').nth(3)).toContainText('paused');

    const list = timeline.getByTestId('timeline-list');
    const item = (id: string) => list.locator(`[data-testid="timeline-item"][data-id="${id}"]`);
    await expect(item(`alert:${facts.alert_id}`)).toContainText('Drift on churn-api');
    await expect(item(`drift_check:${facts.drift_check}`)).toContainText('drift');
    const triggered = item(`pipeline_run:${facts.retrain_run}`);
    await expect(triggered).toContainText('Pipeline retrain (drift_alert)');
    await expect(triggered).toContainText('succeeded');
    const gate = item(`gate:${facts.gate_id}`);
    await expect(gate).toContainText(`Gate churn v${facts.challenger} vs v${facts.first_champion}`);
    await expect(gate).toContainText('passed');
    const aliases = list.locator('[data-testid="timeline-item"][data-kind="alias"]');
    await expect(
      aliases.filter({
        hasText: `churn@champion → v${facts.challenger} (was v${facts.first_champion})`
      })
    ).toHaveCount(1);
    const deployments = list.locator('[data-testid="timeline-item"][data-kind="deployment"]');
    await expect(
      deployments.filter({ hasText: `Rolling out churn/${facts.challenger} to churn-api: canary` })
    ).toHaveCount(1);
    await expect(
      deployments.filter({ hasText: `churn/${facts.challenger} now serves all of churn-api` })
    ).toHaveCount(1);
    // newest first: alert → triggered run → gate → champion's move
    const order = await list
      .locator('[data-testid="timeline-item"]')
      .evaluateAll(nodes => nodes.map(n => n.getAttribute('data-id')));
    const at = (id: string) => order.indexOf(id);
    expect(at(`alert:${facts.alert_id}`)).toBeGreaterThan(at(`pipeline_run:${facts.retrain_run}`));
    expect(at(`pipeline_run:${facts.retrain_run}`)).toBeGreaterThan(at(`gate:${facts.gate_id}`));
    await shoot(timeline, 'loop-timeline');

    // ── Pipelines: the triggered run, opened from its timeline item ──
    await triggered.locator('a').click();
    const pipelines = page.locator('#jp-mlops-pipelines');
    await expect(pipelines).toBeVisible();
    await pipelines.getByTestId('pipeline-item-retrain.pipeline.yaml').click();
    const history = pipelines.getByTestId('pipelines-history');
    await expect(history.locator('tbody tr')).toHaveCount(2);
    const runRow = history.getByTestId(`run-row-${facts.retrain_run}`);
    await expect(runRow).toHaveAttribute('data-status', 'succeeded');
    await expect(runRow).toContainText('drift_alert');
    await expect(runRow).toContainText('3/3');
    await expect(history.getByTestId(`run-row-${facts.first_run}`)).toContainText('manual');
    await runRow.click();
    const steps = pipelines.getByTestId('pipelines-run-steps');
    await expect(steps).toContainText(`Run ${facts.retrain_run}`);
    await expect(steps.getByTestId('run-status')).toHaveText('succeeded');
    for (const name of ['prepare', 'train', 'evaluate']) {
      await expect(steps.getByTestId(`step-row-${name}`)).toHaveAttribute(
        'data-status',
        'succeeded'
      );
      await expect(pipelines.getByTestId(`dag-node-${name}`)).toHaveAttribute(
        'data-status',
        'succeeded'
      );
    }
    // prepare snapshotted the window, train registered v2, evaluate gated and rolled it out
    await expect(steps.getByTestId('step-row-prepare')).toContainText(
      '"holdout_set":"customers-holdout@'
    );
    await expect(steps.getByTestId('step-row-train')).toContainText(
      `"version":${facts.challenger}`
    );
    const evaluate = steps.getByTestId('step-row-evaluate');
    await expect(evaluate).toContainText(`"gate_id":${facts.gate_id}`);
    await expect(evaluate).toContainText('"passed":true');
    await expect(evaluate).toContainText('"rollout":"promoted"');
    await pipelines.getByTestId('pipeline-detail').evaluate(node => node.scrollIntoView());
    await shoot(pipelines, 'loop-pipelines');

    // ── Models, Registry: @champion on v2, the gate PASSED, the alias history ──
    await page.locator('.lm-TabBar-tab', { hasText: 'Timeline' }).click();
    await gate.locator('a').click();
    const models = page.locator('#jp-mlops-models');
    await expect(models).toBeVisible();
    await models.getByTestId('models-tab-registry').click();
    await models.getByTestId('model-churn').click();
    const champion = models.getByTestId(`version-row-${facts.challenger}`);
    const former = models.getByTestId(`version-row-${facts.first_champion}`);
    await expect(champion.getByTestId('alias-badge-champion')).toBeVisible();
    await expect(champion.getByTestId('alias-badge-challenger')).toBeVisible();
    await expect(former.getByTestId('alias-badge-champion')).toHaveCount(0);

    const gateItem = models.getByTestId(`gate-history-${facts.gate_id}`);
    await expect(gateItem).toContainText(`#${facts.gate_id} passed`);
    await expect(gateItem).toContainText(`v${facts.challenger} vs v${facts.first_champion}`);
    await gateItem.click();
    const result = models.getByTestId('gate-result');
    await expect(result).toHaveAttribute('data-passed', 'true');
    await expect(models.getByTestId('gate-verdict')).toHaveText('PASSED');
    const rocAuc = models.getByTestId('gate-check-roc_auc-min_delta');
    await expect(rocAuc.getByTestId('gate-check-result')).toHaveText('PASS');
    await expect(
      result.getByRole('columnheader', { name: `champion v${facts.first_champion}` })
    ).toBeVisible();
    await expect(models.getByTestId('gate-headline')).toContainText('customers-holdout@');

    const moves = models.getByTestId('alias-history');
    const latest = moves.locator('li[data-alias="champion"]').first();
    await expect(latest).toHaveAttribute('data-via', 'promote');
    await expect(latest).toContainText(`v${facts.first_champion} → v${facts.challenger}`);
    await expect(latest).toContainText(
      `gate #${facts.gate_id} passed and the canary on churn-api was promoted`
    );
    const first = moves.locator('li[data-alias="champion"]').last();
    await expect(first).toHaveAttribute('data-via', 'gate');
    await expect(first).toContainText(`— → v${facts.first_champion}`);
    await expect(moves.locator('li[data-alias="champion"]')).toHaveCount(2);
    // a taller window: the versions, the gate result and the alias history in one image
    await models.getByTestId('model-detail').evaluate(node => node.scrollIntoView());
    await shoot(models, 'loop-models-registry', { height: 960 });

    // ── Models, Deployments: churn-api serves v2 at 100 % after a promoted canary ──
    await models.getByTestId('models-tab-deployments').click();
    const card = models.getByTestId('deployment-churn-api');
    await expect(card).toBeVisible({ timeout: 30000 });
    await expect(card.getByTestId('deployment-status')).toHaveText('running');
    const v2 = `churn/${facts.challenger}`;
    const segments = card.getByTestId('traffic-segment');
    await expect(segments).toHaveCount(1);
    await expect(segments.first()).toHaveAttribute('data-version', v2);
    await expect(segments.first()).toHaveAttribute('data-weight', '100');
    await expect(card.getByTestId('traffic-bar')).toHaveAttribute(
      'aria-label',
      `Traffic: ${v2} 100 %`
    );
    await expect(card.getByTestId(`version-${v2}`)).toHaveAttribute('data-role', 'stable');
    await expect(card.getByTestId(`version-churn/${facts.first_champion}`)).toHaveAttribute(
      'data-role',
      'standby'
    );
    const canary = card.getByTestId('canary-progress');
    await expect(canary).toHaveAttribute('data-state', 'promoted');
    await expect(canary.getByTestId('canary-step')).toHaveText(['25 %', '100 %']);
    await shoot(models, 'loop-models-deployments');

    // the deployment answers with the new champion
    const served = await page.request.get('/jupyter-mlops/deployments/churn-api');
    expect((await served.json()).traffic).toEqual({ [v2]: 100 });
    console.log(`walk through the panels: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
});
