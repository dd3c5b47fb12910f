/**
 * One main-area widget per panel, shared by every panel plugin: each panel is
 * opened by a command, lives once in the main area, and comes back after a
 * reload. The plugins differ only in what they do with the command's arguments,
 * so the widget's lifecycle is written once here.
 */

import { ILayoutRestorer, JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

export interface IMainAreaOptions<T extends Widget> {
  app: JupyterFrontEnd;
  /** The tracker's namespace, also the key of the layout restorer's state. */
  namespace: string;
  /** The widget's DOM id: the browser tests find the panel by it. */
  id: string;
  label: string;
  icon: LabIcon;
  /** Builds the panel each time the widget is (re)created after a close. */
  content: () => T;
  /** Runs once per new widget, e.g. to tie the model's life to it. */
  created?: (widget: MainAreaWidget<T>) => void;
  /** With `command`, restores the widget on reload by running that command. */
  restorer?: ILayoutRestorer | null;
  command?: string;
}

/**
 * The opener of one panel. Calling it creates the widget if there is none (or
 * it was closed), attaches it to the main area, activates it and returns it.
 * The restorer (if any) is registered at once; it runs `command` only after
 * the application has started, so the command may be added after this call.
 */
export function mainAreaOpener<T extends Widget>(
  options: IMainAreaOptions<T>
): () => MainAreaWidget<T> {
  const { app, restorer, command } = options;
  const tracker = new WidgetTracker<MainAreaWidget<T>>({ namespace: options.namespace });
  let widget: MainAreaWidget<T> | null = null;

  const open = (): MainAreaWidget<T> => {
    if (!widget || widget.isDisposed) {
      widget = new MainAreaWidget({ content: options.content() });
      widget.id = options.id;
      widget.title.label = options.label;
      widget.title.icon = options.icon;
      widget.title.closable = true;
      options.created?.(widget);
      void tracker.add(widget);
    }
    if (!widget.isAttached) {
      app.shell.add(widget, 'main');
    }
    app.shell.activateById(widget.id);
    return widget;
  };

  if (restorer && command) {
    // the name is the namespace without its prefix, as each plugin named it before
    const name = options.namespace.replace(/^mlops-/, '');
    void restorer.restore(tracker, { command, name: () => name });
  }
  return open;
}
