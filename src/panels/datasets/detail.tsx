/**
 * The right-hand pane of the Datasets panel: a version's schema and profile
 * (with inline SVG histograms from the stored bins), the diff of two
 * versions, and a validation report.
 */

import { Button } from '@jupyterlab/ui-components';
import React from 'react';

import {
  IColumnDelta,
  IColumnProfile,
  IDatasetDiff,
  IDatasetVersionDetail,
  IDelta,
  IValidationReport
} from '../../api/datasets';
import {
  formatBytes,
  formatCount,
  formatDelta,
  formatLabel,
  formatNumber,
  formatShare
} from './format';

const MAX_BARS = 12;

/** Bars of equal width, scaled to the tallest; each bar's tooltip names its bin. */
export function Sparkbars(props: {
  counts: number[];
  labels: string[];
  width?: number;
  height?: number;
}): JSX.Element {
  const width = props.width ?? 120;
  const height = props.height ?? 28;
  const n = props.counts.length;
  const top = Math.max(1, ...props.counts);
  const step = width / Math.max(1, n);
  const gap = step > 3 ? 1 : 0;
  return (
    <svg
      className="jp-mlops-Sparkbars"
      data-testid="mlops-dataset-histogram"
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={`distribution over ${n} bins`}
    >
      {props.counts.map((count, i) => {
        const h = count > 0 ? Math.max(1, (count / top) * (height - 1)) : 0;
        return (
          <rect
            key={i}
            x={i * step}
            y={height - h}
            width={Math.max(1, step - gap)}
            height={h}
          >
            <title>{`${props.labels[i]}: ${count.toLocaleString()}`}</title>
          </rect>
        );
      })}
    </svg>
  );
}

/** The histogram of a numeric column, else the top categories of a categorical one. */
function Distribution(props: { column: IColumnProfile }): JSX.Element | null {
  const c = props.column;
  const hist = c.histogram;
  if (hist && hist.counts.length) {
    const edges = hist.edges;
    const labels = hist.counts.map((_, i) =>
      hist.counts.length === 1
        ? formatNumber(edges[0])
        : `[${formatNumber(edges[i])}, ${formatNumber(edges[i + 1])}${i === hist.counts.length - 1 ? ']' : ')'}`
    );
    return <Sparkbars counts={hist.counts} labels={labels} />;
  }
  const top = c.top ?? [];
  if (top.length) {
    const shown = top.slice(0, MAX_BARS);
    return (
      <Sparkbars
        counts={shown.map(t => t.count)}
        labels={shown.map(t => formatLabel(t.value))}
      />
    );
  }
  return null;
}

function Stats(props: { column: IColumnProfile }): JSX.Element {
  const c = props.column;
  if (c.kind === 'datetime') {
    return (
      <span>
        {c.min_iso ?? '–'} … {c.max_iso ?? '–'}
      </span>
    );
  }
  if (c.kind === 'numeric') {
    return (
      <span>
        {formatNumber(c.min)} … {formatNumber(c.max)} · mean {formatNumber(c.mean)} · std{' '}
        {formatNumber(c.std)}
      </span>
    );
  }
  const top = (c.top ?? []).slice(0, 3);
  return (
    <span>
      {top.map(t => `${formatLabel(t.value)} (${formatCount(t.count)})`).join(', ') || '–'}
    </span>
  );
}

