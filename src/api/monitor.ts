/**
 * The monitor, alert and timeline routes. Shapes mirror
 * `jupyter_mlops/server/monitor_models.py`.
 */

import { IMLOpsClient, QueryValue } from './client';

export type CheckStatus = 'ok' | 'drift' | 'insufficient_data' | 'error';
export type AlertStatus = 'open' | 'acknowledged' | 'resolved';
export type TimelineKind =
  | 'run'
  | 'dataset'
  | 'pipeline_run'
  | 'gate'
  | 'alias'
  | 'deployment'
  | 'drift_check'
  | 'alert'
  | 'event';

/** Every kind, in the order the panel's filters show them. */
export const TIMELINE_KINDS: TimelineKind[] = [
  'alert',
  'drift_check',
  'deployment',
  'alias',
  'gate',
  'pipeline_run',
  'run',
  'dataset',
  'event'
];

export interface IMonitorCheck {
  id: number;
  monitor: string;
  ts: string;
  status: CheckStatus;
  rows: number;
  window_start: string | null;
  window_end: string | null;
  drifted: boolean | null;
  share: number | null;
  n_drifted: number | null;
  n_evaluated: number | null;
  drifted_columns: string[];
  /** `name@<hash>` the window was compared with. */
  reference: string | null;
  drift_check_id: number | null;
  /** Set only when this check raised an alert. */
  alert_id: number | null;
  /** Why no alert on drift (incident open, cool-down, muted), or the error. */
  message: string | null;
  duration_ms: number | null;
  trigger_id: number | null;
}

export interface IMonitor {
  id: number;
  name: string;
  deployment: string;
  reference: string | null;
  schedule: string;
  window: string;
  columns: string[] | null;
  thresholds: Record<string, number> | null;
  tests: unknown;
  drift_share: number;
  on_drift: string | null;
  min_rows: number;
  cooldown_s: number;
  paused: boolean;
  muted: boolean;
  muted_until: string | null;
  next_check_at: string | null;
  last_check_at: string | null;
  last_status: string | null;
  open_alert_id: number | null;
  last_alert_at: string | null;
  created: string;
  updated: string;
  actor: string | null;
  last_check: IMonitorCheck | null;
}

export interface IMonitorCreate {
  deployment: string;
  name?: string | null;
  reference?: string | null;
  schedule?: string;
  window?: string | number;
  columns?: string[] | null;
  thresholds?: Record<string, number> | null;
  tests?: string | Record<string, string> | null;
  drift_share?: number;
  on_drift?: string | null;
  min_rows?: number;
  cooldown?: string | number;
}

export interface IAlert {
  id: number;
  monitor: string;
  deployment: string;
  created: string;
  status: AlertStatus;
  title: string;
  share: number | null;
  drifted_columns: string[];
  window_start: string | null;
  window_end: string | null;
  check_id: number | null;
  drift_check_id: number | null;
  pipeline: string | null;
  trigger_id: number | null;
  occurrences: number;
  last_seen: string | null;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  note: string | null;
  resolved_at: string | null;
}

export interface IAlertQuery {
  /** 'active' = open or acknowledged. */
  status?: AlertStatus | 'active';
  monitor?: string;
  limit?: number;
  before_id?: number;
}

/** What a surface opens for an item: `{kind, id | name, version…}`. */
export interface ITimelineRef {
  kind: string;
  id?: string | number;
  name?: string;
  version?: string | number | null;
  [key: string]: unknown;
}

export interface ITimelineItem {
  kind: TimelineKind;
  /** Unique in the list: `<kind>:<id>`. */
  id: string;
  time: string;
  title: string;
  status: string | null;
  subject: string | null;
  actor: string | null;
  ref: ITimelineRef;
  detail: Record<string, unknown>;
}

export interface ITimelineQuery {
  since?: string;
  until?: string;
  /** Items strictly older than this time: the previous page's `next_before`. */
  before?: string;
  kinds?: TimelineKind[];
  limit?: number;
}

export interface ITimelinePage {
  items: ITimelineItem[];
  next_before: string | null;
  /** Sources that did not answer, and why. */
  unavailable: Record<string, string>;
}

export class MonitorAPI {
  constructor(client: IMLOpsClient) {
    this.client = client;
  }

  readonly client: IMLOpsClient;

  async monitors(deployment?: string): Promise<IMonitor[]> {
    const answer = await this.client.request<{ monitors: IMonitor[] }>('monitors', {
      query: { deployment }
    });
    return answer.monitors;
  }

  get(name: string): Promise<IMonitor> {
    return this.client.request<IMonitor>(`monitors/${encodeURIComponent(name)}`);
  }

  /** Create a monitor, or update the one of that name. */
  create(body: IMonitorCreate): Promise<IMonitor> {
    return this.client.request<IMonitor>('monitors', { method: 'POST', body });
  }

  setPaused(name: string, paused: boolean): Promise<IMonitor> {
    return this.client.request<IMonitor>(`monitors/${encodeURIComponent(name)}`, {
      method: 'PATCH',
      body: { paused }
    });
  }

  remove(name: string): Promise<{ name: string; deleted: boolean }> {
    return this.client.request(`monitors/${encodeURIComponent(name)}`, {
      method: 'DELETE'
    });
  }

  /** Check now: compare the window with the reference; alert and trigger on drift. */
  check(name: string): Promise<IMonitorCheck> {
    return this.client.request<IMonitorCheck>(
      `monitors/${encodeURIComponent(name)}/check`,
      { method: 'POST' }
    );
  }

  history(
    name: string,
    query: { limit?: number; before_id?: number } = {}
  ): Promise<{ checks: IMonitorCheck[]; next_before_id: number | null }> {
    return this.client.request(`monitors/${encodeURIComponent(name)}/history`, {
      query: query as Record<string, QueryValue>
    });
  }

  /** No alerts until `until` (ISO time or a duration from now like '2h'); null unmutes. */
  mute(name: string, until: string | null): Promise<IMonitor> {
    return this.client.request<IMonitor>(`monitors/${encodeURIComponent(name)}/mute`, {
      method: 'POST',
      body: { until }
    });
  }

  async alerts(query: IAlertQuery = {}): Promise<IAlert[]> {
    const answer = await this.client.request<{ alerts: IAlert[] }>('alerts', {
      query: query as Record<string, QueryValue>
    });
    return answer.alerts;
  }

  acknowledge(id: number, note?: string | null): Promise<IAlert> {
    return this.client.request<IAlert>(`alerts/${id}/acknowledge`, {
      method: 'POST',
      body: note ? { note } : {}
    });
  }

  timeline(query: ITimelineQuery = {}): Promise<ITimelinePage> {
    const { kinds, ...rest } = query;
    return this.client.request<ITimelinePage>('timeline', {
      query: {
        ...(rest as Record<string, QueryValue>),
        kinds: kinds && kinds.length ? kinds.join(',') : undefined
      }
    });
  }
}
