/**
 * The Timeline panel plugin (placeholder until the panel lands).
 */

import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';

import { PLUGIN_PREFIX } from '../../tokens';

export const timelinePlugin: JupyterFrontEndPlugin<void> = {
  id: `${PLUGIN_PREFIX}:timeline`,
  description: 'The Timeline panel.',
  autoStart: true,
  activate: (_app: JupyterFrontEnd): void => undefined
};
