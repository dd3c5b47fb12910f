/**
 * The Drift panel (a main-area widget): pick a reference and a current
 * dataset version, run a check, read a sortable table of columns with their
 * scores, thresholds and verdicts, click a column for its plot, browse the
 * history of checks and export one as a standalone HTML page.
 */

import {
  Button,
  ReactWidget,
  refreshIcon,
  ToolbarButtonComponent,
  UseSignal
} from '@jupyterlab/ui-components';
import React from 'react';

import { IColumnDrift, IDriftCheck, P_VALUE_TESTS } from '../../api/drift';
import { DriftModel, LATEST, Side, SortKey } from './model';
import { PlotlyFigure } from './plot';

function fmt(value: number | null, digits = 3): string {
  if (value === null || value === undefined) {
    return '';
  }
  if (value !== 0 && (Math.abs(value) < 1e-3 || Math.abs(value) >= 1e5)) {
    return value.toExponential(2);
  }
  return value.toPrecision(digits).replace(/\.?0+$/, '');
}

function verdictWord(drifted: boolean | null): string {
  return drifted === null ? 'n/a' : drifted ? 'drift' : 'no drift';
}

function verdictClass(drifted: boolean | null): string {
  return drifted === null
    ? 'jp-mlops-mod-pending'
    : drifted
      ? 'jp-mlops-mod-fail'
      : 'jp-mlops-mod-ok';
}

function SidePicker(props: { model: DriftModel; side: Side }): JSX.Element {
  const m = props.model;
  const pick = m[props.side];
  const versions = m.versions[pick.dataset] ?? [];
  const label = props.side === 'reference' ? 'Reference' : 'Current';
  return (
    <fieldset className="jp-mlops-drift-side" data-testid={`drift-${props.side}`}>
      <legend>{label}</legend>
      <select
        className="jp-mlops-Input"
        aria-label={`${label} dataset`}
        data-testid={`drift-${props.side}-dataset`}
        value={pick.dataset}
        onChange={e => void m.pick(props.side, e.target.value)}
      >
        {m.datasets.length === 0 && <option value="">no datasets yet</option>}
        {m.datasets.map(name => (
          <option key={name} value={name}>
            {name}
          </option>
        ))}
      </select>
      <select
        className="jp-mlops-Input"
        aria-label={`${label} version`}
        data-testid={`drift-${props.side}-version`}
        value={pick.version}
        onChange={e => void m.pick(props.side, pick.dataset, e.target.value)}
      >
        <option value={LATEST}>latest</option>
        {versions.map(v => (
          <option key={v.version} value={v.version}>
            {v.short}
            {v.tags.length ? ` (${v.tags.join(', ')})` : ''}
            {v.rows !== null ? ` · ${v.rows} rows` : ''} ·{' '}
            {new Date(v.created).toLocaleString()}
          </option>
        ))}
      </select>
    </fieldset>
  );
}

const HEADERS: [SortKey | null, string][] = [
  ['name', 'column'],
  ['kind', 'kind'],
  ['test', 'test'],
  ['score', 'score'],
  ['threshold', 'threshold'],
  ['drifted', 'verdict'],
  [null, 'missing ref / cur'],
  [null, 'notes']
];

