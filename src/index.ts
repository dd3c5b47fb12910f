/**
 * jupyter-mlops frontend: the client plugin (IMLOpsClient) and the MLOps
 * sidebar. Capabilities add their own plugins and panels next to these.
 */

import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, showDialog, Dialog } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { MLOpsClient } from './api';
import { CommandIDs, PALETTE_CATEGORY } from './commands';
import { mlopsIcon } from './icons';
import { OverviewPanel } from './panels/overview';
import { experimentsPlugin } from './panels/experiments/plugin';
import { datasetsPlugin } from './panels/datasets/plugin';
import { driftPlugin } from './panels/drift/plugin';
import { pipelinesPlugin } from './panels/pipelines/plugin';
import { modelsPlugin } from './panels/models/plugin';
import { timelinePlugin } from './panels/timeline/plugin';
import { OverviewModel } from './panels/overviewModel';
import { IMLOpsClient, PLUGIN_PREFIX } from './tokens';

const clientPlugin: JupyterFrontEndPlugin<IMLOpsClient> = {
  id: `${PLUGIN_PREFIX}:client`,
  description: 'The typed REST client of the jupyter-mlops server extension.',
  autoStart: true,
  provides: IMLOpsClient,
  activate: (app: JupyterFrontEnd): IMLOpsClient =>
    new MLOpsClient({ serverSettings: app.serviceManager.serverSettings })
};

const panelPlugin: JupyterFrontEndPlugin<void> = {
  id: `${PLUGIN_PREFIX}:panel`,
  description: 'The MLOps sidebar: workspace status, health and activity.',
  autoStart: true,
  requires: [IMLOpsClient],
  optional: [ICommandPalette, ILayoutRestorer, ISettingRegistry, ILabShell],
  activate: (
    app: JupyterFrontEnd,
    client: IMLOpsClient,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    settings: ISettingRegistry | null
  ): void => {
    const model = new OverviewModel(client);
    const panel = new OverviewPanel(model);
    panel.title.icon = mlopsIcon;
    panel.title.caption = 'MLOps';
    app.shell.add(panel, 'left', { rank: 600 });
    restorer?.add(panel, panel.id);

    model.extensionMissing.connect((_, error) => {
      void showDialog({
        title: 'jupyter-mlops server extension missing',
        body: error.message,
        buttons: [Dialog.okButton()]
      });
    });

    let timer: number | undefined;
    const schedule = (seconds: number) => {
      window.clearInterval(timer);
      if (seconds > 0) {
        timer = window.setInterval(() => {
          if (panel.isVisible && !model.serverExtensionMissing) {
            void model.refresh();
          }
        }, seconds * 1000);
      }
    };
    if (settings) {
      settings
        .load(panelPlugin.id)
        .then(s => {
          const apply = () =>
            schedule(s.get('refreshInterval').composite as number);
          apply();
          s.changed.connect(apply);
        })
        .catch(reason => console.warn('jupyter-mlops settings:', reason));
    } else {
      schedule(30);
    }

    app.commands.addCommand(CommandIDs.openPanel, {
      label: 'Open the MLOps Panel',
      icon: mlopsIcon,
      execute: () => app.shell.activateById(panel.id)
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh MLOps Workspace Status',
      execute: () => model.refresh()
    });
    app.commands.addCommand(CommandIDs.showInfo, {
      label: 'Show MLOps Workspace Info',
      execute: async () => {
        await model.refresh();
        const body = model.config
          ? JSON.stringify(model.config.workspace, null, 2)
          : (model.error?.message ?? 'No information');
        await showDialog({
          title: 'MLOps workspace',
          body,
          buttons: [Dialog.okButton()]
        });
      }
    });
    if (palette) {
      for (const command of Object.values(CommandIDs)) {
        palette.addItem({ command, category: PALETTE_CATEGORY });
      }
    }
    void model.refresh();
  }
};

export { API_PREFIX, MLOpsClient } from './api/client';
export * from './api/errors';
export * from './api/types';
export * from './tokens';
export default [
  clientPlugin,
  panelPlugin,
  experimentsPlugin,
  datasetsPlugin,
  driftPlugin,
  pipelinesPlugin,
  modelsPlugin,
  timelinePlugin
];
