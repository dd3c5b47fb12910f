/**
 * The Models panel plugin: the "Open Models" command (in the palette under
 * MLOps) opening one main-area widget with a Registry and a Deployments tab,
 * restored across reloads.
 *
 * Lineage nodes and version links open their objects through other plugins'
 * commands: a run with `mlops:open-experiments {runId}`, a notebook with
 * `docmanager:open {path}`, a dataset version with `mlops:open-datasets`
 * (which takes no arguments today: the panel opens, and the version's
 * reference is copied to the clipboard so it can be found at once).
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
import { LabIcon } from '@jupyterlab/ui-components';

import { DatasetsAPI } from '../../api/datasets';
import { RegistryAPI } from '../../api/registry';
import {
  DatasetsCommandIDs,
  ExperimentsCommandIDs,
  ModelsCommandIDs,
  PALETTE_CATEGORY
} from '../../commands';
import { IMLOpsClient, PLUGIN_PREFIX } from '../../tokens';
import { mainAreaOpener } from '../mainArea';
import { ModelsModel } from './model';
import { IModelsOpeners } from './registry';
import { ModelsPanel } from './view';

const modelsIcon = new LabIcon({
  name: 'jupyter-mlops:models',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16">' +
    '<path class="jp-icon3" fill="#616161" d="M12 2 3 7v10l9 5 9-5V7zm0 2.3L18.7 8 12 11.7 ' +
    '5.3 8zM5 9.7l6 3.3v6.6l-6-3.3zm8 9.9V13l6-3.3v6.6z"/></svg>'
});

export const modelsPlugin: JupyterFrontEndPlugin<void> = {
  id: `${PLUGIN_PREFIX}:models`,
  description:
    'The Models panel: registered models, aliases with history, the champion/challenger ' +
    'gate, promotion, lineage, and deployments.',
  autoStart: true,
  requires: [IMLOpsClient],
  optional: [ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    client: IMLOpsClient,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ): void => {
    const model = new ModelsModel(new RegistryAPI(client), new DatasetsAPI(client));
    const openers: IModelsOpeners = {
      openRun: runId => void app.commands.execute(ExperimentsCommandIDs.open, { runId }),
      openNotebook: path => void app.commands.execute('docmanager:open', { path }),
      openDataset: (name, version) => {
        const ref = `${name}@${version}`;
        Clipboard.copyToSystem(ref);
        void app.commands.execute(DatasetsCommandIDs.open, { name, version });
        Notification.info(`Opened the Datasets panel; ${name}@${version.slice(0, 12)} copied.`, {
          autoClose: 4000
        });
      },
      copy: (text, what) => {
        Clipboard.copyToSystem(text);
        Notification.info(`Copied the ${what}: ${text}`, { autoClose: 3000 });
      }
    };

    const open = mainAreaOpener({
      app,
      restorer,
      command: ModelsCommandIDs.open,
      namespace: 'mlops-models',
      id: 'jp-mlops-models',
      label: 'Models',
      icon: modelsIcon,
      content: () => new ModelsPanel(model, client, openers)
    });
    app.commands.addCommand(ModelsCommandIDs.open, {
      label: 'Open Models',
      caption: 'Registered models: versions, aliases, the champion/challenger gate, lineage',
      icon: modelsIcon,
      execute: async args => {
        open();
        // other panels (the timeline, lineage) open a model {model | name} or a
        // deployment {deployment}, which lives on the Deployments tab
        const tab = args['deployment'] ? 'deployments' : args['tab'];
        if (tab === 'registry' || tab === 'deployments') {
          model.setTab(tab);
        }
        await model.refresh();
        const name = args['model'] ?? args['name'];
        if (typeof name === 'string' && name) {
          await model.select(name);
        }
      }
    });
    palette?.addItem({ command: ModelsCommandIDs.open, category: PALETTE_CATEGORY });
  }
};