function ColumnRow(props: {
  column: IColumnDrift;
  selected: boolean;
  onClick: () => void;
}): JSX.Element {
  const c = props.column;
  const scoreName =
    c.test === null ? '' : P_VALUE_TESTS.includes(c.test) ? 'p' : c.test;
  const pct = (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(1)}%`);
  const notes = [
    c.approximate ? 'approximate (reference sketch)' : '',
    c.n_unseen ? `${c.n_unseen} unseen: ${c.unseen_categories.join(', ')}` : '',
    c.reason ?? ''
  ].filter(Boolean);
  return (
    <tr
      className={`jp-mlops-drift-row${props.selected ? ' jp-mod-selected' : ''}`}
      data-testid={`drift-row-${c.name}`}
      data-drifted={String(c.drifted)}
      onClick={props.onClick}
      title={c.summary ? 'Show the distributions' : (c.reason ?? '')}
    >
      <td className="jp-mlops-drift-name">{c.name}</td>
      <td>{c.kind}</td>
      <td>{c.test ?? ''}</td>
      <td className="jp-mlops-drift-num" title={scoreName}>
        {c.approximate ? '≈ ' : ''}
        {fmt(c.score)}
      </td>
      <td className="jp-mlops-drift-num">{fmt(c.threshold)}</td>
      <td>
        <span
          className={`jp-mlops-Badge ${verdictClass(c.drifted)}`}
          data-testid="drift-verdict"
        >
          {verdictWord(c.drifted)}
        </span>
      </td>
      <td className="jp-mlops-drift-num">
        {pct(c.nan_share_reference)} / {pct(c.nan_share_current)}
      </td>
      <td className="jp-mlops-Muted">{notes.join('; ')}</td>
    </tr>
  );
}

function ColumnsTable(props: { model: DriftModel }): JSX.Element {
  const m = props.model;
  return (
    <table className="jp-mlops-drift-table" data-testid="drift-table">
      <thead>
        <tr>
          {HEADERS.map(([key, label]) => (
            <th
              key={label}
              className={key ? 'jp-mlops-drift-sortable' : ''}
              onClick={key ? () => m.sortBy(key) : undefined}
              aria-sort={
                key && m.sortKey === key
                  ? m.sortAscending
                    ? 'ascending'
                    : 'descending'
                  : undefined
              }
            >
              {label}
              {key && m.sortKey === key ? (m.sortAscending ? ' ▲' : ' ▼') : ''}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {m.rows.map(c => (
          <ColumnRow
            key={c.name}
            column={c}
            selected={m.column === c.name}
            onClick={() => void m.selectColumn(c.name)}
          />
        ))}
      </tbody>
    </table>
  );
}

function HistoryItem(props: {
  check: IDriftCheck;
  active: boolean;
  onOpen: () => void;
}): JSX.Element {
  const c = props.check;
  return (
    <li
      className={`jp-mlops-drift-historyItem${props.active ? ' jp-mod-selected' : ''}`}
      data-testid={`drift-history-${c.id}`}
      onClick={props.onOpen}
    >
      <span className={`jp-mlops-Badge ${verdictClass(c.drifted)}`}>
        {c.drifted ? 'drift' : 'stable'}
      </span>
      <span className="jp-mlops-drift-historyRefs">
        {c.reference} → {c.current}
      </span>
      <span className="jp-mlops-Muted">
        {c.n_drifted}/{c.n_evaluated} drifted
        {c.drifted_columns.length ? ` (${c.drifted_columns.slice(0, 3).join(', ')})` : ''}
        {' · '}
        {new Date(c.created).toLocaleString()} · {c.origin}
      </span>
    </li>
  );
}

function Result(props: { model: DriftModel }): JSX.Element | null {
  const m = props.model;
  const check = m.check;
  if (!check) {
    return null;
  }
  return (
    <section className="jp-mlops-Section" data-testid="drift-result">
      <div className="jp-mlops-drift-headline">
        <span
          className={check.drifted ? 'jp-mlops-drift-alarm' : ''}
          data-testid="drift-headline"
        >
          {check.report.headline}
        </span>
        <span className="jp-mlops-Muted">
          {check.reference} → {check.current}
        </span>
        <a
          className="jp-mlops-drift-export"
          data-testid="drift-export"
          href={m.api.htmlUrl(check.id)}
          download={`drift-check-${check.id}.html`}
        >
          Export HTML
        </a>
      </div>
      <div className="jp-mlops-drift-body">
        <ColumnsTable model={m} />
        <div className="jp-mlops-drift-plotArea">
          <div className="jp-mlops-drift-plotTitle">
            {m.column ?? 'All columns: score vs threshold'}
            {m.column && (
              <Button small={true} minimal={true} onClick={() => void m.selectColumn(null)}>
                All columns
              </Button>
            )}
          </div>
          {m.figureError && <div className="jp-mlops-Error">{m.figureError}</div>}
          {m.figure ? (
            <PlotlyFigure figure={m.figure} testId="drift-plot" />
          ) : (
            !m.figureError && <div className="jp-mlops-Muted">Loading the plot…</div>
          )}
        </div>
      </div>
    </section>
  );
}

export function DriftView(props: { model: DriftModel }): JSX.Element {
  const m = props.model;
  return (
    <div className="jp-mlops-drift">
      <div className="jp-mlops-Header">
        <span className="jp-mlops-Title">Drift</span>
        <ToolbarButtonComponent
          icon={refreshIcon}
          tooltip="Reload datasets and history"
          onClick={() => void m.refresh()}
          enabled={!m.loading}
        />
      </div>
      <div className="jp-mlops-drift-controls">
        <SidePicker model={m} side="reference" />
        <SidePicker model={m} side="current" />
        <Button
          data-testid="drift-run"
          disabled={!m.canRun}
          onClick={() => void m.run()}
        >
          {m.running ? 'Running…' : 'Run check'}
        </Button>
      </div>
      {m.datasets.length === 0 && !m.loading && !m.error && (
        <div className="jp-mlops-Muted">
          No datasets yet: snapshot data with <code>%snapshot df name</code> or the
          Datasets panel, then compare two versions here.
        </div>
      )}
      {m.error && (
        <div className="jp-mlops-Error" data-testid="drift-error">
          {m.error}
        </div>
      )}
      <Result model={m} />
      <section className="jp-mlops-Section" data-testid="drift-history">
        <h3 className="jp-mlops-SectionTitle">History</h3>
        {m.history.length === 0 ? (
          <div className="jp-mlops-Muted">No checks yet.</div>
        ) : (
          <ul className="jp-mlops-List">
            {m.history.map(c => (
              <HistoryItem
                key={c.id}
                check={c}
                active={m.check?.id === c.id}
                onOpen={() => void m.open(c.id)}
              />
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}

/** The panel's content widget (wrapped in a MainAreaWidget by the plugin). */
export class DriftPanel extends ReactWidget {
  constructor(model: DriftModel) {
    super();
    this.model = model;
    this.addClass('jp-mlops-Panel');
    this.addClass('jp-mlops-DriftPanel');
  }

  readonly model: DriftModel;

  render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => <DriftView model={this.model} />}
      </UseSignal>
    );
  }
}
