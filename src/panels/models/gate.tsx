/**
 * The Registry tab's governance: the "Run gate" form (challenger, against,
 * a held-out dataset version, a metric and its minimum improvement), the gate
 * result table, past gate results, and "Promote" with a required reason.
 */

import { Button } from '@jupyterlab/ui-components';
import React from 'react';

import { IGateResult, IMetricCheck } from '../../api/registry';
import { GATE_METRICS, ModelsModel } from './model';
import { fmt, when } from './registry';

function SideSelect(props: {
  model: ModelsModel;
  value: string;
  label: string;
  testId: string;
  onChange: (value: string) => void;
}): JSX.Element {
  const choices = props.model.sideChoices;
  return (
    <label className="jp-mlops-models-field">
      <span>{props.label}</span>
      <select
        className="jp-mlops-Input"
        aria-label={props.label}
        data-testid={props.testId}
        value={props.value}
        onChange={e => props.onChange(e.target.value)}
      >
        {!choices.includes(props.value) && <option value={props.value}>{props.value}</option>}
        {choices.map(c => (
          <option key={c} value={c}>
            {/^\d+$/.test(c) ? `v${c}` : `@${c}`}
          </option>
        ))}
      </select>
    </label>
  );
}

export function GateForm(props: { model: ModelsModel }): JSX.Element {
  const m = props.model;
  const f = m.gateForm;
  const versions = m.datasetVersions[f.dataset] ?? [];
  return (
    <form
      className="jp-mlops-models-form"
      data-testid="gate-form"
      onSubmit={e => {
        e.preventDefault();
        void m.runGate();
      }}
    >
      <SideSelect
        model={m}
        label="Challenger"
        testId="gate-challenger"
        value={f.challenger}
        onChange={challenger => m.updateGateForm({ challenger })}
      />
      <SideSelect
        model={m}
        label="Against"
        testId="gate-against"
        value={f.against}
        onChange={against => m.updateGateForm({ against })}
      />
      <label className="jp-mlops-models-field">
        <span>Held-out dataset</span>
        <select
          className="jp-mlops-Input"
          aria-label="Held-out dataset"
          data-testid="gate-dataset"
          value={f.dataset}
          onChange={e => m.updateGateForm({ dataset: e.target.value })}
        >
          {m.datasets.length === 0 && <option value="">no datasets yet</option>}
          {m.datasets.map(name => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </label>
      <label className="jp-mlops-models-field">
        <span>Version</span>
        <select
          className="jp-mlops-Input"
          aria-label="Dataset version"
          data-testid="gate-version"
          value={f.version}
          onChange={e => m.updateGateForm({ version: e.target.value })}
        >
          {versions.length === 0 && <option value="">no versions</option>}
          {versions.map(v => (
            <option key={v.version} value={v.version}>
              {v.short}
              {v.tags.length ? ` (${v.tags.join(', ')})` : ''}
              {v.rows !== null ? ` · ${v.rows} rows` : ''}
            </option>
          ))}
        </select>
      </label>
      <label className="jp-mlops-models-field">
        <span>Metric</span>
        <select
          className="jp-mlops-Input"
          aria-label="Metric"
          data-testid="gate-metric"
          value={f.metric}
          onChange={e => m.updateGateForm({ metric: e.target.value })}
        >
          {GATE_METRICS.map(name => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </label>
      <label className="jp-mlops-models-field">
        <span>Min delta</span>
        <input
          className="jp-mlops-Input jp-mlops-models-number"
          aria-label="Min delta"
          data-testid="gate-min-delta"
          type="number"
          step="any"
          value={f.minDelta}
          onChange={e => m.updateGateForm({ minDelta: e.target.value })}
        />
      </label>
      <label className="jp-mlops-models-check">
        <input
          type="checkbox"
          data-testid="gate-promote"
          checked={f.promote}
          onChange={e => m.updateGateForm({ promote: e.target.checked })}
        />
        promote if it passes
      </label>
      <Button type="submit" data-testid="gate-run" disabled={!m.canGate}>
        {m.gating ? 'Running gate…' : 'Run gate'}
      </Button>
    </form>
  );
}

function resultWord(passed: boolean | null): string {
  return passed === null ? 'SKIP' : passed ? 'PASS' : 'FAIL';
}

function resultClass(passed: boolean | null): string {
  return passed === null ? 'jp-mlops-mod-pending' : passed ? 'jp-mlops-mod-ok' : 'jp-mlops-mod-fail';
}

function CheckRow(props: { check: IMetricCheck }): JSX.Element {
  const c = props.check;
  const delta =
    c.challenger !== null && c.champion !== null ? c.challenger - c.champion : null;
  return (
    <tr data-testid={`gate-check-${c.metric}-${c.rule}`} title={c.message}>
      <td>{c.metric}</td>
      <td className="jp-mlops-models-num">{fmt(c.challenger)}</td>
      <td className="jp-mlops-models-num">{fmt(c.champion)}</td>
      <td className="jp-mlops-models-num">
        {delta === null ? '—' : `${delta >= 0 ? '+' : ''}${fmt(delta)}`}
      </td>
      <td>
        {c.rule} {c.threshold}
      </td>
      <td>
        <span className={`jp-mlops-Badge ${resultClass(c.passed)}`} data-testid="gate-check-result">
          {resultWord(c.passed)}
        </span>
      </td>
    </tr>
  );
}

export function GateResultView(props: { result: IGateResult }): JSX.Element {
  const r = props.result;
  const checked = new Set(r.checks.map(c => c.metric));
  const champion = r.scores.champion ?? {};
  const reported = Object.entries(r.scores.challenger ?? {}).filter(([k]) => !checked.has(k));
  return (
    <div className="jp-mlops-models-gate" data-testid="gate-result" data-passed={String(r.passed)}>
      <div className="jp-mlops-models-verdict">
        <span
          className={`jp-mlops-Badge ${r.passed ? 'jp-mlops-mod-ok' : 'jp-mlops-mod-fail'}`}
          data-testid="gate-verdict"
        >
          {r.verdict}
        </span>
        <span className="jp-mlops-Muted" data-testid="gate-headline">
          {r.headline}
        </span>
      </div>
      <table className="jp-mlops-models-table" data-testid="gate-table">
        <thead>
          <tr>
            <th>metric</th>
            <th>challenger v{r.challenger}</th>
            <th>{r.champion !== null ? `champion v${r.champion}` : 'champion'}</th>
            <th>delta</th>
            <th>rule</th>
            <th>result</th>
          </tr>
        </thead>
        <tbody>
          {r.checks.map(c => (
            <CheckRow key={`${c.metric}-${c.rule}`} check={c} />
          ))}
          {reported.map(([metric, value]) => (
            <tr key={metric} className="jp-mlops-Muted">
              <td>{metric}</td>
              <td className="jp-mlops-models-num">{fmt(value)}</td>
              <td className="jp-mlops-models-num">{fmt(champion[metric] ?? null)}</td>
              <td />
              <td>(reported)</td>
              <td />
            </tr>
          ))}
        </tbody>
      </table>
      <ul className="jp-mlops-models-reasons">
        {r.reasons.map((reason, i) => (
          <li key={i}>{reason}</li>
        ))}
      </ul>
    </div>
  );
}

export function GateHistory(props: { model: ModelsModel }): JSX.Element {
  const m = props.model;
  if (m.gates.length === 0) {
    return <div className="jp-mlops-Muted">No gates have run for this model yet.</div>;
  }
  return (
    <ul className="jp-mlops-List" data-testid="gate-history">
      {m.gates.map(g => (
        <li
          key={g.id}
          className={`jp-mlops-models-listItem${m.gate?.id === g.id ? ' jp-mod-selected' : ''}`}
          data-testid={`gate-history-${g.id}`}
          onClick={() => m.showGate(g.id)}
        >
          <span className={`jp-mlops-Badge ${g.passed ? 'jp-mlops-mod-ok' : 'jp-mlops-mod-fail'}`}>
            #{g.id} {g.passed ? 'passed' : 'rejected'}
          </span>
          <span>
            v{g.challenger} vs {g.champion !== null ? `v${g.champion}` : 'no champion'} on{' '}
            {g.dataset.split('@')[0]}@{(g.dataset.split('@')[1] ?? '').slice(0, 12)}
          </span>
          <span className="jp-mlops-Muted">
            {g.promoted ? `promoted to @${g.promoted_alias} · ` : ''}
            {when(g.ts)}
          </span>
        </li>
      ))}
    </ul>
  );
}

export function PromoteForm(props: { model: ModelsModel }): JSX.Element {
  const m = props.model;
  const f = m.promoteForm;
  return (
    <form
      className="jp-mlops-models-form"
      data-testid="promote-form"
      onSubmit={e => {
        e.preventDefault();
        void m.promote();
      }}
    >
      <SideSelect
        model={m}
        label="Version"
        testId="promote-version"
        value={f.version}
        onChange={version => m.updatePromoteForm({ version })}
      />
      <label className="jp-mlops-models-field">
        <span>To alias</span>
        <input
          className="jp-mlops-Input"
          aria-label="Alias to move"
          data-testid="promote-alias"
          value={f.alias}
          onChange={e => m.updatePromoteForm({ alias: e.target.value })}
        />
      </label>
      <label className="jp-mlops-models-field jp-mlops-models-grow">
        <span>Reason (required)</span>
        <input
          className="jp-mlops-Input"
          aria-label="Reason"
          data-testid="promote-reason"
          placeholder="why this version goes to production"
          value={f.reason}
          onChange={e => m.updatePromoteForm({ reason: e.target.value })}
        />
      </label>
      <Button type="submit" data-testid="promote-run" disabled={!m.canPromote}>
        {m.promoting ? 'Promoting…' : 'Promote'}
      </Button>
      {m.promoteError && (
        <div className="jp-mlops-Error" data-testid="promote-error">
          {m.promoteError}
        </div>
      )}
    </form>
  );
}
