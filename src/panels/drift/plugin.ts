/**
 * The Drift panel plugin: the "Open Drift" command (in the palette under
 * MLOps) opening one main-area widget, restored across reloads. When the
 * Datasets panel is there, a version it marks "use as drift reference"
 * becomes the panel's reference.
 */

import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { LabIcon } from '@jupyterlab/ui-components';

import { DriftAPI } from '../../api/drift';
import { DriftCommandIDs, PALETTE_CATEGORY } from '../../commands';
import { IMLOpsClient, PLUGIN_PREFIX } from '../../tokens';
import { IDatasetReferences } from '../datasets/tokens';
import { mainAreaOpener } from '../mainArea';
import { DriftModel } from './model';
import { DriftPanel } from './view';

const driftIcon = new LabIcon({
  name: 'jupyter-mlops:drift',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16">' +
    '<path class="jp-icon3" fill="#616161" d="M3 17h3v3H3zm5-5h3v8H8zm5 3h3v5h-3zm5-9h3v14h-3z' +
    'M3 9.5l5-4 5 3 6-5 1.2 1.5-7 5.8-5-3-4 3.2z"/></svg>'
});

export const driftPlugin: JupyterFrontEndPlugin<void> = {
  id: `${PLUGIN_PREFIX}:drift`,
  description: 'The Drift panel: compare dataset versions, with plots and a history of checks.',
  autoStart: true,
  requires: [IMLOpsClient],
  optional: [ICommandPalette, ILayoutRestorer, IDatasetReferences],
  activate: (
    app: JupyterFrontEnd,
    client: IMLOpsClient,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    references: IDatasetReferences | null
  ): void => {
    const model = new DriftModel(new DriftAPI(client));
    references?.chosen.connect((_, reference) => {
      void model.pick('reference', reference.name, reference.version);
    });

    const open = mainAreaOpener({
      app,
      restorer,
      command: DriftCommandIDs.open,
      namespace: 'mlops-drift',
      id: 'jp-mlops-drift',
      label: 'Drift',
      icon: driftIcon,
      content: () => new DriftPanel(model)
    });
    app.commands.addCommand(DriftCommandIDs.open, {
      label: 'Open Drift',
      caption: 'Compare two dataset versions column by column, with plots',
      icon: driftIcon,
      execute: async args => {
        open();
        await model.refresh();
        // the timeline opens one check: {checkId}
        const checkId = Number(args?.checkId ?? NaN);
        if (Number.isInteger(checkId) && checkId > 0) {
          await model.open(checkId);
          return;
        }
        const last = references?.last;
        if (last && !model.check) {
          await model.pick('reference', last.name, last.version);
        }
      }
    });
    palette?.addItem({ command: DriftCommandIDs.open, category: PALETTE_CATEGORY });
  }
};
