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

/** A form of the Registry tab: submitting runs `action` instead of reloading the page. */
function ModelsForm(props: {
  testId: string;
  action: () => Promise<void>;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <form
      className="jp-mlops-models-form"
      data-testid={props.testId}
      onSubmit={e => {
        e.preventDefault();
        void props.action();
      }}
    >
      {props.children}
    </form>
  );
}

/** A labelled `<select>` whose options are the children. */
function SelectField(props: {
  label: string;
  ariaLabel?: string;
  testId: string;
  value: string;
  onChange: (value: string) => void;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <label className="jp-mlops-models-field">
      <span>{props.label}</span>
      <select
        className="jp-mlops-Input"
        aria-label={props.ariaLabel ?? props.label}
        data-testid={props.testId}
        value={props.value}
        onChange={e => props.onChange(e.target.value)}
      >
        {props.children}
      </select>
    </label>
  );
}

/** A labelled text (or number) `<input>`. */
function InputField(props: {
  label: string;
  ariaLabel?: string;
  testId: string;
  value: string;
  onChange: (value: string) => void;
  grow?: boolean;
  number?: boolean;
  placeholder?: string;
}): JSX.Element {
  return (
    <label className={`jp-mlops-models-field${props.grow ? ' jp-mlops-models-grow' : ''}`}>
      <span>{props.label}</span>
      <input
        className={`jp-mlops-Input${props.number ? ' jp-mlops-models-number' : ''}`}
        aria-label={props.ariaLabel ?? props.label}
        data-testid={props.testId}
        type={props.number ? 'number' : undefined}
        step={props.number ? 'any' : undefined}
        placeholder={props.placeholder}
        value={props.value}
        onChange={e => props.onChange(e.target.value)}
      />
    </label>
  );
}

/** Named options: the plain names as they are. */
function NameOptions(props: { names: readonly string[] }): JSX.Element {
  return (
    <>
      {props.names.map(name => (
        <option key={name} value={name}>
          {name}
        </option>
      ))}
    </>
  );
}

/** A version or an alias of the selected model, as the gate and promotion name them. */
function SideSelect(props: {
  model: ModelsModel;
  value: string;
  label: string;
  testId: string;
  onChange: (value: string) => void;
}): JSX.Element {
  const choices = props.model.sideChoices;
  return (
    <SelectField
      label={props.label}
      testId={props.testId}
      value={props.value}
      onChange={props.onChange}
    >
      {!choices.includes(props.value) && <option value={props.value}>{props.value}</option>}
      {choices.map(c => (
        <option key={c} value={c}>
          {/^\d+$/.test(c) ? `v${c}` : `@${c}`}
        </option>
      ))}
    </SelectField>
  );
}

export function GateForm(props: { model: ModelsModel }): JSX.Element {
  const m = props.model;
  const f = m.gateForm;
  const versions = m.datasetVersions[f.dataset] ?? [];
  return (
    <ModelsForm testId="gate-form" action={() => m.runGate()}>
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
      <SelectField
        label="Held-out dataset"
        testId="gate-dataset"
        value={f.dataset}
        onChange={dataset => m.updateGateForm({ dataset })}
      >
        {m.datasets.length === 0 && <option value="">no datasets yet</option>}
        <NameOptions names={m.datasets} />
      </SelectField>
      <SelectField
        label="Version"
        ariaLabel="Dataset version"
        testId="gate-version"
        value={f.version}
        onChange={version => m.updateGateForm({ version })}
      >
        {versions.length === 0 && <option value="">no versions</option>}
        {versions.map(v => (
          <option key={v.version} value={v.version}>
            {v.short}
            {v.tags.length ? ` (${v.tags.join(', ')})` : ''}
            {v.rows !== null ? ` · ${v.rows} rows` : ''}
          </option>
        ))}
      </SelectField>
      <SelectField
        label="Metric"
        testId="gate-metric"
        value={f.metric}
        onChange={metric => m.updateGateForm({ metric })}
      >
        <NameOptions names={GATE_METRICS} />
      </SelectField>
      <InputField
        label="Min delta"
        testId="gate-min-delta"
        number
        value={f.minDelta}
        onChange={minDelta => m.updateGateForm({ minDelta })}
      />
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
    </ModelsForm>
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
    <ModelsForm testId="promote-form" action={() => m.promote()}>
      <SideSelect
        model={m}
        label="Version"
        testId="promote-version"
        value={f.version}
        onChange={version => m.updatePromoteForm({ version })}
      />
      <InputField
        label="To alias"
        ariaLabel="Alias to move"
        testId="promote-alias"
        value={f.alias}
        onChange={alias => m.updatePromoteForm({ alias })}
      />
      <InputField
        label="Reason (required)"
        ariaLabel="Reason"
        testId="promote-reason"
        grow
        placeholder="why this version goes to production"
        value={f.reason}
        onChange={reason => m.updatePromoteForm({ reason })}
      />
      <Button type="submit" data-testid="promote-run" disabled={!m.canPromote}>
        {m.promoting ? 'Promoting…' : 'Promote'}
      </Button>
      {m.promoteError && (
        <div className="jp-mlops-Error" data-testid="promote-error">
          {m.promoteError}
        </div>
      )}
    </ModelsForm>
  );
}
