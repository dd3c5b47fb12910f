/**
 * The Run tab of the Pipelines panel: the form generated from the
 * pipeline's parameters, the steps of the run on screen (status, cell
 * progress, timings, where a step failed, its executed notebook) and the run
 * history with cancel and re-run.
 */

import { Button } from '@jupyterlab/ui-components';
import React from 'react';

import { DONE_STATUSES, IParameter, IRun, IStepRun } from '../../api/pipelines';
import { PipelinesModel } from './model';
import { inputType } from './params';
import { OpenRunFile, statusClass } from './view';

function when(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : '';
}

function seconds(value: number | null): string {
  return value === null || value === undefined ? '' : `${value.toFixed(1)} s`;
}

/** A step's parameters and, once it ran, what it passed downstream. */
function stepValues(s: IStepRun): string {
  const given = s.parameters ? JSON.stringify(s.parameters) : '';
  const outputs =
    s.outputs && Object.keys(s.outputs).length ? ` → ${JSON.stringify(s.outputs)}` : '';
  return given + outputs;
}

function ParamField(props: { model: PipelinesModel; param: IParameter }): JSX.Element {
  const { model: m, param: p } = props;
  const value = m.fields[p.name] ?? '';
  const id = `jp-mlops-param-${p.name}`;
  const common = {
    id,
    className: 'jp-mlops-Input',
    'data-testid': `param-${p.name}`,
    value,
    onChange: (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) =>
      m.setField(p.name, e.target.value)
  };
  return (
    <div className="jp-mlops-pipelines-field">
      <label htmlFor={id} title={p.description}>
        {p.name}
        <span className="jp-mlops-Muted">
          {' '}
          {p.type ?? 'any'}
          {p.required ? ' · required' : ''}
        </span>
      </label>
      {p.type === 'bool' ? (
        <select {...common}>
          <option value="">(default)</option>
          <option value="true">true</option>
          <option value="false">false</option>
        </select>
      ) : (
        <input
          {...common}
          type={inputType(p.type)}
          step={p.type === 'float' ? 'any' : undefined}
          placeholder={p.type === 'list' || p.type === 'dict' ? 'JSON' : ''}
        />
      )}
    </div>
  );
}

export function RunForm(props: { model: PipelinesModel }): JSX.Element | null {
  const m = props.model;
  const d = m.detail;
  if (!d) {
    return null;
  }
  return (
    <form
      className="jp-mlops-pipelines-form"
      data-testid="pipelines-run-form"
      onSubmit={e => {
        e.preventDefault();
        void m.start();
      }}
    >
      {d.parameters.length === 0 && (
        <div className="jp-mlops-Muted">
          No parameters{d.kind === 'notebook' ? ' (tag a cell "parameters" to add some)' : ''}.
        </div>
      )}
      {d.parameters.map(p => (
        <ParamField key={p.name} model={m} param={p} />
      ))}
      <Button type="submit" data-testid="pipelines-run" disabled={m.starting}>
        {m.starting ? 'Starting…' : 'Run'}
      </Button>
    </form>
  );
}

function StepError(props: { step: IStepRun }): JSX.Element | null {
  const e = props.step.error;
  if (!e) {
    return null;
  }
  const where = e.cell_index !== null ? `cell ${e.cell_index}: ` : '';
  const what = e.ename ? `${e.ename}: ${e.evalue ?? ''}` : (e.message ?? '');
  return (
    <div className="jp-mlops-pipelines-stepError" data-testid="step-error">
      {where}
      {what}
      {e.traceback && (
        <details>
          <summary>traceback</summary>
          <pre>{e.traceback}</pre>
        </details>
      )}
    </div>
  );
}

function CellProgress(props: { step: IStepRun }): JSX.Element {
  const s = props.step;
  const total = s.cells_total ?? 0;
  const pct = total ? Math.round((100 * s.cells_done) / total) : 0;
  return (
    <span className="jp-mlops-pipelines-progress" title={`${s.cells_done}/${total || '?'} cells`}>
      <progress max={total || 1} value={s.cells_done} />
      <span data-testid="step-cells">
        {s.cells_done}/{s.cells_total ?? '?'}
      </span>
      {total > 0 && <span className="jp-mlops-Muted"> {pct}%</span>}
    </span>
  );
}

