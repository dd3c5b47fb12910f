/**
 * The Datasets panel (a main-area widget): datasets on the left, the chosen
 * dataset's version timeline in the middle (tags, size, who, the runs that
 * used each version, ticks to pick two versions for a diff), and the chosen
 * version's schema/profile, a diff or a validation report on the right.
 */

import {
  Button,
  ReactWidget,
  refreshIcon,
  ToolbarButtonComponent,
  UseSignal
} from '@jupyterlab/ui-components';
import React from 'react';

import { IDatasetSummary, IDatasetVersion } from '../../api/datasets';
import { DiffView, ValidationView, VersionDetailView } from './detail';
import { formatBytes, formatCount, formatDate } from './format';
import { DatasetsModel } from './model';

function DatasetRow(props: {
  dataset: IDatasetSummary;
  selected: boolean;
  onSelect: () => void;
}): JSX.Element {
  const d = props.dataset;
  return (
    <li
      className={`jp-mlops-DatasetItem${props.selected ? ' jp-mlops-mod-selected' : ''}`}
      data-testid={`mlops-dataset-${d.name}`}
      title={d.description ?? d.name}
    >
      <button className="jp-mlops-LinkButton" onClick={props.onSelect}>
        <span className="jp-mlops-DatasetName">{d.name}</span>
        <span className="jp-mlops-Muted">
          {d.versions} version{d.versions === 1 ? '' : 's'}
          {d.latest_rows !== null ? ` · ${formatCount(d.latest_rows)} rows` : ''}
          {d.latest_bytes !== null ? ` · ${formatBytes(d.latest_bytes)}` : ''}
        </span>
      </button>
    </li>
  );
}

function VersionRow(props: {
  version: IDatasetVersion;
  model: DatasetsModel;
  onDriftReference: (version: string) => void;
}): JSX.Element {
  const v = props.version;
  const m = props.model;
  const selected = m.detail?.version === v.version && m.pane === 'version';
  return (
    <li
      className={`jp-mlops-VersionItem${selected ? ' jp-mlops-mod-selected' : ''}`}
      data-testid={`mlops-dataset-version-${v.short}`}
    >
      <div className="jp-mlops-VersionHead">
        <input
          type="checkbox"
          aria-label={`Compare ${v.short}`}
          checked={m.compare.includes(v.version)}
          onChange={() => m.toggleCompare(v.version)}
        />
        <button
          className="jp-mlops-LinkButton jp-mlops-Code"
          onClick={() => void m.selectVersion(v.version)}
          title={v.version}
        >
          {v.short}
        </button>
        {v.tags.map(t => (
          <span key={t} className="jp-mlops-Chip" data-testid="mlops-dataset-tag">
            {t}
          </span>
        ))}
      </div>
      <div className="jp-mlops-Muted">
        {formatDate(v.snapshotted ?? v.created)}
        {v.actor ? ` · ${v.actor}` : ''} · {v.kind}
        {v.rows !== null ? ` · ${formatCount(v.rows)} rows` : ''} · {formatBytes(v.bytes)}
      </div>
      {v.description && <div className="jp-mlops-Muted">{v.description}</div>}
      {v.runs && v.runs.length > 0 && (
        <div className="jp-mlops-Muted" data-testid="mlops-dataset-version-runs">
          used by:{' '}
          {v.runs.map(r => (
            <span key={r.id} className="jp-mlops-Chip" title={`run ${r.id} (${r.status})`}>
              {r.name || r.id.slice(0, 8)}
            </span>
          ))}
        </div>
      )}
      <div className="jp-mlops-VersionActions">
        <Button small={true} minimal={true} onClick={() => void m.validate(v.version)}>
          Validate
        </Button>
        <Button
          small={true}
          minimal={true}
          title={`Copy ${v.name}@${v.version} and offer it to the drift panel`}
          onClick={() => props.onDriftReference(v.version)}
        >
          Use as drift reference
        </Button>
      </div>
    </li>
  );
}

