/**
 * The Datasets panel plugin: the "Open Datasets" command (in the palette
 * under MLOps), one main-area widget restored across
 * reloads, and the IDatasetReferences token for the drift panel.
 */

import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Clipboard,
  ICommandPalette,
  Notification
} from '@jupyterlab/apputils';
import { tableRowsIcon } from '@jupyterlab/ui-components';

import { DatasetsAPI } from '../../api/datasets';
import { DatasetsCommandIDs, PALETTE_CATEGORY } from '../../commands';
import { IMLOpsClient, PLUGIN_PREFIX } from '../../tokens';
import { mainAreaOpener } from '../mainArea';
import { DatasetsModel, IDatasetReference } from './model';
import { DatasetsPanel } from './panel';
import { IDatasetReferences } from './tokens';

export const datasetsPlugin: JupyterFrontEndPlugin<IDatasetReferences> = {
  id: `${PLUGIN_PREFIX}:datasets`,
  description: 'The Datasets panel: versions, profiles, diffs and validation of snapshots.',
  autoStart: true,
  requires: [IMLOpsClient],
  optional: [ICommandPalette, ILayoutRestorer],
  provides: IDatasetReferences,
  activate: (
    app: JupyterFrontEnd,
    client: IMLOpsClient,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ): IDatasetReferences => {
    const model = new DatasetsModel(new DatasetsAPI(client));
    let last: IDatasetReference | null = null;
    model.driftReferenceChosen.connect((_, reference) => {
      last = reference;
    });

    const useAsDriftReference = (version: string) => {
      const reference = model.useAsDriftReference(version);
      if (reference) {
        Clipboard.copyToSystem(reference.ref);
        Notification.success(`Copied ${reference.ref} as the drift reference.`, {
          autoClose: 4000
        });
      }
    };

    const open = mainAreaOpener({
      app,
      restorer,
      command: DatasetsCommandIDs.open,
      namespace: 'mlops-datasets',
      id: 'jp-mlops-datasets',
      label: 'Datasets',
      icon: tableRowsIcon,
      content: () => new DatasetsPanel(model, useAsDriftReference)
    });
    app.commands.addCommand(DatasetsCommandIDs.open, {
      label: 'Open Datasets',
      caption: 'Dataset snapshots: versions, profiles, diffs and validation',
      icon: tableRowsIcon,
      execute: async args => {
        open();
        await model.refresh();
        // other panels (lineage, timeline) open a given version: {name, version}
        const name = typeof args?.name === 'string' ? args.name : '';
        const version = typeof args?.version === 'string' ? args.version : '';
        if (name) {
          await model.selectDataset(name);
          if (version) {
            await model.selectVersion(version);
          }
        }
      }
    });
    palette?.addItem({ command: DatasetsCommandIDs.open, category: PALETTE_CATEGORY });
    return {
      chosen: model.driftReferenceChosen,
      get last() {
        return last;
      }
    };
  }
};
