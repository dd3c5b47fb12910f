/**
 * The Pipelines panel plugin (placeholder until the panel lands).
 */

import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';

import { PLUGIN_PREFIX } from '../../tokens';

export const pipelinesPlugin: JupyterFrontEndPlugin<void> = {
  id: `${PLUGIN_PREFIX}:pipelines`,
  description: 'The Pipelines panel.',
  autoStart: true,
  activate: (_app: JupyterFrontEnd): void => undefined
};
