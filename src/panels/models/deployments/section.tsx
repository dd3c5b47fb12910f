/**
 * The Deployments section of the Models panel (placeholder until it lands).
 */

import * as React from 'react';

import { IMLOpsClient } from '../../../tokens';

export interface IDeploymentsSectionProps {
  client: IMLOpsClient;
  /** Narrow the section to the deployments serving this registered model. */
  model?: string;
}

export function DeploymentsSection(_props: IDeploymentsSectionProps): JSX.Element {
  return <div className="jp-mlops-deployments" />;
}
