/**
 * The Registry tab's tables: the models list, the versions table (aliases as
 * badges, metrics, datasets, source notebook, run) and the alias history
 * timeline.
 */

import { Button } from '@jupyterlab/ui-components';
import React from 'react';

import { IAliasMove, IModelVersion } from '../../api/registry';
import { ModelsModel } from './model';

/** How the panel opens what a version or a lineage node points at. */
export interface IModelsOpeners {
  openRun(runId: string): void;
  openNotebook(path: string): void;
  openDataset(name: string, version: string): void;
  copy(text: string, what: string): void;
}

export function fmt(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined) {
    return '—';
  }
  if (value !== 0 && (Math.abs(value) < 1e-3 || Math.abs(value) >= 1e5)) {
    return value.toExponential(2);
  }
  return value.toFixed(digits).replace(/\.?0+$/, '') || '0';
}

export function when(ts: string | null): string {
  return ts ? new Date(ts).toLocaleString() : '';
}

export function AliasBadge(props: { alias: string; protectedAlias: boolean }): JSX.Element {
  return (
    <span
      className={`jp-mlops-Badge jp-mlops-models-alias${props.protectedAlias ? ' jp-mlops-mod-protected' : ''}`}
      data-testid={`alias-badge-${props.alias}`}
      title={props.protectedAlias ? 'Protected: moves only with a reason or a passing gate' : ''}
    >
      @{props.alias}
    </span>
  );
}

export function ModelsList(props: { model: ModelsModel }): JSX.Element {
  const m = props.model;
  if (m.models.length === 0) {
    return (
      <div className="jp-mlops-Muted" data-testid="models-empty">
        No registered models yet: register one from a notebook with{' '}
        <code>%register RUN_ID NAME --alias challenger</code> or{' '}
        <code>jupyter_mlops.register_model(model, "name")</code>.
      </div>
    );
  }
  return (
    <ul className="jp-mlops-List jp-mlops-models-list" data-testid="models-list">
      {m.models.map(model => (
        <li
          key={model.name}
          className={`jp-mlops-models-listItem${m.selected === model.name ? ' jp-mod-selected' : ''}`}
          data-testid={`model-${model.name}`}
          onClick={() => void m.select(model.name)}
        >
          <span className="jp-mlops-models-name">{model.name}</span>
          <span className="jp-mlops-Muted">
            {model.latest_version !== null ? `v${model.latest_version}` : 'no versions'}
          </span>
          <span>
            {Object.entries(model.aliases)
              .sort()
              .map(([alias, version]) => (
                <span key={alias} className="jp-mlops-Badge jp-mlops-models-alias">
                  @{alias} v{version}
                </span>
              ))}
          </span>
        </li>
      ))}
    </ul>
  );
}

function metricsText(v: IModelVersion): string {
  return Object.entries(v.metrics)
    .sort(([a], [b]) => a.localeCompare(b))
    .slice(0, 4)
    .map(([k, value]) => `${k}=${fmt(value, 3)}`)
    .join(', ');
}

function VersionRow(props: {
  model: ModelsModel;
  version: IModelVersion;
  openers: IModelsOpeners;
}): JSX.Element {
  const { model: m, version: v, openers } = props;
  const protectedAliases = m.detail?.protected ?? [];
  return (
    <tr data-testid={`version-row-${v.version}`}>
      <td className="jp-mlops-models-num">v{v.version}</td>
      <td data-testid="version-aliases">
        {v.aliases.map(a => (
          <AliasBadge key={a} alias={a} protectedAlias={protectedAliases.includes(a)} />
        ))}
      </td>
      <td title={Object.entries(v.metrics).map(([k, x]) => `${k}=${x}`).join('\n')}>
        {metricsText(v)}
      </td>
      <td>
        {v.datasets.map(d =>
          d.version ? (
            <a
              key={`${d.name}@${d.version}`}
              className="jp-mlops-models-link"
              onClick={() => openers.openDataset(d.name, d.version as string)}
              title={`${d.context ?? 'input'}: ${d.name}@${d.version}`}
            >
              {d.ref ?? d.name}
            </a>
          ) : (
            <span key={`${d.name}@${d.digest}`}>{d.name}</span>
          )
        )}
      </td>
      <td>
        {v.notebook_path ? (
          <a
            className="jp-mlops-models-link"
            onClick={() => openers.openNotebook(v.notebook_path as string)}
            title={v.source_notebook ?? ''}
          >
            {v.source_notebook}
          </a>
        ) : (
          <span className="jp-mlops-Muted">{v.source_notebook ?? ''}</span>
        )}
      </td>
      <td>
        {v.run_id && (
          <a
            className="jp-mlops-models-link"
            onClick={() => openers.openRun(v.run_id as string)}
            title={v.run_id}
          >
            {v.run_name ?? v.run_id.slice(0, 8)}
          </a>
        )}
      </td>
      <td>{v.flavor ?? ''}</td>
      <td className="jp-mlops-Muted">{when(v.created)}</td>
      <td>
        <Button
          small={true}
          minimal={true}
          data-testid={`lineage-${v.version}`}
          onClick={() => void m.showLineage(v.version)}
        >
          Lineage
        </Button>
      </td>
    </tr>
  );
}

export function VersionsTable(props: {
  model: ModelsModel;
  openers: IModelsOpeners;
}): JSX.Element | null {
  const m = props.model;
  if (!m.detail) {
    return null;
  }
  return (
    <table className="jp-mlops-models-table" data-testid="versions-table">
      <thead>
        <tr>
          <th>version</th>
          <th>aliases</th>
          <th>metrics</th>
          <th>datasets</th>
          <th>notebook</th>
          <th>run</th>
          <th>flavor</th>
          <th>registered</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {m.detail.versions.map(v => (
          <VersionRow key={v.version} model={m} version={v} openers={props.openers} />
        ))}
      </tbody>
    </table>
  );
}

function moveText(move: IAliasMove): string {
  const from = move.from_version !== null ? `v${move.from_version}` : '—';
  const to = move.to_version !== null ? `v${move.to_version}` : 'removed';
  return `${from} → ${to}`;
}

export function AliasHistory(props: { model: ModelsModel }): JSX.Element {
  const history = props.model.aliases?.history ?? [];
  if (history.length === 0) {
    return <div className="jp-mlops-Muted">No alias moves recorded yet.</div>;
  }
  return (
    <ol className="jp-mlops-models-timeline" data-testid="alias-history">
      {history.map(move => (
        <li
          key={move.id}
          className="jp-mlops-models-timelineItem"
          data-testid={`alias-move-${move.id}`}
          data-alias={move.alias}
          data-via={move.via}
        >
          <span className="jp-mlops-models-timelineDot" />
          <span className="jp-mlops-Badge jp-mlops-models-alias">@{move.alias}</span>
          <span className="jp-mlops-models-move">{moveText(move)}</span>
          <span className={`jp-mlops-Badge jp-mlops-models-via-${move.via}`}>
            {move.via}
            {move.gate_id !== null ? ` #${move.gate_id}` : ''}
          </span>
          <span className="jp-mlops-models-reason">{move.reason ?? ''}</span>
          <span className="jp-mlops-Muted">
            {move.actor ?? '?'} · {when(move.ts)}
          </span>
        </li>
      ))}
    </ol>
  );
}
