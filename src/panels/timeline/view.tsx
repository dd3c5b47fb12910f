/**
 * The Timeline panel (a main-area widget): the active drift alerts on top
 * (Acknowledge, Mute), the monitors with a sparkline of their recent drifted
 * shares and their next check, and the unified timeline of the workspace
 * with kind filters, each item a link that opens its object in its panel.
 */

import { CommandRegistry } from '@lumino/commands';
import { Message } from '@lumino/messaging';
import {
  Button,
  ReactWidget,
  refreshIcon,
  ToolbarButtonComponent,
  UseSignal
} from '@jupyterlab/ui-components';
import React from 'react';

import {
  IAlert,
  IMonitor,
  ITimelineItem,
  TIMELINE_KINDS,
  TimelineKind
} from '../../api/monitor';
import { targetOf, TimelineModel } from './model';

const KIND_LABELS: Record<TimelineKind, string> = {
  alert: 'Alerts',
  drift_check: 'Drift checks',
  deployment: 'Deployments',
  alias: 'Alias moves',
  gate: 'Gates',
  pipeline_run: 'Pipeline runs',
  run: 'Runs',
  dataset: 'Snapshots',
  event: 'Events'
};

const MUTE_CHOICES = ['1h', '4h', '1d', '7d'];

function when(iso: string | null): string {
  return iso ? new Date(iso).toLocaleString() : '–';
}

function pct(value: number | null): string {
  return value === null || value === undefined ? '–' : `${Math.round(value * 100)}%`;
}

function statusClass(status: string | null): string {
  switch (status) {
    case 'ok':
    case 'passed':
    case 'succeeded':
    case 'finished':
    case 'resolved':
    case 'stored':
      return 'jp-mlops-mod-ok';
    case 'drift':
    case 'failed':
    case 'open':
    case 'error':
    case 'rolled_back':
      return 'jp-mlops-mod-fail';
    default:
      return 'jp-mlops-mod-pending';
  }
}

/** A small SVG line of drifted shares (0 at the bottom, 1 at the top), oldest left. */
export function Sparkline(props: {
  values: (number | null)[];
  threshold: number;
}): JSX.Element {
  const width = 96;
  const height = 22;
  const points = props.values
    .map((v, i) => [i, v] as const)
    .filter((p): p is readonly [number, number] => p[1] !== null);
  const step = props.values.length > 1 ? width / (props.values.length - 1) : width;
  const y = (v: number) => height - 2 - v * (height - 4);
  const path = points.map(([i, v]) => `${(i * step).toFixed(1)},${y(v).toFixed(1)}`);
  const last = points.length ? points[points.length - 1] : null;
  return (
    <svg
      className="jp-mlops-timeline-spark"
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={`drifted share of the last ${points.length} checks`}
    >
      <line
        className="jp-mlops-timeline-sparkThreshold"
        x1={0}
        x2={width}
        y1={y(props.threshold)}
        y2={y(props.threshold)}
      />
      {path.length > 1 && (
        <polyline className="jp-mlops-timeline-sparkLine" points={path.join(' ')} />
      )}
      {last && (
        <circle
          className={
            last[1] >= props.threshold
              ? 'jp-mlops-timeline-sparkDot jp-mlops-mod-fail'
              : 'jp-mlops-timeline-sparkDot'
          }
          cx={last[0] * step}
          cy={y(last[1])}
          r={2.5}
        />
      )}
    </svg>
  );
}