export function StepsTable(props: {
  model: PipelinesModel;
  run: IRun;
  openFile: OpenRunFile;
}): JSX.Element {
  const r = props.run;
  return (
    <section className="jp-mlops-Section" data-testid="pipelines-run-steps">
      <h3 className="jp-mlops-SectionTitle">
        Run {r.id}{' '}
        <span className={`jp-mlops-Badge ${statusClass(r.status)}`} data-testid="run-status">
          {r.status}
        </span>
      </h3>
      {r.error && <div className="jp-mlops-Muted">{r.error}</div>}
      <div className="jp-mlops-pipelines-scroll">
        <table className="jp-mlops-pipelines-table">
          <thead>
            <tr>
              <th>step</th>
              <th>status</th>
              <th>cells</th>
              <th>time</th>
              <th>parameters → outputs</th>
              <th>notebook</th>
            </tr>
          </thead>
          <tbody>
            {r.steps.map(s => (
              <tr key={s.name} data-testid={`step-row-${s.name}`} data-status={s.status}>
                <td>{s.name}</td>
                <td>
                  <span className={`jp-mlops-Badge ${statusClass(s.status)}`}>{s.status}</span>
                  {s.max_attempts > 1 && (
                    <span className="jp-mlops-Muted">
                      {' '}
                      try {s.attempt}/{s.max_attempts}
                    </span>
                  )}
                  <StepError step={s} />
                </td>
                <td>
                  <CellProgress step={s} />
                </td>
                <td className="jp-mlops-pipelines-nowrap">{seconds(s.duration_s)}</td>
                <td className="jp-mlops-pipelines-code" title={stepValues(s)}>
                  {stepValues(s)}
                </td>
                <td>
                  {s.output_notebook && s.status !== 'pending' && (
                    <Button
                      small={true}
                      minimal={true}
                      data-testid={`open-notebook-${s.name}`}
                      title="Open the executed notebook (read-only)"
                      onClick={() => props.openFile(r.id, `${s.name}.ipynb`)}
                    >
                      Open
                    </Button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

export function RunHistory(props: { model: PipelinesModel }): JSX.Element {
  const m = props.model;
  return (
    <section className="jp-mlops-Section" data-testid="pipelines-history">
      <h3 className="jp-mlops-SectionTitle">Runs</h3>
      {m.runs.length === 0 ? (
        <div className="jp-mlops-Muted">No runs yet.</div>
      ) : (
        <div className="jp-mlops-pipelines-scroll">
          <table className="jp-mlops-pipelines-table">
            <thead>
              <tr>
                <th>run</th>
                <th>status</th>
                <th>steps</th>
                <th>trigger</th>
                <th>started</th>
                <th>time</th>
                <th>parameters</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {m.runs.map(r => {
                const done = r.steps.filter(s => s.status === 'succeeded').length;
                const active = !DONE_STATUSES.includes(r.status);
                return (
                  <tr
                    key={r.id}
                    data-testid={`run-row-${r.id}`}
                    data-status={r.status}
                    className={m.run?.id === r.id ? 'jp-mod-selected' : ''}
                    onClick={() => void m.showRun(r.id)}
                  >
                    <td className="jp-mlops-pipelines-code jp-mlops-pipelines-nowrap">{r.id}</td>
                    <td>
                      <span className={`jp-mlops-Badge ${statusClass(r.status)}`}>
                        {r.status}
                      </span>
                    </td>
                    <td>
                      {done}/{r.steps.length}
                    </td>
                    <td>{r.trigger}</td>
                    <td className="jp-mlops-pipelines-nowrap">{when(r.started ?? r.created)}</td>
                    <td className="jp-mlops-pipelines-nowrap">{seconds(r.duration_s)}</td>
                    <td
                      className="jp-mlops-pipelines-code"
                      title={JSON.stringify(r.parameters, null, 1)}
                    >
                      {JSON.stringify(r.parameters)}
                    </td>
                    <td onClick={e => e.stopPropagation()}>
                      {active ? (
                        <Button
                          small={true}
                          minimal={true}
                          data-testid="run-cancel"
                          onClick={() => void m.cancel(r.id)}
                        >
                          Cancel
                        </Button>
                      ) : (
                        <Button
                          small={true}
                          minimal={true}
                          data-testid="run-rerun"
                          title="Run again with the same parameters"
                          onClick={() => void m.rerun(r.id)}
                        >
                          Re-run
                        </Button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {m.nextBefore && (
        <Button small={true} minimal={true} onClick={() => void m.moreRuns()}>
          Older runs…
        </Button>
      )}
    </section>
  );
}