function RightPane(props: { model: DatasetsModel }): JSX.Element | null {
  const m = props.model;
  const version = m.validation?.version ?? m.detail?.version;
  return (
    <div className="jp-mlops-DatasetsPane">
      {m.pane !== 'version' && m.pane !== 'none' && (
        <ToolbarButtonComponent
          label="Back to the version"
          tooltip="Show the selected version's schema and profile"
          onClick={() => m.closePane()}
        />
      )}
      {m.paneError && (
        <div className="jp-mlops-Error" data-testid="mlops-datasets-pane-error">
          {m.paneError}
          {m.pane === 'validation' && m.needsExpectations && version && (
            <div>
              <Button
                small={true}
                onClick={() => void m.adoptSuggestedExpectations(version)}
              >
                Store suggested expectations and validate
              </Button>
            </div>
          )}
        </div>
      )}
      {m.pane === 'version' && m.detail && (
        <VersionDetailView
          detail={m.detail}
          busy={m.loading}
          onComputeProfile={() => void m.computeProfile()}
        />
      )}
      {m.pane === 'diff' && m.diff && <DiffView diff={m.diff} />}
      {m.pane === 'validation' && m.validation && <ValidationView report={m.validation} />}
    </div>
  );
}

export function DatasetsView(props: {
  model: DatasetsModel;
  onDriftReference: (version: string) => void;
}): JSX.Element {
  const m = props.model;
  return (
    <div className="jp-mlops-Datasets" data-testid="mlops-datasets-panel">
      <div className="jp-mlops-Header">
        <span className="jp-mlops-Title">Datasets</span>
        {m.loading && <span className="jp-mlops-Muted">loading…</span>}
        <ToolbarButtonComponent
          icon={refreshIcon}
          tooltip="Refresh datasets"
          onClick={() => void m.refresh()}
          enabled={!m.loading}
        />
      </div>
      {m.error && (
        <div className="jp-mlops-Error" data-testid="mlops-datasets-error">
          {m.error}
        </div>
      )}
      <div className="jp-mlops-DatasetsBody">
        <ul className="jp-mlops-List jp-mlops-DatasetsList" data-testid="mlops-datasets-list">
          {m.datasets.length === 0 && !m.loading && (
            <li className="jp-mlops-Muted">
              No datasets yet: snapshot one from a notebook with
              jupyter_mlops.snapshot(df, "name").
            </li>
          )}
          {m.datasets.map(d => (
            <DatasetRow
              key={d.name}
              dataset={d}
              selected={d.name === m.dataset}
              onSelect={() => void m.selectDataset(d.name)}
            />
          ))}
        </ul>
        <div className="jp-mlops-Timeline" data-testid="mlops-datasets-versions">
          {m.dataset && (
            <div className="jp-mlops-TimelineHead">
              <Button
                small={true}
                disabled={m.compare.length !== 2 || m.loading}
                onClick={() => void m.runDiff()}
                data-testid="mlops-datasets-compare"
                title="Tick two versions to compare them"
              >
                Diff {m.compare.length}/2
              </Button>
            </div>
          )}
          {m.runsNote && <div className="jp-mlops-Muted">{m.runsNote}</div>}
          <ul className="jp-mlops-List">
            {m.versions.map(v => (
              <VersionRow
                key={v.version}
                version={v}
                model={m}
                onDriftReference={props.onDriftReference}
              />
            ))}
          </ul>
        </div>
        <RightPane model={m} />
      </div>
    </div>
  );
}

/** The widget inside the MainAreaWidget. */
export class DatasetsPanel extends ReactWidget {
  constructor(model: DatasetsModel, onDriftReference: (version: string) => void) {
    super();
    this.model = model;
    this._onDriftReference = onDriftReference;
    this.addClass('jp-mlops-Panel');
    this.addClass('jp-mlops-DatasetsPanel');
  }

  readonly model: DatasetsModel;

  render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => (
          <DatasetsView model={this.model} onDriftReference={this._onDriftReference} />
        )}
      </UseSignal>
    );
  }

  private _onDriftReference: (version: string) => void;
}
