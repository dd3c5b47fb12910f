/**
 * The Pipelines panel plugin: the "Open Pipelines" command (palette category
 * MLOps) opening one main-area widget, restored across reloads; the
 * read-only `MLOpsRuns` drive through which executed notebooks open; and
 * "Run as Pipeline / Schedule…" on notebooks (a notebook toolbar button and
 * file-browser / notebook context-menu entries, declared in
 * `schema/pipelines.json`), which opens the panel with that notebook selected.
 */

import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';

import { PipelinesAPI } from '../../api/pipelines';
import { PALETTE_CATEGORY, PipelinesCommandIDs } from '../../commands';
import { IMLOpsClient, PLUGIN_PREFIX } from '../../tokens';
import { mainAreaOpener } from '../mainArea';
import { RUNS_DRIVE, RunsDrive } from './drive';
import { pipelinesIcon } from './icon';
import { PipelinesModel } from './model';
import { PipelinesPanel } from './view';

/** Where the user asked from: the file browser's selection, or the current notebook. */
function notebookPath(app: JupyterFrontEnd, args: Record<string, unknown>): string | null {
  if (typeof args.path === 'string' && args.path) {
    return args.path;
  }
  const fromBrowser = app.contextMenuHitTest(node =>
    node.classList.contains('jp-DirListing-item')
  );
  if (fromBrowser) {
    for (const widget of app.shell.widgets('left')) {
      const browser = widget as any;
      if (typeof browser.selectedItems === 'function') {
        for (const item of browser.selectedItems()) {
          if (item.path?.endsWith('.ipynb')) {
            return item.path;
          }
        }
      }
    }
  }
  const current = app.shell.currentWidget as any;
  const path: unknown = current?.context?.path;
  return typeof path === 'string' && path.endsWith('.ipynb') ? path : null;
}

export const pipelinesPlugin: JupyterFrontEndPlugin<void> = {
  id: `${PLUGIN_PREFIX}:pipelines`,
  description:
    'The Pipelines panel: pipelines and notebooks, their DAG, runs with live progress, ' +
    'schedules, and executed notebooks opened read-only.',
  autoStart: true,
  requires: [IMLOpsClient],
  optional: [ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    client: IMLOpsClient,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ): void => {
    const api = new PipelinesAPI(client);
    app.serviceManager.contents.addDrive(new RunsDrive(api));

    const openFile = async (runId: string, file: string): Promise<void> => {
      const widget: any = await app.commands.execute('docmanager:open', {
        path: `${RUNS_DRIVE}:${runId}/${file}`,
        factory: file.endsWith('.ipynb') ? 'Notebook' : 'Editor'
      });
      const session = widget?.context?.sessionContext;
      if (session && session.kernelPreference) {
        // a record of what ran: no kernel is started for it
        session.kernelPreference = {
          ...session.kernelPreference,
          shouldStart: false,
          canStart: false
        };
      }
      widget?.context?.ready?.then(() => {
        if (widget.context.model) {
          widget.context.model.readOnly = true;
        }
      });
    };

    const model = new PipelinesModel(api);
    const openPanel = mainAreaOpener({
      app,
      restorer,
      command: PipelinesCommandIDs.open,
      namespace: 'mlops-pipelines',
      id: 'jp-mlops-pipelines',
      label: 'Pipelines',
      icon: pipelinesIcon,
      content: () => new PipelinesPanel(model, openFile),
      created: widget => widget.disposed.connect(() => model.dispose())
    });

    const open = async (select?: string | null, tab?: 'run' | 'schedule') => {
      openPanel();
      await model.refresh();
      if (select) {
        await model.select(select, tab);
      }
    };

    app.commands.addCommand(PipelinesCommandIDs.open, {
      label: 'Open Pipelines',
      caption: 'Pipelines and notebooks: run with parameters, follow progress, schedule',
      icon: pipelinesIcon,
      execute: async args => {
        // other panels (the timeline) open one run: {runId}; the file browser a {path}
        const runId = typeof args.runId === 'string' ? args.runId : '';
        if (!runId) {
          return open((args.path as string) || null);
        }
        const run = await api.getRun(runId);
        await open(run.pipeline);
        await model.showRun(runId);
      }
    });
    app.commands.addCommand(PipelinesCommandIDs.runNotebook, {
      label: 'Run as Pipeline / Schedule…',
      caption: 'Open this notebook in the Pipelines panel to run it with parameters or schedule it',
      icon: pipelinesIcon,
      isEnabled: () => true,
      execute: args => open(notebookPath(app, args), 'run')
    });
    app.commands.addCommand(PipelinesCommandIDs.scheduleNotebook, {
      label: 'Schedule Notebook…',
      caption: 'Open this notebook in the Pipelines panel on its schedule editor',
      icon: pipelinesIcon,
      execute: args => open(notebookPath(app, args), 'schedule')
    });
    palette?.addItem({ command: PipelinesCommandIDs.open, category: PALETTE_CATEGORY });
  }
};

export { pipelinesIcon };
