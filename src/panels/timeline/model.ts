/**
 * State of the Timeline panel, outside React so commands and the poll timer
 * drive it: the active alerts, the monitors with their recent drifted shares,
 * and the unified timeline with its kind filters and paging.
 */

import { ISignal, Signal } from '@lumino/signaling';

import {
  IAlert,
  IMonitor,
  ITimelineItem,
  ITimelineRef,
  MonitorAPI,
  TIMELINE_KINDS,
  TimelineKind
} from '../../api/monitor';
import {
  DatasetsCommandIDs,
  DriftCommandIDs,
  ExperimentsCommandIDs,
  ModelsCommandIDs,
  PipelinesCommandIDs
} from '../../commands';

/** How often the panel reloads while it is visible. */
export const POLL_INTERVAL_MS = 10_000;
export const PAGE_SIZE = 100;
/** Checks drawn in each monitor's sparkline. */
export const SPARK_CHECKS = 20;

export interface ITarget {
  command: string;
  args: Record<string, string | number | null>;
}

function message(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

/** The command (and its arguments) that opens what a timeline item refers to. */
export function targetOf(ref: ITimelineRef): ITarget | null {
  const id = ref.id ?? null;
  const name = ref.name ?? null;
  const version = ref.version ?? null;
  switch (ref.kind) {
    case 'run':
      return {
        command: ExperimentsCommandIDs.open,
        args: { runId: id, experimentId: (ref.experiment_id as string) ?? null }
      };
    case 'dataset':
      return { command: DatasetsCommandIDs.open, args: { name, version } };
    case 'drift_check':
      return { command: DriftCommandIDs.open, args: { checkId: id } };
    case 'alert':
      return ref.drift_check_id
        ? {
            command: DriftCommandIDs.open,
            args: { checkId: ref.drift_check_id as number }
          }
        : null;
    case 'pipeline_run':
      return {
        command: PipelinesCommandIDs.open,
        args: { runId: id, pipeline: (ref.pipeline as string) ?? null }
      };
    case 'gate':
      return { command: ModelsCommandIDs.open, args: { name, version, gateId: id } };
    case 'alias':
      return {
        command: ModelsCommandIDs.open,
        args: { name, version, alias: (ref.alias as string) ?? null }
      };
    case 'deployment':
      return { command: ModelsCommandIDs.open, args: { deployment: name } };
    default:
      return null;
  }
}

export class TimelineModel {
  constructor(api: MonitorAPI) {
    this.api = api;
  }

  readonly api: MonitorAPI;
  alerts: IAlert[] = [];
  monitors: IMonitor[] = [];
  /** Drifted share of each monitor's recent checks, oldest first (null: no verdict). */
  shares: Record<string, (number | null)[]> = {};
  items: ITimelineItem[] = [];
  nextBefore: string | null = null;
  unavailable: Record<string, string> = {};
  kinds: Set<TimelineKind> = new Set(TIMELINE_KINDS);
  loading = false;
  loadingMore = false;
  busy: Set<string> = new Set();
  error: string | null = null;
  lastLoaded: Date | null = null;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Reload alerts, monitors (with their sparklines) and the first page of the timeline. */
  async refresh(): Promise<void> {
    if (this.loading) {
      return;
    }
    this.loading = true;
    this._changed.emit();
    try {
      const [alerts, monitors, page] = await Promise.all([
        this.api.alerts({ status: 'active', limit: 50 }),
        this.api.monitors(),
        this.api.timeline({ kinds: [...this.kinds], limit: PAGE_SIZE })
      ]);
      this.alerts = alerts;
      this.monitors = monitors;
      this.items = page.items;
      this.nextBefore = page.next_before;
      this.unavailable = page.unavailable;
      this.shares = await this._sparklines(monitors);
      this.error = null;
      this.lastLoaded = new Date();
    } catch (reason) {
      this.error = message(reason);
    }
    this.loading = false;
    this._changed.emit();
  }

  /** The next (older) page of the timeline. */
  async loadMore(): Promise<void> {
    if (!this.nextBefore || this.loadingMore) {
      return;
    }
    this.loadingMore = true;
    this._changed.emit();
    try {
      const page = await this.api.timeline({
        kinds: [...this.kinds],
        limit: PAGE_SIZE,
        before: this.nextBefore
      });
      const seen = new Set(this.items.map(i => i.id));
      this.items = [...this.items, ...page.items.filter(i => !seen.has(i.id))];
      this.nextBefore = page.next_before;
      this.error = null;
    } catch (reason) {
      this.error = message(reason);
    }
    this.loadingMore = false;
    this._changed.emit();
  }

  /** Show or hide one kind; the timeline reloads from the top. */
  async toggleKind(kind: TimelineKind): Promise<void> {
    const kinds = new Set(this.kinds);
    if (kinds.has(kind)) {
      kinds.delete(kind);
    } else {
      kinds.add(kind);
    }
    this.kinds = kinds;
    this._changed.emit();
    if (kinds.size === 0) {
      this.items = [];
      this.nextBefore = null;
      this._changed.emit();
      return;
    }
    try {
      const page = await this.api.timeline({ kinds: [...kinds], limit: PAGE_SIZE });
      if (this.kinds === kinds) {
        this.items = page.items;
        this.nextBefore = page.next_before;
        this.unavailable = page.unavailable;
      }
      this.error = null;
    } catch (reason) {
      this.error = message(reason);
    }
    this._changed.emit();
  }

  async acknowledge(id: number, note?: string): Promise<void> {
    await this._act(`alert:${id}`, async () => {
      await this.api.acknowledge(id, note ?? null);
    });
  }

  /** Mute the monitor of an alert for `until` (a duration like '1h' or an ISO time). */
  async mute(monitor: string, until: string | null): Promise<void> {
    await this._act(`monitor:${monitor}`, async () => {
      await this.api.mute(monitor, until);
    });
  }

  async checkNow(monitor: string): Promise<void> {
    await this._act(`monitor:${monitor}`, async () => {
      await this.api.check(monitor);
    });
  }

  async setPaused(monitor: string, paused: boolean): Promise<void> {
    await this._act(`monitor:${monitor}`, async () => {
      await this.api.setPaused(monitor, paused);
    });
  }

  /** Reload every `intervalMs` while the panel is visible (the view calls start/stop). */
  startPolling(intervalMs = POLL_INTERVAL_MS): void {
    this.stopPolling();
    this._timer = setInterval(() => {
      if (typeof document === 'undefined' || document.visibilityState !== 'hidden') {
        void this.refresh();
      }
    }, intervalMs);
  }

  stopPolling(): void {
    if (this._timer !== null) {
      clearInterval(this._timer);
      this._timer = null;
    }
  }

  get polling(): boolean {
    return this._timer !== null;
  }

  dispose(): void {
    this.stopPolling();
    Signal.clearData(this);
  }

  private async _act(key: string, work: () => Promise<void>): Promise<void> {
    this.busy = new Set(this.busy).add(key);
    this._changed.emit();
    try {
      await work();
      this.error = null;
    } catch (reason) {
      this.error = message(reason);
    }
    const busy = new Set(this.busy);
    busy.delete(key);
    this.busy = busy;
    await this.refresh();
  }

  private async _sparklines(
    monitors: IMonitor[]
  ): Promise<Record<string, (number | null)[]>> {
    const histories = await Promise.all(
      monitors.slice(0, 30).map(m =>
        this.api
          .history(m.name, { limit: SPARK_CHECKS })
          .then(h => [m.name, h.checks.map(c => c.share).reverse()] as const)
          .catch(() => [m.name, []] as const)
      )
    );
    return Object.fromEntries(histories);
  }

  private _timer: ReturnType<typeof setInterval> | null = null;
  private _changed = new Signal<this, void>(this);
}
