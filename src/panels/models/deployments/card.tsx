/**
 * One deployment in the Deployments section: its URL, status, strategy, the
 * live traffic split, its versions' health, the rollout in progress (or the
 * last one), the shadow comparison, recent predictions, and the buttons to
 * promote, roll back, stop or start it (each asks for confirmation).
 */

import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Button } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IDeployment } from '../../../api/deployments';
import { DeploymentAction, DeploymentsModel } from './model';
import {
  CanaryProgress,
  PredictionsTable,
  ShadowView,
  TrafficBar,
  VersionsTable
} from './parts';

const RUNNING = ['running', 'degraded', 'starting'];

function statusClass(status: string): string {
  return status === 'running'
    ? 'jp-mlops-mod-ok'
    : status === 'starting' || status === 'stopped'
      ? 'jp-mlops-mod-pending'
      : 'jp-mlops-mod-fail';
}

/** What each action does, in the words of its confirmation dialog. */
function describe(dep: IDeployment, action: DeploymentAction): string {
  const candidate = dep.versions.find(v => v.role === 'candidate');
  const stable = dep.versions.find(v => v.role === 'stable');
  const standby = dep.versions.find(v => v.role === 'standby');
  switch (action) {
    case 'promote':
      return `${candidate?.key} takes all traffic of ${dep.name} now; ${stable?.key} stays warm on standby.`;
    case 'rollback':
      return candidate
        ? `Drop ${candidate.key}: all traffic of ${dep.name} goes back to ${stable?.key}.`
        : `Switch ${dep.name} back from ${stable?.key} to ${standby?.key}.`;
    case 'stop':
      return `Stop ${dep.name} at ${dep.url}: in-flight requests finish, the prediction log is flushed, every version stops.`;
    case 'start':
      return `Start ${dep.name} again on port ${dep.port}.`;
    case 'remove':
      return `Stop ${dep.name} if it runs and delete it (its prediction log stays).`;
  }
}

const LABELS: Record<DeploymentAction, string> = {
  promote: 'Promote',
  rollback: 'Roll back',
  stop: 'Stop',
  start: 'Start',
  remove: 'Delete'
};

async function confirmed(dep: IDeployment, action: DeploymentAction): Promise<boolean> {
  const result = await showDialog({
    title: `${LABELS[action]} ${dep.name}?`,
    body: describe(dep, action),
    buttons: [
      Dialog.cancelButton(),
      action === 'stop' || action === 'remove'
        ? Dialog.warnButton({ label: LABELS[action] })
        : Dialog.okButton({ label: LABELS[action] })
    ]
  });
  return result.button.accept;
}

export function DeploymentCard(props: {
  model: DeploymentsModel;
  deployment: IDeployment;
}): JSX.Element {
  const { model, deployment: dep } = props;
  const running = RUNNING.includes(dep.status);
  const hasCandidate = dep.versions.some(v => v.role === 'candidate');
  const hasStandby = dep.versions.some(v => v.role === 'standby');
  const busy = model.busy[dep.name];
  const act = async (action: DeploymentAction) => {
    if (await confirmed(dep, action)) {
      await model.act(dep.name, action);
    }
  };
  const button = (action: DeploymentAction, enabled: boolean, title: string) => (
    <Button
      small
      minimal
      disabled={!enabled || !!busy}
      title={title}
      data-testid={`deployment-${action}`}
      onClick={() => void act(action)}
    >
      {busy === action ? `${LABELS[action]}…` : LABELS[action]}
    </Button>
  );
  const shadow = model.shadow[dep.name];
  const showRollout = dep.rollout && dep.rollout.kind !== 'shadow';
  return (
    <li
      className="jp-mlops-Deployment"
      data-testid={`deployment-${dep.name}`}
      data-status={dep.status}
    >
      <div className="jp-mlops-DeploymentHeader">
        <span className="jp-mlops-DeploymentName">{dep.name}</span>
        <span
          className={`jp-mlops-Badge ${statusClass(dep.status)}`}
          data-testid="deployment-status"
          title={dep.error ?? undefined}
        >
          {dep.status}
        </span>
        <span className="jp-mlops-Muted">
          {dep.target} · {dep.strategy.text}
        </span>
      </div>
      <div className="jp-mlops-DeploymentUrl">
        <code data-testid="deployment-url">{dep.url}</code>
        <span className="jp-mlops-Muted"> POST /invocations</span>
      </div>
      {dep.error && dep.status !== 'running' && (
        <div className="jp-mlops-Error">{dep.error}</div>
      )}
      <TrafficBar versions={dep.versions} />
      <VersionsTable versions={dep.versions} running={running} />
      {showRollout && dep.rollout && (
        <CanaryProgress rollout={dep.rollout} fetchedAt={model.fetchedAt} />
      )}
      {shadow && <ShadowView comparison={shadow} />}
      <div className="jp-mlops-DeploymentActions">
        {button('promote', running && hasCandidate, 'The candidate takes all traffic')}
        {button(
          'rollback',
          running && (hasCandidate || hasStandby),
          'Back to the previous version'
        )}
        {running
          ? button('stop', true, 'Stop the deployment and its versions')
          : button('start', dep.status !== 'starting', 'Start it again on its port')}
        {!running && button('remove', true, 'Delete the deployment')}
        <Button
          small
          minimal
          data-testid="deployment-predictions-toggle"
          onClick={() => void model.togglePredictions(dep.name)}
        >
          {model.open.has(dep.name) ? 'Hide predictions' : 'Recent predictions'}
        </Button>
      </div>
      {model.actionErrors[dep.name] && (
        <div className="jp-mlops-Error" data-testid="deployment-error">
          {model.actionErrors[dep.name]}
        </div>
      )}
      {model.open.has(dep.name) && (
        <PredictionsTable
          page={model.predictions[dep.name]}
          onMore={() => void model.morePredictions(dep.name)}
        />
      )}
    </li>
  );
}
