/**
 * The Pipelines panel (a main-area widget): the pipelines of the workspace on
 * the left; for the selected one its DAG, a Run form generated from its
 * parameters, the run history with live step and cell progress, and the
 * schedule editor with the next five fire times.
 */

import {
  Button,
  notebookIcon,
  ReactWidget,
  refreshIcon,
  ToolbarButtonComponent,
  UseSignal
} from '@jupyterlab/ui-components';
import React from 'react';

import { DONE_STATUSES, IPipelineSummary } from '../../api/pipelines';
import { PipelineDag } from './dag';
import { pipelinesIcon } from './icon';
import { PipelinesModel } from './model';
import { RunForm, RunHistory, StepsTable } from './runsView';
import { ScheduleEditor } from './schedulesView';

/** Opens `<file>` of a run's folder (the executed notebook of a step). */
export type OpenRunFile = (runId: string, file: string) => void;

export function statusClass(status: string): string {
  if (status === 'succeeded') {
    return 'jp-mlops-mod-ok';
  }
  if (status === 'failed' || status === 'cancelled') {
    return 'jp-mlops-mod-fail';
  }
  return 'jp-mlops-mod-pending';
}

function PipelineItem(props: {
  item: IPipelineSummary;
  selected: boolean;
  onSelect: () => void;
}): JSX.Element {
  const p = props.item;
  return (
    <li
      className={`jp-mlops-pipelines-item${props.selected ? ' jp-mod-selected' : ''}`}
      data-testid={`pipeline-item-${p.path}`}
      onClick={props.onSelect}
      title={p.error ? `${p.error.file}:${p.error.line}: ${p.error.reason}` : p.path}
    >
      <span className="jp-mlops-pipelines-itemName">
        {p.kind === 'spec' ? (
          <pipelinesIcon.react tag="span" className="jp-mlops-pipelines-itemIcon" />
        ) : (
          <notebookIcon.react tag="span" className="jp-mlops-pipelines-itemIcon" />
        )}
        {p.name}
      </span>
      <span className="jp-mlops-Muted">{p.path}</span>
      {p.error && <span className="jp-mlops-Badge jp-mlops-mod-fail">invalid</span>}
      {p.last_run && (
        <span className={`jp-mlops-Badge ${statusClass(p.last_run.status)}`}>
          {p.last_run.status}
        </span>
      )}
    </li>
  );
}

function PipelineList(props: { model: PipelinesModel }): JSX.Element {
  const m = props.model;
  const [filter, setFilter] = React.useState('');
  const shown = m.pipelines.filter(p =>
    p.path.toLowerCase().includes(filter.toLowerCase())
  );
  const specs = shown.filter(p => p.kind === 'spec');
  const notebooks = shown.filter(p => p.kind === 'notebook');
  const item = (p: IPipelineSummary) => (
    <PipelineItem
      key={p.path}
      item={p}
      selected={m.selected === p.path}
      onSelect={() => void m.select(p.path)}
    />
  );
  return (
    <nav className="jp-mlops-pipelines-list" data-testid="pipelines-list">
      <input
        className="jp-mlops-Input"
        placeholder="Filter"
        aria-label="Filter pipelines"
        value={filter}
        onChange={e => setFilter(e.target.value)}
      />
      <h3 className="jp-mlops-SectionTitle">Pipelines</h3>
      {specs.length === 0 ? (
        <div className="jp-mlops-Muted">
          No <code>*.pipeline.yaml</code> files yet.
        </div>
      ) : (
        <ul className="jp-mlops-List">{specs.map(item)}</ul>
      )}
      <h3 className="jp-mlops-SectionTitle">Notebooks</h3>
      <ul className="jp-mlops-List">{notebooks.map(item)}</ul>
    </nav>
  );
}

function Detail(props: { model: PipelinesModel; openFile: OpenRunFile }): JSX.Element {
  const m = props.model;
  if (!m.selected) {
    return (
      <div className="jp-mlops-Muted">
        Select a pipeline or a notebook: a notebook runs as a one-step pipeline, its
        <code> parameters</code> cell giving the form.
      </div>
    );
  }
  const d = m.detail;
  const running = m.runs.some(r => !DONE_STATUSES.includes(r.status));
  return (
    <section className="jp-mlops-pipelines-detail" data-testid="pipeline-detail">
      <div className="jp-mlops-pipelines-title">
        <span className="jp-mlops-pipelines-name" data-testid="pipeline-name">
          {d?.name ?? m.selected}
        </span>
        <span className="jp-mlops-Muted">{m.selected}</span>
        {running && <span className="jp-mlops-Badge jp-mlops-mod-pending">running</span>}
      </div>
      {d?.description && <div className="jp-mlops-Muted">{d.description}</div>}
      {m.detailError && (
        <div className="jp-mlops-Error" data-testid="pipeline-spec-error">
          {m.detailError}
        </div>
      )}
      {d && (
        <>
          <div className="jp-mlops-pipelines-dagBox">
            <PipelineDag
              graph={d.graph}
              steps={m.run && m.run.pipeline === d.path ? m.run.steps : undefined}
            />
          </div>
          <div className="jp-mlops-pipelines-tabs" role="tablist">
            <button
              role="tab"
              aria-selected={m.tab === 'run'}
              className={m.tab === 'run' ? 'jp-mod-selected' : ''}
              data-testid="pipelines-tab-run"
              onClick={() => m.setTab('run')}
            >
              Run
            </button>
            <button
              role="tab"
              aria-selected={m.tab === 'schedule'}
              className={m.tab === 'schedule' ? 'jp-mod-selected' : ''}
              data-testid="pipelines-tab-schedule"
              onClick={() => m.setTab('schedule')}
            >
              Schedule ({m.schedules.length})
            </button>
          </div>
          {m.tab === 'run' ? (
            <>
              <RunForm model={m} />
              {m.run && <StepsTable model={m} run={m.run} openFile={props.openFile} />}
              <RunHistory model={m} />
            </>
          ) : (
            <ScheduleEditor model={m} />
          )}
        </>
      )}
    </section>
  );
}

export function PipelinesView(props: {
  model: PipelinesModel;
  openFile: OpenRunFile;
}): JSX.Element {
  const m = props.model;
  return (
    <div className="jp-mlops-pipelines">
      <div className="jp-mlops-Header">
        <span className="jp-mlops-Title">Pipelines</span>
        <ToolbarButtonComponent
          icon={refreshIcon}
          tooltip="Reload pipelines, runs and schedules"
          onClick={() => void m.refresh()}
          enabled={!m.loading}
        />
      </div>
      {m.error && (
        <div className="jp-mlops-Error" data-testid="pipelines-error">
          {m.error}
          <Button small={true} minimal={true} onClick={() => m.clearError()}>
            ✕
          </Button>
        </div>
      )}
      <div className="jp-mlops-pipelines-body">
        <PipelineList model={m} />
        <Detail model={m} openFile={props.openFile} />
      </div>
    </div>
  );
}

/** The panel's content widget (wrapped in a MainAreaWidget by the plugin). */
export class PipelinesPanel extends ReactWidget {
  constructor(model: PipelinesModel, openFile: OpenRunFile) {
    super();
    this.model = model;
    this.openFile = openFile;
    this.addClass('jp-mlops-Panel');
    this.addClass('jp-mlops-PipelinesPanel');
  }

  readonly model: PipelinesModel;
  readonly openFile: OpenRunFile;

  render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => <PipelinesView model={this.model} openFile={this.openFile} />}
      </UseSignal>
    );
  }
}