export function VersionDetailView(props: {
  detail: IDatasetVersionDetail;
  onComputeProfile: () => void;
  busy: boolean;
}): JSX.Element {
  const d = props.detail;
  const profiled = new Map((d.profile?.columns ?? []).map(c => [c.name, c]));
  const schema = d.schema ?? [];
  return (
    <div className="jp-mlops-DatasetDetail" data-testid="mlops-dataset-detail">
      <h3 className="jp-mlops-PaneTitle">
        {d.name}@<code>{d.short}</code>
      </h3>
      <dl className="jp-mlops-Paths">
        <dt>Kind</dt>
        <dd>{d.kind}</dd>
        <dt>Rows</dt>
        <dd data-testid="mlops-dataset-detail-rows">{formatCount(d.rows)}</dd>
        <dt>Size</dt>
        <dd>{formatBytes(d.bytes)}</dd>
        {d.files !== null && (
          <>
            <dt>Files</dt>
            <dd>{formatCount(d.files)}</dd>
          </>
        )}
        {d.source && (
          <>
            <dt>Source</dt>
            <dd>{d.source}</dd>
          </>
        )}
        {d.description && (
          <>
            <dt>Description</dt>
            <dd>{d.description}</dd>
          </>
        )}
        <dt>Hash</dt>
        <dd title={d.hash_algo}>{d.version}</dd>
      </dl>
      {schema.length > 0 && (
        <table className="jp-mlops-Table" data-testid="mlops-dataset-schema">
          <thead>
            <tr>
              <th>Column</th>
              <th>Type</th>
              <th>Nulls</th>
              <th>Distinct</th>
              <th>Summary</th>
              <th>Distribution</th>
            </tr>
          </thead>
          <tbody>
            {schema.map(field => {
              const c = profiled.get(field.name);
              return (
                <tr key={field.name} data-testid={`mlops-dataset-column-${field.name}`}>
                  <td className="jp-mlops-Code">{field.name}</td>
                  <td title={c ? `kind: ${c.kind}` : undefined}>{field.dtype}</td>
                  <td>{c ? formatShare(c.null_share) : '–'}</td>
                  <td>{c ? formatCount(c.distinct) : '–'}</td>
                  <td className="jp-mlops-Muted">{c ? <Stats column={c} /> : '–'}</td>
                  <td>{c ? <Distribution column={c} /> : null}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {!d.profile && d.kind === 'file' && (
        <div className="jp-mlops-Muted">
          This file was snapshotted without a profile.{' '}
          <Button small={true} onClick={props.onComputeProfile} disabled={props.busy}>
            Compute profile
          </Button>
        </div>
      )}
      {!d.profile && d.kind === 'folder' && (
        <div className="jp-mlops-Muted">A folder version has no profile.</div>
      )}
    </div>
  );
}

function Change(props: { delta?: IDelta<number> | null; share?: boolean }): JSX.Element {
  const d = props.delta;
  if (!d) {
    return <span>–</span>;
  }
  const fmt = props.share ? formatShare : formatNumber;
  if (d.a === d.b) {
    return <span>{fmt(d.a)}</span>;
  }
  return (
    <span className="jp-mlops-Changed">
      {fmt(d.a)} → {fmt(d.b)}
    </span>
  );
}

function ColumnDeltaRow(props: { column: IColumnDelta }): JSX.Element {
  const c = props.column;
  const shift = c.mean_shift_std;
  return (
    <tr
      data-testid={`mlops-dataset-diff-column-${c.name}`}
      className={c.changed ? 'jp-mlops-mod-changed' : undefined}
    >
      <td className="jp-mlops-Code">{c.name}</td>
      <td>{c.changed ? 'changed' : 'same'}</td>
      <td>
        <Change delta={c.null_share} share={true} />
      </td>
      <td>
        <Change delta={c.distinct} />
      </td>
      <td>
        <Change delta={c.mean} />
        {shift !== null && shift !== undefined && shift !== 0 && (
          <span className="jp-mlops-Muted"> ({formatDelta(shift)} σ)</span>
        )}
      </td>
      <td>
        {c.category_tvd !== null && c.category_tvd !== undefined
          ? formatShare(c.category_tvd)
          : '–'}
        {c.new_categories?.length ? (
          <span className="jp-mlops-Muted">
            {' '}
            new: {c.new_categories.map(formatLabel).join(', ')}
          </span>
        ) : null}
      </td>
    </tr>
  );
}

function NameList(props: { label: string; names: string[]; testId: string }): JSX.Element | null {
  if (!props.names.length) {
    return null;
  }
  return (
    <div data-testid={props.testId}>
      <span className="jp-mlops-DiffLabel">{props.label}:</span>{' '}
      {props.names.map(n => (
        <code key={n} className="jp-mlops-Chip">
          {n}
        </code>
      ))}
    </div>
  );
}

export function DiffView(props: { diff: IDatasetDiff }): JSX.Element {
  const d = props.diff;
  return (
    <div className="jp-mlops-DatasetDiff" data-testid="mlops-dataset-diff">
      <h3 className="jp-mlops-PaneTitle">
        Diff <code>{d.a.slice(0, 12)}</code> → <code>{d.b.slice(0, 12)}</code>
      </h3>
      <div className="jp-mlops-Muted" data-testid="mlops-dataset-diff-summary">
        {d.summary}
      </div>
      {d.identical ? (
        <div>The two versions are identical.</div>
      ) : (
        <>
          <dl className="jp-mlops-Paths">
            <dt>Rows</dt>
            <dd data-testid="mlops-dataset-diff-rows">
              {formatCount(d.rows.a)} → {formatCount(d.rows.b)}
              {d.rows.delta !== null && d.rows.delta !== undefined
                ? ` (${formatDelta(d.rows.delta)})`
                : ''}
            </dd>
            <dt>Size</dt>
            <dd>
              {formatBytes(d.bytes.a)} → {formatBytes(d.bytes.b)}
            </dd>
          </dl>
          <NameList
            label="Added columns"
            names={d.added_columns.map(c => `${c.name}: ${c.dtype}`)}
            testId="mlops-dataset-diff-added"
          />
          <NameList
            label="Removed columns"
            names={d.removed_columns.map(c => `${c.name}: ${c.dtype}`)}
            testId="mlops-dataset-diff-removed"
          />
          <NameList
            label="Retyped columns"
            names={d.retyped_columns.map(c => `${c.name}: ${c.from} → ${c.to}`)}
            testId="mlops-dataset-diff-retyped"
          />
          <NameList label="Added files" names={d.added_files} testId="mlops-dataset-diff-files-added" />
          <NameList label="Removed files" names={d.removed_files} testId="mlops-dataset-diff-files-removed" />
          <NameList label="Changed files" names={d.changed_files} testId="mlops-dataset-diff-files-changed" />
          {d.columns.length > 0 && (
            <table className="jp-mlops-Table" data-testid="mlops-dataset-diff-columns">
              <thead>
                <tr>
                  <th>Column</th>
                  <th>Profile</th>
                  <th>Nulls</th>
                  <th>Distinct</th>
                  <th>Mean</th>
                  <th>Category shift</th>
                </tr>
              </thead>
              <tbody>
                {d.columns.map(c => (
                  <ColumnDeltaRow key={c.name} column={c} />
                ))}
              </tbody>
            </table>
          )}
          {!d.profiles_compared && (
            <div className="jp-mlops-Muted">
              Per-column deltas need a profile of both versions.
            </div>
          )}
        </>
      )}
    </div>
  );
}

export function ValidationView(props: { report: IValidationReport }): JSX.Element {
  const r = props.report;
  return (
    <div className="jp-mlops-DatasetValidation" data-testid="mlops-dataset-validation">
      <h3 className="jp-mlops-PaneTitle">
        Validation of <code>{r.version.slice(0, 12)}</code>
      </h3>
      <div
        className={`jp-mlops-Badge ${r.passed ? 'jp-mlops-mod-ok' : 'jp-mlops-mod-fail'}`}
        data-testid="mlops-dataset-validation-status"
      >
        {r.passed ? 'passed' : `${r.failures.length} failed`}
      </div>{' '}
      <span className="jp-mlops-Muted">
        {formatCount(r.rows)} rows, {r.columns_checked} columns checked
      </span>
      {r.failures.length > 0 && (
        <table className="jp-mlops-Table">
          <thead>
            <tr>
              <th>Column</th>
              <th>Check</th>
              <th>Count</th>
              <th>Message</th>
              <th>Examples</th>
            </tr>
          </thead>
          <tbody>
            {r.failures.map((f, i) => (
              <tr key={i}>
                <td className="jp-mlops-Code">{f.column ?? '(table)'}</td>
                <td>{f.check}</td>
                <td>{formatCount(f.count)}</td>
                <td>{f.message}</td>
                <td className="jp-mlops-Code">{f.examples.map(formatLabel).join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
