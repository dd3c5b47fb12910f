/**
 * The Deployments section of the Models panel: every deployment (or those of
 * one registered model) with its URL, live traffic split, health figures,
 * rollout progress, shadow comparison and recent predictions, and buttons
 * to promote, roll back, stop or start it. It polls the server while it is
 * on screen (an IntersectionObserver: a hidden tab or a collapsed panel
 * does not poll) and the browser tab is visible.
 */

import { UseSignal } from '@jupyterlab/ui-components';
import * as React from 'react';

import { DeploymentsAPI } from '../../../api/deployments';
import { IMLOpsClient } from '../../../tokens';
import { DeploymentCard } from './card';
import { DeploymentsModel } from './model';

export interface IDeploymentsSectionProps {
  client: IMLOpsClient;
  /** Narrow the section to the deployments serving this registered model. */
  model?: string;
}

/** Tell the model when `element` is on screen and the browser tab is visible. */
function useVisibility(
  element: React.RefObject<HTMLElement>,
  model: DeploymentsModel
): void {
  React.useEffect(() => {
    const node = element.current;
    if (!node) {
      return;
    }
    let intersecting = true;
    const update = () =>
      model.setVisible(intersecting && document.visibilityState !== 'hidden');
    let observer: IntersectionObserver | null = null;
    if (typeof IntersectionObserver !== 'undefined') {
      observer = new IntersectionObserver(entries => {
        intersecting = entries.some(e => e.isIntersecting);
        update();
      });
      observer.observe(node);
    }
    document.addEventListener('visibilitychange', update);
    update();
    return () => {
      observer?.disconnect();
      document.removeEventListener('visibilitychange', update);
      model.setVisible(false);
    };
  }, [element, model]);
}

export function DeploymentsSection(props: IDeploymentsSectionProps): JSX.Element {
  const model = React.useMemo(
    () => new DeploymentsModel(new DeploymentsAPI(props.client), props.model),
    [props.client, props.model]
  );
  React.useEffect(() => () => model.dispose(), [model]);
  const root = React.useRef<HTMLDivElement>(null);
  useVisibility(root, model);
  return (
    <div className="jp-mlops-deployments" ref={root} data-testid="deployments-section">
      <UseSignal signal={model.changed}>
        {() => (
          <>
            {model.error && (
              <div className="jp-mlops-Error" data-testid="deployments-error">
                {model.error}
              </div>
            )}
            {!model.loaded && <div className="jp-mlops-Muted">Loading deployments…</div>}
            {model.loaded && model.deployments.length === 0 && !model.error && (
              <div className="jp-mlops-Muted" data-testid="deployments-empty">
                No deployment{props.model ? ` of ${props.model}` : ''} yet. Deploy from a
                cell with <code>%deploy {props.model ?? 'name'}@champion</code> or{' '}
                <code>jupyter_mlops.deploy(…)</code>.
              </div>
            )}
            <ul className="jp-mlops-DeploymentList">
              {model.deployments.map(dep => (
                <DeploymentCard key={dep.name} model={model} deployment={dep} />
              ))}
            </ul>
          </>
        )}
      </UseSignal>
    </div>
  );
}
