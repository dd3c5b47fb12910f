/**
 * The pieces of a deployment card: the live traffic split as a bar, the
 * versions with their health figures, the canary's progress, the shadow
 * comparison and the recent predictions.
 */

import * as React from 'react';

import {
  IDeployedVersion,
  IPredictionPage,
  IRolloutProgress,
  IShadowComparison
} from '../../../api/deployments';

export function fmtMs(value: number | null | undefined): string {
  return value === null || value === undefined ? '–' : `${value.toFixed(1)} ms`;
}

export function fmtPercent(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined
    ? '–'
    : `${(value * 100).toFixed(digits)} %`;
}

function fmtWeight(weight: number): string {
  return `${Number(weight.toFixed(2))} %`;
}

/** Colour slots of the bar, by role (the CSS gives each a --jp-* colour). */
const ROLE_ORDER = ['stable', 'candidate', 'standby'];

/** The live traffic split: one segment per version that takes traffic. */
export function TrafficBar(props: { versions: IDeployedVersion[] }): JSX.Element {
  const live = props.versions
    .filter(v => v.role === 'stable' || v.role === 'candidate')
    .sort((a, b) => ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role));
  return (
    <div className="jp-mlops-TrafficSplit">
      <div
        className="jp-mlops-TrafficBar"
        data-testid="traffic-bar"
        role="img"
        aria-label={
          'Traffic: ' + live.map(v => `${v.key} ${fmtWeight(v.weight)}`).join(', ')
        }
      >
        {live
          .filter(v => v.weight > 0)
          .map(v => (
            <div
              key={v.key}
              className={`jp-mlops-TrafficSegment jp-mlops-mod-${v.role}`}
              style={{ width: `${v.weight}%` }}
              title={`${v.key} (${v.role}): ${fmtWeight(v.weight)}`}
            />
          ))}
      </div>
      <ul className="jp-mlops-TrafficLegend">
        {live.map(v => (
          <li
            key={v.key}
            data-testid="traffic-segment"
            data-version={v.key}
            data-weight={String(v.weight)}
          >
            <span className={`jp-mlops-TrafficSwatch jp-mlops-mod-${v.role}`} />
            {v.key} <span className="jp-mlops-Muted">({v.role})</span>{' '}
            <strong>{fmtWeight(v.weight)}</strong>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Versions with their role, liveness and figures over the last minute. */
export function VersionsTable(props: {
  versions: IDeployedVersion[];
  running: boolean;
}): JSX.Element {
  return (
    <table className="jp-mlops-DeploymentVersions" data-testid="deployment-versions">
      <thead>
        <tr>
          <th>version</th>
          <th>role</th>
          <th>live</th>
          <th title="requests per second over the last minute">req/s</th>
          <th title="share of 5xx or unanswered requests">errors</th>
          <th>p50</th>
          <th>p95</th>
        </tr>
      </thead>
      <tbody>
        {props.versions.map(v => {
          const stats = v.stats;
          const live = props.running && v.state === 'running';
          const state = !live ? v.state : v.healthy ? 'healthy' : 'unhealthy';
          return (
            <tr key={v.key} data-testid={`version-${v.key}`} data-role={v.role}>
              <td title={v.model_uri ?? undefined}>
                {v.key}
                {v.model_ref && v.model_ref !== v.key && (
                  // the reference it was deployed from: an alias may have moved since
                  <span className="jp-mlops-Muted"> (deployed as {v.model_ref})</span>
                )}
              </td>
              <td>{v.role}</td>
              <td
                className={
                  live && v.healthy ? 'jp-mlops-mod-ok' : live ? 'jp-mlops-mod-fail' : ''
                }
                title={v.error ?? undefined}
              >
                {state}
              </td>
              <td>{stats ? stats.rate_per_s.toFixed(2) : '–'}</td>
              <td>{stats ? fmtPercent(stats.error_rate) : '–'}</td>
              <td>{fmtMs(stats?.p50_ms)}</td>
              <td>{fmtMs(stats?.p95_ms)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** Seconds left on the current canary step, counting down between polls. */
function useBakeRemaining(rollout: IRolloutProgress, fetchedAt: number): number | null {
  const [now, setNow] = React.useState(Date.now());
  const running = rollout.state === 'running' && rollout.bake_remaining_s !== null;
  React.useEffect(() => {
    if (!running) {
      return;
    }
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [running]);
  if (!running || rollout.bake_remaining_s === null) {
    return null;
  }
  return Math.max(0, rollout.bake_remaining_s - (now - fetchedAt) / 1000);
}

/** Steps, the current weight, the bake time left, and why a rollout ended. */
export function CanaryProgress(props: {
  rollout: IRolloutProgress;
  fetchedAt: number;
}): JSX.Element {
  const r = props.rollout;
  const remaining = useBakeRemaining(r, props.fetchedAt);
  const stateClass =
    r.state === 'promoted'
      ? 'jp-mlops-mod-ok'
      : r.state === 'running'
        ? 'jp-mlops-mod-pending'
        : 'jp-mlops-mod-fail';
  return (
    <div className="jp-mlops-Canary" data-testid="canary-progress" data-state={r.state}>
      <div>
        <strong>{r.kind === 'canary' ? 'Canary' : r.kind}</strong> of {r.candidate} over{' '}
        {r.stable}: <span className={stateClass}>{r.state.replace('_', ' ')}</span>
        {r.automatic ? ' (automatic)' : ''}
      </div>
      {r.steps.length > 0 && (
        <ol className="jp-mlops-CanarySteps" aria-label="canary steps">
          {r.steps.map((step, i) => {
            const done = r.state === 'promoted' || i < r.step;
            const current = r.state === 'running' && i === r.step;
            return (
              <li
                key={i}
                className={
                  current ? 'jp-mlops-mod-current' : done ? 'jp-mlops-mod-done' : ''
                }
                data-testid="canary-step"
              >
                {step} %
              </li>
            );
          })}
        </ol>
      )}
      {r.state === 'running' && (
        <div className="jp-mlops-Muted" data-testid="canary-weight">
          {r.candidate} takes {r.weight ?? 0} % now
          {remaining !== null && (
            <>
              {' · '}
              next step in <span data-testid="canary-bake">{Math.ceil(remaining)} s</span>
              {r.bake_s !== null && ` (bake ${r.bake_s} s)`}
            </>
          )}
        </div>
      )}
      {r.state === 'running' && r.analysis && typeof r.analysis.reason === 'string' && (
        <div className="jp-mlops-Muted">analysis: {r.analysis.reason}</div>
      )}
      {r.reason && r.state !== 'running' && (
        <div
          className={r.state === 'promoted' ? 'jp-mlops-Muted' : 'jp-mlops-Error'}
          data-testid="rollout-reason"
        >
          {r.state === 'rolled_back' ? 'Rolled back: ' : ''}
          {r.reason}
        </div>
      )}
    </div>
  );
}

/** Agreement rate and prediction drift between the champion and its shadow. */
export function ShadowView(props: { comparison: IShadowComparison }): JSX.Element {
  const c = props.comparison;
  return (
    <div className="jp-mlops-Shadow" data-testid="shadow-comparison">
      <div>
        <strong>Shadow</strong> {c.challenger} vs {c.champion}:{' '}
        {c.requests} mirrored requests
      </div>
      {c.requests === 0 ? (
        <div className="jp-mlops-Muted">No mirrored request logged yet.</div>
      ) : (
        <dl className="jp-mlops-ShadowFigures">
          <dt>agreement</dt>
          <dd data-testid="shadow-agreement">{fmtPercent(c.agreement_rate)}</dd>
          {c.mean_abs_diff !== null && (
            <>
              <dt>mean |Δ|</dt>
              <dd>{c.mean_abs_diff.toPrecision(3)}</dd>
            </>
          )}
          <dt>prediction drift</dt>
          <dd
            className={
              c.drifted === null ? '' : c.drifted ? 'jp-mlops-mod-fail' : 'jp-mlops-mod-ok'
            }
            data-testid="shadow-drift"
          >
            {c.drifted === null ? 'n/a' : c.drifted ? 'drift' : 'no drift'}
            {c.drift_test && ` (${c.drift_test}`}
            {c.drift_p_value !== null && `, p=${c.drift_p_value.toExponential(2)}`}
            {c.drift_test && ')'}
          </dd>
          <dt>shadow errors</dt>
          <dd>{c.challenger_errors}</dd>
          <dt>p50</dt>
          <dd>
            {fmtMs(c.champion_p50_ms)} vs {fmtMs(c.challenger_p50_ms)}
          </dd>
        </dl>
      )}
    </div>
  );
}

/** The newest requests of the prediction log. */
export function PredictionsTable(props: {
  page: IPredictionPage | undefined;
  onMore: () => void;
}): JSX.Element {
  const page = props.page;
  if (!page) {
    return <div className="jp-mlops-Muted">Loading predictions…</div>;
  }
  if (!page.predictions.length) {
    return <div className="jp-mlops-Muted">No prediction logged yet.</div>;
  }
  return (
    <div className="jp-mlops-Predictions">
      <table data-testid="predictions">
        <thead>
          <tr>
            <th>time</th>
            <th>version</th>
            <th>status</th>
            <th>latency</th>
            <th>request</th>
            <th>response</th>
          </tr>
        </thead>
        <tbody>
          {page.predictions.map(p => (
            <tr
              key={`${p.request_id}-${p.version}-${p.shadow}`}
              className={p.status >= 400 ? 'jp-mlops-mod-fail' : ''}
            >
              <td title={p.ts}>{new Date(p.ts).toLocaleTimeString()}</td>
              <td>
                {p.version}
                {p.shadow && <span className="jp-mlops-Muted"> (shadow)</span>}
              </td>
              <td>{p.status}</td>
              <td>{fmtMs(p.latency_ms)}</td>
              <td className="jp-mlops-Body" title={p.request ?? ''}>
                {p.request}
              </td>
              <td className="jp-mlops-Body" title={p.error ?? p.response ?? ''}>
                {p.error ?? p.response}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {page.next_before && (
        <button className="jp-mlops-LinkButton" onClick={props.onMore}>
          older predictions
        </button>
      )}
    </div>
  );
}
