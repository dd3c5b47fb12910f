/**
 * One run: where it came from (notebook, executed notebook, git commit,
 * environment), its params, metrics, tags, artifacts and dataset inputs.
 */

import { Button } from '@jupyterlab/ui-components';
import React from 'react';

import { INotebookRef, IRunDetail } from '../../api/experiments';
import { formatDuration, formatNumber, formatSize, formatTime } from './format';

export type OpenPath = (path: string) => Promise<unknown>;

function KeyValues(props: {
  title: string;
  testId: string;
  entries: [string, React.ReactNode][];
  empty: string;
}): JSX.Element {
  return (
    <section className="jp-mlops-exp-section" data-testid={props.testId}>
      <h4>{props.title}</h4>
      {props.entries.length === 0 ? (
        <div className="jp-mlops-Muted">{props.empty}</div>
      ) : (
        <table className="jp-mlops-exp-kv">
          <tbody>
            {props.entries.map(([key, value]) => (
              <tr key={key}>
                <th>{key}</th>
                <td>{value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function NotebookLine(props: {
  label: string;
  testId: string;
  notebook: INotebookRef;
  openPath: OpenPath;
  buttonLabel: string;
}): JSX.Element {
  const { notebook } = props;
  const openable = notebook.path !== null && notebook.exists;
  return (
    <div className="jp-mlops-exp-notebook" data-testid={props.testId}>
      <span className="jp-mlops-exp-label">{props.label}</span>
      <code data-testid={`${props.testId}-path`}>{notebook.recorded}</code>
      <Button
        small={true}
        disabled={!openable}
        data-testid={`${props.testId}-open`}
        title={
          openable
            ? `Open ${notebook.path}`
            : notebook.path === null
              ? 'Outside the Jupyter root: cannot be opened here'
              : 'The file no longer exists'
        }
        onClick={() => notebook.path && void props.openPath(notebook.path)}
      >
        {props.buttonLabel}
      </Button>
    </div>
  );
}

export function RunDetailView(props: {
  detail: IRunDetail;
  openPath: OpenPath;
}): JSX.Element {
  const { detail, openPath } = props;
  const run = detail.run;
  const tags = detail.all_tags;
  const commit = run.git_commit
    ? `${run.git_commit}${run.git_dirty ? ' (uncommitted changes)' : ''}`
    : null;
  return (
    <div className="jp-mlops-exp-detail" data-testid="mlops-exp-detail">
      <h3 data-testid="mlops-exp-detail-name">
        {run.name || run.id}{' '}
        <span className={`jp-mlops-Badge jp-mlops-exp-status-${run.status}`}>
          {run.status}
        </span>
      </h3>
      <div className="jp-mlops-Muted">
        {run.id} · started {formatTime(run.start_time)}
        {run.duration_ms !== null ? ` · ${formatDuration(run.duration_ms)}` : ''}
        {run.user ? ` · ${run.user}` : ''}
      </div>
      <section className="jp-mlops-exp-section" data-testid="mlops-exp-source">
        <h4>Source</h4>
        {detail.notebook ? (
          <NotebookLine
            label="Notebook"
            testId="mlops-exp-notebook"
            notebook={detail.notebook}
            openPath={openPath}
            buttonLabel="Open notebook"
          />
        ) : (
          <div className="jp-mlops-Muted">
            {detail.source_name
              ? `Logged from ${detail.source_name}`
              : 'No notebook recorded.'}
          </div>
        )}
        {detail.output_notebook && (
          <NotebookLine
            label="Executed"
            testId="mlops-exp-output-notebook"
            notebook={detail.output_notebook}
            openPath={openPath}
            buttonLabel="Open executed notebook"
          />
        )}
        <div className="jp-mlops-exp-notebook">
          <span className="jp-mlops-exp-label">Git commit</span>
          <code data-testid="mlops-exp-commit">{commit ?? 'none recorded'}</code>
          {tags['mlflow.source.git.branch'] && (
            <span className="jp-mlops-Muted">
              on {tags['mlflow.source.git.branch']}
            </span>
          )}
        </div>
        {tags['mlops.python'] && (
          <div className="jp-mlops-Muted">
            Python {tags['mlops.python']} on {tags['mlops.host'] ?? 'unknown host'}
            {tags['mlops.env.hash'] ? ` · environment ${tags['mlops.env.hash']}` : ''}
          </div>
        )}
        {run.parent_run_id && (
          <div className="jp-mlops-Muted">Child of run {run.parent_run_id}</div>
        )}
      </section>
      <KeyValues
        title="Metrics"
        testId="mlops-exp-metrics"
        entries={Object.entries(run.metrics)
          .sort()
          .map(([k, v]) => [k, formatNumber(v)])}
        empty="No metrics."
      />
      <KeyValues
        title="Params"
        testId="mlops-exp-params"
        entries={Object.entries(run.params).sort()}
        empty="No params."
      />
      <KeyValues
        title="Tags"
        testId="mlops-exp-tags"
        entries={Object.entries(tags)
          .filter(([k]) => !k.startsWith('mlflow.log-model'))
          .sort()}
        empty="No tags."
      />
      <section className="jp-mlops-exp-section" data-testid="mlops-exp-artifacts">
        <h4>Artifacts</h4>
        <div className="jp-mlops-Muted">{detail.artifact_uri}</div>
        {detail.artifacts.length === 0 ? (
          <div className="jp-mlops-Muted">No artifacts.</div>
        ) : (
          <ul className="jp-mlops-List">
            {detail.artifacts.map(a => (
              <li key={a.path}>
                <code>{a.path}{a.is_dir ? '/' : ''}</code>{' '}
                <span className="jp-mlops-Muted">{formatSize(a.size)}</span>
              </li>
            ))}
          </ul>
        )}
        {detail.artifacts_truncated && (
          <div className="jp-mlops-Muted">(list truncated)</div>
        )}
      </section>
      {detail.inputs.length > 0 && (
        <KeyValues
          title="Dataset inputs"
          testId="mlops-exp-inputs"
          entries={detail.inputs.map(i => [
            `${i.name}${i.context ? ` (${i.context})` : ''}`,
            <code key={i.digest}>
              {i.source} · {i.digest}
            </code>
          ])}
          empty=""
        />
      )}
    </div>
  );
}
