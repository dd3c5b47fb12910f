/**
 * The Experiments panel plugin: the "Open Experiments" command, the main-area
 * widget, and the user's columns and page size kept in the settings registry
 * (`schema/experiments.json`).
 */

import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { ExperimentsAPI } from '../../api/experiments';
import { ExperimentsCommandIDs, PALETTE_CATEGORY } from '../../commands';
import { mlopsIcon } from '../../icons';
import { IMLOpsClient, PLUGIN_PREFIX } from '../../tokens';
import { mainAreaOpener } from '../mainArea';
import { ExperimentsModel } from './model';
import { ExperimentsPanel } from './view';

const PLUGIN_ID = `${PLUGIN_PREFIX}:experiments`;

/** Links rendered by `%mlops runs` (jupyter_mlops/tracking_magics.py) open the run here. */
const RUN_LINK = 'a.jp-mlops-run-link[data-mlops-run-id]';

export const experimentsPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'The Experiments panel: runs, their notebooks and commits, comparisons.',
  autoStart: true,
  requires: [IMLOpsClient],
  optional: [ICommandPalette, ISettingRegistry, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    client: IMLOpsClient,
    palette: ICommandPalette | null,
    registry: ISettingRegistry | null,
    restorer: ILayoutRestorer | null
  ): void => {
    const model = new ExperimentsModel(new ExperimentsAPI(client));
    const openPath = (path: string) =>
      app.commands.execute('docmanager:open', { path });
    const open = mainAreaOpener({
      app,
      restorer,
      command: ExperimentsCommandIDs.open,
      namespace: 'mlops-experiments',
      id: 'jp-mlops-experiments',
      label: 'Experiments',
      icon: mlopsIcon,
      content: () => new ExperimentsPanel(model, openPath),
      created: () => void model.refreshExperiments()
    });

    if (registry) {
      registry
        .load(PLUGIN_ID)
        .then(settings => {
          const apply = () =>
            model.applyPreferences(
              (settings.get('columns').composite as string[]) ?? [],
              (settings.get('pageSize').composite as number) ?? 50
            );
          apply();
          settings.changed.connect(apply);
          model.preferencesChanged.connect(() => {
            // one write for both keys: two `set` calls would each echo back through
            // `changed` with the other key still old
            const user = {
              ...settings.user,
              columns: model.columns,
              pageSize: model.pageSize
            };
            settings
              .save(JSON.stringify(user, null, 2))
              .catch(reason => console.warn('jupyter-mlops settings:', reason));
          });
        })
        .catch(reason => console.warn('jupyter-mlops settings:', reason));
    }

    app.commands.addCommand(ExperimentsCommandIDs.open, {
      label: 'Open Experiments',
      caption: 'Runs logged from notebooks: filter, compare, open their notebooks',
      icon: mlopsIcon,
      execute: async args => {
        open();
        const runId = args['runId'];
        if (typeof runId === 'string' && runId) {
          await model.showRun(runId);
        }
      }
    });
    palette?.addItem({
      command: ExperimentsCommandIDs.open,
      category: PALETTE_CATEGORY
    });

    document.addEventListener('click', event => {
      const link = (event.target as Element | null)?.closest?.(RUN_LINK);
      if (link) {
        event.preventDefault();
        void app.commands.execute(ExperimentsCommandIDs.open, {
          runId: link.getAttribute('data-mlops-run-id') ?? ''
        });
      }
    });
  }
};

export default experimentsPlugin;
