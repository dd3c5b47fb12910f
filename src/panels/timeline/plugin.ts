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
import { ICommandPalette, MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { LabIcon } from '@jupyterlab/ui-components';

import { MonitorAPI } from '../../api/monitor';
import { PALETTE_CATEGORY, TimelineCommandIDs } from '../../commands';
import { IMLOpsClient, PLUGIN_PREFIX } from '../../tokens';
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
    const tracker = new WidgetTracker<MainAreaWidget<TimelinePanel>>({
      namespace: 'mlops-timeline'
    });
    let widget: MainAreaWidget<TimelinePanel> | null = null;
    app.commands.addCommand(TimelineCommandIDs.open, {
      label: 'Open Timeline',
      caption: 'Drift alerts, monitors and everything that happened in the workspace',
      icon: timelineIcon,
      execute: async () => {
        if (!widget || widget.isDisposed) {
          widget = new MainAreaWidget({ content: new TimelinePanel(model, app.commands) });
          widget.id = 'jp-mlops-timeline';
          widget.title.label = 'Timeline';
          widget.title.icon = timelineIcon;
          widget.title.closable = true;
          void tracker.add(widget);
        }
        if (!widget.isAttached) {
          app.shell.add(widget, 'main');
        }
        app.shell.activateById(widget.id);
        await model.refresh();
      }
    });
    palette?.addItem({ command: TimelineCommandIDs.open, category: PALETTE_CATEGORY });
    if (restorer) {
      void restorer.restore(tracker, {
        command: TimelineCommandIDs.open,
        name: () => 'timeline'
      });
    }
  }
};
