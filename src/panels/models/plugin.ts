/**
 * The Models panel plugin (placeholder until the panel lands).
 */

import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';

import { PLUGIN_PREFIX } from '../../tokens';

export const modelsPlugin: JupyterFrontEndPlugin<void> = {
  id: `${PLUGIN_PREFIX}:models`,
  description: 'The Models panel.',
  autoStart: true,
  activate: (_app: JupyterFrontEnd): void => undefined
};
