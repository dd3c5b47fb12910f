/**
 * The Timeline panel plugin: the "Open Timeline" command (in the palette
 * under MLOps) opening one main-area widget, restored across reloads. The
 * panel shows the active drift alerts, the monitors and everything that
 * happened in the workspace, and polls while it is visible.
 */

import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { LabIcon } from '@jupyterlab/ui-components';

import { MonitorAPI } from '../../api/monitor';
import { PALETTE_CATEGORY, TimelineCommandIDs } from '../../commands';
import { IMLOpsClient, PLUGIN_PREFIX } from '../../tokens';
import { mainAreaOpener } from '../mainArea';
import { TimelineModel } from './model';
import { TimelinePanel } from './view';

const timelineIcon = new LabIcon({
  name: 'jupyter-mlops:timeline',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16">' +
    '<path class="jp-icon3" fill="#616161" d="M5 3h2v18H5zm4 2h10v3H9zm0 5.5h7v3H9zM9 16h11v3H9z"/>' +
    '</svg>'
});

export const timelinePlugin: JupyterFrontEndPlugin<void> = {
  id: `${PLUGIN_PREFIX}:timeline`,
  description: 'The Timeline panel: drift alerts, monitors and the workspace activity.',
  autoStart: true,
  requires: [IMLOpsClient],
  optional: [ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    client: IMLOpsClient,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ): void => {
    const model = new TimelineModel(new MonitorAPI(client));
    const open = mainAreaOpener({
      app,
      restorer,
      command: TimelineCommandIDs.open,
      namespace: 'mlops-timeline',
      id: 'jp-mlops-timeline',
      label: 'Timeline',
      icon: timelineIcon,
      content: () => new TimelinePanel(model, app.commands)
    });
    app.commands.addCommand(TimelineCommandIDs.open, {
      label: 'Open Timeline',
      caption: 'Drift alerts, monitors and everything that happened in the workspace',
      icon: timelineIcon,
      execute: async () => {
        open();
        await model.refresh();
      }
    });
    palette?.addItem({ command: TimelineCommandIDs.open, category: PALETTE_CATEGORY });
  }
};
