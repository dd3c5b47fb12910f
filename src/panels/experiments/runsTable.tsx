/**
 * The runs table: a filter box (MLflow syntax, applied by the server), the
 * column chooser, sortable headers (server-side order_by), checkboxes for
 * comparing, and next/previous paging with the server's page tokens.
 */

import {
  Button,
  caretDownIcon,
  caretUpIcon,
  refreshIcon,
  ToolbarButtonComponent
} from '@jupyterlab/ui-components';
import React, { useEffect, useState } from 'react';

import { IRunSummary } from '../../api/experiments';
import {
  formatDuration,
  formatNumber,
  formatTime,
  shortCommit
} from './format';
import {
  ColumnId,
  ColumnKind,
  ExperimentsModel,
  orderKey,
  splitColumn
} from './model';

interface IFixedColumn {
  id: string;
  label: string;
  /** MLflow order expression; undefined: the store cannot sort by it. */
  sortKey?: string;
  value: (run: IRunSummary) => string;
  title?: (run: IRunSummary) => string;
}

const FIXED_COLUMNS: IFixedColumn[] = [
  {
    id: 'status',
    label: 'Status',
    sortKey: 'attributes.status',
    value: r => r.status
  },
  {
    id: 'started',
    label: 'Started',
    sortKey: 'attributes.start_time',
    value: r => formatTime(r.start_time)
  },
  { id: 'duration', label: 'Duration', value: r => formatDuration(r.duration_ms) },
  {
    id: 'notebook',
    label: 'Notebook',
    sortKey: 'tags.`mlops.notebook`',
    value: r => r.notebook ?? '',
    title: r => r.output_notebook ? `executed: ${r.output_notebook}` : r.notebook ?? ''
  },
  {
    id: 'commit',
    label: 'Commit',
    sortKey: 'tags.`mlflow.source.git.commit`',
    value: shortCommit,
    title: r =>
      r.git_commit ? r.git_commit + (r.git_dirty ? ' (uncommitted changes)' : '') : ''
  }
];

function SortableHeader(props: {
  model: ExperimentsModel;
  label: string;
  sortKey?: string;
  testId: string;
}): JSX.Element {
  const { model, sortKey } = props;
  const active = sortKey !== undefined && model.sort.key === sortKey;
  const Icon = model.sort.descending ? caretDownIcon : caretUpIcon;
  return (
    <th
      data-testid={props.testId}
      className={sortKey ? 'jp-mlops-exp-sortable' : undefined}
      aria-sort={
        active ? (model.sort.descending ? 'descending' : 'ascending') : undefined
      }
      title={sortKey ? `Sort by ${sortKey}` : 'The store cannot sort by this'}
      onClick={sortKey ? () => void model.sortBy(sortKey) : undefined}
    >
      {props.label}
      {active && <Icon.react tag="span" className="jp-mlops-exp-sortIcon" />}
    </th>
  );
}

function ColumnChooser(props: { model: ExperimentsModel }): JSX.Element {
  const { model } = props;
  const [open, setOpen] = useState(false);
  const available = model.availableColumns;
  const shown = new Set(model.shownColumns);
  const groups: [ColumnKind, string][] = [
    ['metrics', 'Metrics'],
    ['params', 'Params'],
    ['tags', 'Tags']
  ];
  return (
    <div className="jp-mlops-exp-chooser">
      <Button
        small={true}
        minimal={true}
        data-testid="mlops-exp-columns-button"
        onClick={() => setOpen(!open)}
        aria-expanded={open}
      >
        Columns ▾
      </Button>
      {open && (
        <div className="jp-mlops-exp-chooserMenu" data-testid="mlops-exp-columns">
          {groups.map(([kind, label]) => (
            <fieldset key={kind}>
              <legend>{label}</legend>
              {available[kind].length === 0 && (
                <span className="jp-mlops-Muted">none on this page</span>
              )}
              {available[kind].map(key => {
                const id: ColumnId = `${kind}.${key}`;
                return (
                  <label key={id}>
                    <input
                      type="checkbox"
                      checked={shown.has(id)}
                      onChange={() => model.toggleColumn(id)}
                    />
                    {key}
                  </label>
                );
              })}
            </fieldset>
          ))}
        </div>
      )}
    </div>
  );
}

function FilterBox(props: { model: ExperimentsModel }): JSX.Element {
  const { model } = props;
  const [text, setText] = useState(model.filter);
  useEffect(() => setText(model.filter), [model.filter]);
  return (
    <form
      className="jp-mlops-exp-filter"
      onSubmit={event => {
        event.preventDefault();
        void model.applyFilter(text);
      }}
    >
      <input
        className="jp-mlops-Input"
        aria-label="Filter runs"
        data-testid="mlops-exp-filter"
        placeholder="Filter, e.g. metrics.acc > 0.9 and params.model = 'rf'"
        value={text}
        onChange={e => setText(e.target.value)}
      />
      <Button type="submit" small={true}>
        Filter
      </Button>
    </form>
  );
}

function cellOf(run: IRunSummary, column: ColumnId): string {
  const [kind, key] = splitColumn(column);
  if (kind === 'metrics') {
    return formatNumber(run.metrics[key]);
  }
  return (kind === 'params' ? run.params[key] : run.tags[key]) ?? '';
}