function AlertCard(props: { model: TimelineModel; alert: IAlert }): JSX.Element {
  const { model, alert } = props;
  const [until, setUntil] = React.useState(MUTE_CHOICES[0]);
  const busy =
    model.busy.has(`alert:${alert.id}`) || model.busy.has(`monitor:${alert.monitor}`);
  const monitor = model.monitors.find(m => m.name === alert.monitor);
  return (
    <li
      className={`jp-mlops-timeline-alert jp-mlops-timeline-alert-${alert.status}`}
      data-testid={`alert-${alert.id}`}
      data-status={alert.status}
    >
      <div className="jp-mlops-timeline-alertHead">
        <span className={`jp-mlops-Badge ${statusClass(alert.status)}`}>{alert.status}</span>
        <span className="jp-mlops-timeline-alertTitle">{alert.title}</span>
      </div>
      <div className="jp-mlops-timeline-meta">
        monitor <b>{alert.monitor}</b> · raised {when(alert.created)} · window{' '}
        {when(alert.window_start)} – {when(alert.window_end)} · confirmed by{' '}
        {alert.occurrences} check{alert.occurrences === 1 ? '' : 's'}
        {alert.pipeline && (
          <>
            {' '}
            · triggered <code>{alert.pipeline}</code>
          </>
        )}
        {alert.acknowledged_by && <> · acknowledged by {alert.acknowledged_by}</>}
        {alert.note && <> · “{alert.note}”</>}
        {monitor?.muted && <> · muted until {when(monitor.muted_until)}</>}
      </div>
      <div className="jp-mlops-timeline-actions">
        {alert.status === 'open' && (
          <Button
            small={true}
            disabled={busy}
            data-testid={`alert-ack-${alert.id}`}
            onClick={() => void model.acknowledge(alert.id)}
          >
            Acknowledge
          </Button>
        )}
        <select
          className="jp-mlops-Input"
          aria-label="Mute for"
          value={until}
          onChange={e => setUntil(e.target.value)}
        >
          {MUTE_CHOICES.map(c => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
        <Button
          small={true}
          minimal={true}
          disabled={busy}
          data-testid={`alert-mute-${alert.id}`}
          onClick={() => void model.mute(alert.monitor, until)}
        >
          Mute {alert.monitor}
        </Button>
      </div>
    </li>
  );
}

function MonitorRow(props: { model: TimelineModel; monitor: IMonitor }): JSX.Element {
  const { model, monitor: m } = props;
  const last = m.last_check;
  const busy = model.busy.has(`monitor:${m.name}`);
  return (
    <tr data-testid={`monitor-${m.name}`}>
      <td>
        <b>{m.name}</b>
        <div className="jp-mlops-timeline-meta">
          {m.deployment} · every <code>{m.schedule}</code> · window {m.window}
        </div>
      </td>
      <td>
        {last ? (
          <span className={`jp-mlops-Badge ${statusClass(last.status)}`} title={last.message ?? ''}>
            {last.status.replace('_', ' ')}
          </span>
        ) : (
          <span className="jp-mlops-Muted">never checked</span>
        )}
        {last && <div className="jp-mlops-timeline-meta">{when(last.ts)}</div>}
      </td>
      <td>
        <Sparkline values={model.shares[m.name] ?? []} threshold={m.drift_share} />
        <div className="jp-mlops-timeline-meta">last {pct(last?.share ?? null)}</div>
      </td>
      <td>
        {m.paused ? (
          <span className="jp-mlops-Badge jp-mlops-mod-pending">paused</span>
        ) : (
          when(m.next_check_at)
        )}
        {m.muted && <div className="jp-mlops-timeline-meta">muted until {when(m.muted_until)}</div>}
      </td>
      <td className="jp-mlops-timeline-actions">
        <Button small={true} disabled={busy} onClick={() => void model.checkNow(m.name)}>
          Check now
        </Button>
        <Button
          small={true}
          minimal={true}
          disabled={busy}
          onClick={() => void model.setPaused(m.name, !m.paused)}
        >
          {m.paused ? 'Resume' : 'Pause'}
        </Button>
        {m.muted && (
          <Button
            small={true}
            minimal={true}
            disabled={busy}
            onClick={() => void model.mute(m.name, null)}
          >
            Unmute
          </Button>
        )}
      </td>
    </tr>
  );
}

function TimelineRow(props: {
  item: ITimelineItem;
  commands: CommandRegistry;
}): JSX.Element {
  const { item, commands } = props;
  const target = targetOf(item.ref);
  const open = () => {
    if (target && commands.hasCommand(target.command)) {
      void commands.execute(target.command, target.args);
    }
  };
  return (
    <li
      className="jp-mlops-timeline-item"
      data-testid="timeline-item"
      data-kind={item.kind}
      data-id={item.id}
    >
      <time className="jp-mlops-timeline-time" dateTime={item.time}>
        {when(item.time)}
      </time>
      <span className={`jp-mlops-timeline-kind jp-mlops-timeline-kind-${item.kind}`}>
        {KIND_LABELS[item.kind] ?? item.kind}
      </span>
      {target ? (
        <a
          className="jp-mlops-timeline-link"
          href="#"
          title={`Open in its panel (${target.command})`}
          onClick={e => {
            e.preventDefault();
            open();
          }}
        >
          {item.title}
        </a>
      ) : (
        <span className="jp-mlops-timeline-title">{item.title}</span>
      )}
      {item.status && (
        <span className={`jp-mlops-Badge ${statusClass(item.status)}`}>{item.status}</span>
      )}
      {item.actor && <span className="jp-mlops-timeline-meta">{item.actor}</span>}
    </li>
  );
}

export function TimelineView(props: {
  model: TimelineModel;
  commands: CommandRegistry;
}): JSX.Element {
  const m = props.model;
  const unavailable = Object.entries(m.unavailable);
  return (
    <div className="jp-mlops-timeline">
      <div className="jp-mlops-Header">
        <span className="jp-mlops-Title">Timeline</span>
        <ToolbarButtonComponent
          icon={refreshIcon}
          tooltip="Reload alerts, monitors and the timeline"
          onClick={() => void m.refresh()}
          enabled={!m.loading}
        />
        {m.lastLoaded && (
          <span className="jp-mlops-timeline-meta">
            updated {m.lastLoaded.toLocaleTimeString()}
          </span>
        )}
      </div>
      {m.error && (
        <div className="jp-mlops-Error" data-testid="timeline-error">
          {m.error}
        </div>
      )}
      <section className="jp-mlops-Section" data-testid="timeline-alerts">
        <h3 className="jp-mlops-SectionTitle">Alerts</h3>
        {m.alerts.length === 0 ? (
          <div className="jp-mlops-Muted">No open alerts.</div>
        ) : (
          <ul className="jp-mlops-List jp-mlops-timeline-alerts">
            {m.alerts.map(a => (
              <AlertCard key={a.id} model={m} alert={a} />
            ))}
          </ul>
        )}
      </section>
      <section className="jp-mlops-Section" data-testid="timeline-monitors">
        <h3 className="jp-mlops-SectionTitle">Monitors</h3>
        {m.monitors.length === 0 ? (
          <div className="jp-mlops-Muted">
            No monitors yet: <code>jupyter_mlops.monitor("my-deployment")</code> or{' '}
            <code>%monitor my-deployment --on-drift retrain.pipeline.yaml</code>.
          </div>
        ) : (
          <table className="jp-mlops-Table jp-mlops-timeline-monitors">
            <thead>
              <tr>
                <th>monitor</th>
                <th>last check</th>
                <th>drifted share</th>
                <th>next check</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {m.monitors.map(mon => (
                <MonitorRow key={mon.name} model={m} monitor={mon} />
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section className="jp-mlops-Section" data-testid="timeline-list">
        <h3 className="jp-mlops-SectionTitle">Activity</h3>
        <div className="jp-mlops-timeline-filters" role="group" aria-label="Kinds shown">
          {TIMELINE_KINDS.map(kind => (
            <label key={kind} className="jp-mlops-timeline-filter">
              <input
                type="checkbox"
                checked={m.kinds.has(kind)}
                data-testid={`timeline-kind-${kind}`}
                onChange={() => void m.toggleKind(kind)}
              />
              {KIND_LABELS[kind]}
            </label>
          ))}
        </div>
        {unavailable.length > 0 && (
          <div className="jp-mlops-Muted">
            Not answering: {unavailable.map(([k, why]) => `${k} (${why})`).join('; ')}
          </div>
        )}
        {m.items.length === 0 ? (
          <div className="jp-mlops-Muted">{m.loading ? 'Loading…' : 'Nothing yet.'}</div>
        ) : (
          <ul className="jp-mlops-timeline-items">
            {m.items.map(item => (
              <TimelineRow key={item.id} item={item} commands={props.commands} />
            ))}
          </ul>
        )}
        {m.nextBefore && (
          <Button
            small={true}
            minimal={true}
            disabled={m.loadingMore}
            data-testid="timeline-more"
            onClick={() => void m.loadMore()}
          >
            {m.loadingMore ? 'Loading…' : 'Older'}
          </Button>
        )}
      </section>
    </div>
  );
}

/** The panel's content widget; it polls while it is visible. */
export class TimelinePanel extends ReactWidget {
  constructor(model: TimelineModel, commands: CommandRegistry) {
    super();
    this.model = model;
    this.commands = commands;
    this.addClass('jp-mlops-Panel');
    this.addClass('jp-mlops-TimelinePanel');
  }

  readonly model: TimelineModel;
  readonly commands: CommandRegistry;

  render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => <TimelineView model={this.model} commands={this.commands} />}
      </UseSignal>
    );
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.model.refresh();
    this.model.startPolling();
  }

  protected onBeforeHide(msg: Message): void {
    this.model.stopPolling();
    super.onBeforeHide(msg);
  }

  protected onBeforeDetach(msg: Message): void {
    this.model.stopPolling();
    super.onBeforeDetach(msg);
  }
}
