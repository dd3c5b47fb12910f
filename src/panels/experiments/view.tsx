/**
 * The Experiments panel: experiments on the left, the runs table, and below
 * it the run detail or the comparison of the selected runs.
 */

import {
  closeIcon,
  ReactWidget,
  ToolbarButtonComponent,
  UseSignal
} from '@jupyterlab/ui-components';
import React from 'react';

import { CompareView } from './compare';
import { OpenPath, RunDetailView } from './detail';
import { ExperimentsModel } from './model';
import { RunsTable } from './runsTable';

function ExperimentList(props: { model: ExperimentsModel }): JSX.Element {
  const { model } = props;
  return (
    <nav className="jp-mlops-exp-list" data-testid="mlops-exp-list">
      <h3 className="jp-mlops-SectionTitle">Experiments</h3>
      {model.experiments.length === 0 && !model.loading && (
        <div className="jp-mlops-Muted">
          No experiments yet. Log a run from a notebook with{' '}
          <code>%%track</code> or <code>jupyter_mlops.start_run()</code>.
        </div>
      )}
      <ul className="jp-mlops-List">
        {model.experiments.map(e => (
          <li key={e.id}>
            <button
              className={
                'jp-mlops-exp-listItem' +
                (e.id === model.experimentId ? ' jp-mod-selected' : '')
              }
              data-testid="mlops-exp-experiment"
              data-experiment-id={e.id}
              aria-pressed={e.id === model.experimentId}
              title={`id ${e.id} · ${e.artifact_location}`}
              onClick={() => void model.selectExperiment(e.id)}
            >
              {e.name}
            </button>
          </li>
        ))}
      </ul>
    </nav>
  );
}

function Pane(props: { model: ExperimentsModel; openPath: OpenPath }): JSX.Element | null {
  const { model } = props;
  if (model.pane === 'none') {
    return null;
  }
  let body: React.ReactNode = <div className="jp-mlops-Muted">Loading…</div>;
  if (model.paneError) {
    body = (
      <div className="jp-mlops-Error" data-testid="mlops-exp-pane-error">
        {model.paneError}
      </div>
    );
  }
  if (model.pane === 'detail' && model.detail) {
    body = <RunDetailView detail={model.detail} openPath={props.openPath} />;
  } else if (model.pane === 'compare' && model.comparison) {
    body = (
      <>
        {model.paneError && body}
        <CompareView comparison={model.comparison} histories={model.histories} />
      </>
    );
  }
  return (
    <div className="jp-mlops-exp-pane">
      <div className="jp-mlops-exp-paneClose">
        <ToolbarButtonComponent
          icon={closeIcon}
          tooltip="Close"
          onClick={() => model.closePane()}
        />
      </div>
      {body}
    </div>
  );
}

export function ExperimentsView(props: {
  model: ExperimentsModel;
  openPath: OpenPath;
}): JSX.Element {
  const { model } = props;
  return (
    <div className="jp-mlops-exp">
      <ExperimentList model={model} />
      <div className="jp-mlops-exp-main">
        <h2 className="jp-mlops-exp-title" data-testid="mlops-exp-title">
          {model.experiment ? model.experiment.name : 'Experiments'}
        </h2>
        {model.experiment ? (
          <RunsTable model={model} />
        ) : (
          model.error && <div className="jp-mlops-Error">{model.error}</div>
        )}
        <Pane model={model} openPath={props.openPath} />
      </div>
    </div>
  );
}

/** The widget placed in the main area (wrapped in a MainAreaWidget by the plugin). */
export class ExperimentsPanel extends ReactWidget {
  constructor(model: ExperimentsModel, openPath: OpenPath) {
    super();
    this.model = model;
    this._openPath = openPath;
    this.addClass('jp-mlops-Panel');
    this.addClass('jp-mlops-ExperimentsPanel');
  }

  readonly model: ExperimentsModel;

  render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => <ExperimentsView model={this.model} openPath={this._openPath} />}
      </UseSignal>
    );
  }

  private _openPath: OpenPath;
}