export function RunsTable(props: { model: ExperimentsModel }): JSX.Element {
  const { model } = props;
  const runs = model.page?.runs ?? [];
  const columns = model.shownColumns;
  const allChecked = runs.length > 0 && runs.every(r => model.selected.has(r.id));
  return (
    <div className="jp-mlops-exp-runs" data-testid="mlops-exp-runs">
      <div className="jp-mlops-exp-toolbar">
        <FilterBox model={model} />
        <ColumnChooser model={model} />
        <label className="jp-mlops-exp-pageSize">
          Per page
          <select
            aria-label="Runs per page"
            value={model.pageSize}
            onChange={e => void model.setPageSize(Number(e.target.value))}
          >
            {[10, 25, 50, 100, 250].map(n => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
            {![10, 25, 50, 100, 250].includes(model.pageSize) && (
              <option value={model.pageSize}>{model.pageSize}</option>
            )}
          </select>
        </label>
        <Button
          small={true}
          data-testid="mlops-exp-compare-button"
          disabled={model.selected.size < 2}
          title="Select two or more runs to compare them"
          onClick={() => void model.compareSelected()}
        >
          Compare ({model.selected.size})
        </Button>
        {model.selected.size > 0 && (
          <Button small={true} minimal={true} onClick={() => model.clearSelection()}>
            Clear
          </Button>
        )}
        <ToolbarButtonComponent
          icon={refreshIcon}
          tooltip="Reload experiments and runs"
          onClick={() => void model.refreshExperiments()}
          enabled={!model.loading}
        />
      </div>
      {model.error && (
        <div className="jp-mlops-Error" data-testid="mlops-exp-error">
          {model.error}
        </div>
      )}
      <div className="jp-mlops-exp-tableScroll">
        <table className="jp-mlops-exp-table">
          <thead>
            <tr>
              <th className="jp-mlops-exp-check">
                <input
                  type="checkbox"
                  aria-label="Select all runs on this page"
                  checked={allChecked}
                  onChange={() =>
                    runs
                      .filter(r => model.selected.has(r.id) === allChecked)
                      .forEach(r => model.toggleSelected(r))
                  }
                />
              </th>
              <SortableHeader
                model={model}
                label="Run"
                sortKey="attributes.run_name"
                testId="mlops-exp-header-run"
              />
              {FIXED_COLUMNS.map(c => (
                <SortableHeader
                  key={c.id}
                  model={model}
                  label={c.label}
                  sortKey={c.sortKey}
                  testId={`mlops-exp-header-${c.id}`}
                />
              ))}
              {columns.map(c => (
                <SortableHeader
                  key={c}
                  model={model}
                  label={c}
                  sortKey={orderKey(c)}
                  testId={`mlops-exp-header-${c}`}
                />
              ))}
            </tr>
          </thead>
          <tbody>
            {runs.map(run => (
              <tr
                key={run.id}
                data-testid="mlops-exp-run-row"
                data-run-id={run.id}
                className={
                  model.detail?.run.id === run.id && model.pane === 'detail'
                    ? 'jp-mlops-exp-current'
                    : undefined
                }
              >
                <td className="jp-mlops-exp-check">
                  <input
                    type="checkbox"
                    aria-label={`Select run ${run.name || run.id}`}
                    data-testid="mlops-exp-select"
                    checked={model.selected.has(run.id)}
                    onChange={() => model.toggleSelected(run)}
                  />
                </td>
                <td>
                  <button
                    className="jp-mlops-exp-runLink"
                    data-testid="mlops-exp-run-link"
                    title={run.id}
                    onClick={() => void model.openRun(run.id)}
                  >
                    {run.name || run.id.slice(0, 8)}
                  </button>
                </td>
                {FIXED_COLUMNS.map(c => (
                  <td
                    key={c.id}
                    data-testid={`mlops-exp-cell-${c.id}`}
                    title={c.title?.(run)}
                  >
                    {c.value(run)}
                  </td>
                ))}
                {columns.map(c => (
                  <td
                    key={c}
                    className={c.startsWith('metrics.') ? 'jp-mlops-exp-num' : undefined}
                  >
                    {cellOf(run, c)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
        {!model.loading && model.page && runs.length === 0 && (
          <div className="jp-mlops-Muted jp-mlops-exp-empty">
            {model.filter ? 'No runs match the filter.' : 'No runs yet.'}
          </div>
        )}
      </div>
      <div className="jp-mlops-exp-pager">
        <Button
          small={true}
          minimal={true}
          data-testid="mlops-exp-prev"
          disabled={!model.hasPrevious || model.loading}
          onClick={() => void model.previousPage()}
        >
          ◀ Previous
        </Button>
        <span data-testid="mlops-exp-page">
          Page {model.pageIndex + 1}
          {model.loading ? ' · loading…' : ''}
        </span>
        <Button
          small={true}
          minimal={true}
          data-testid="mlops-exp-next"
          disabled={!model.hasNext || model.loading}
          onClick={() => void model.nextPage()}
        >
          Next ▶
        </Button>
      </div>
    </div>
  );
}
