/**
 * State of the Experiments panel, kept out of React so that commands and the
 * settings registry can drive it: the chosen experiment, one page of runs
 * (filter, order and paging done by the server in the MLflow store), the
 * chosen columns, the selection, and the detail or compare view.
 */

import { ISignal, Signal } from '@lumino/signaling';

import {
  ExperimentsAPI,
  IComparison,
  IExperiment,
  IMetricHistory,
  IRunDetail,
  IRunPage,
  IRunSummary
} from '../../api/experiments';

/** A user-chosen column: `params.<key>`, `metrics.<key>` or `tags.<key>`. */
export type ColumnId = string;
export type ColumnKind = 'params' | 'metrics' | 'tags';

export function splitColumn(id: ColumnId): [ColumnKind, string] {
  const dot = id.indexOf('.');
  return [id.slice(0, dot) as ColumnKind, id.slice(dot + 1)];
}

/** The MLflow order clause of a column, with the key quoted for dots and spaces. */
export function orderKey(id: ColumnId): string {
  const [kind, key] = splitColumn(id);
  return `${kind}.\`${key.replace(/`/g, '')}\``;
}

export interface ISort {
  /** An MLflow order expression, e.g. `attributes.start_time` or metrics.`acc`. */
  key: string;
  descending: boolean;
}

export const DEFAULT_SORT: ISort = {
  key: 'attributes.start_time',
  descending: true
};
/** How many params and metrics are shown when the user chose no columns. */
export const AUTO_COLUMNS = 4;
/** Metric histories charted in the compare view at most (one request per run and metric). */
export const MAX_CHARTED_METRICS = 6;

export type RightPane = 'none' | 'detail' | 'compare';

function message(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

export class ExperimentsModel {
  constructor(api: ExperimentsAPI) {
    this.api = api;
  }

  readonly api: ExperimentsAPI;
  experiments: IExperiment[] = [];
  experimentId: string | null = null;
  page: IRunPage | null = null;
  /** 0-based index of the page shown; tokens[i] fetches page i. */
  pageIndex = 0;
  filter = '';
  sort: ISort = DEFAULT_SORT;
  pageSize = 50;
  /** Empty: the first few params and metrics of the page ("auto"). */
  columns: ColumnId[] = [];
  /** Selected runs, kept across pages (id -> row as last seen). */
  selected = new Map<string, IRunSummary>();
  pane: RightPane = 'none';
  detail: IRunDetail | null = null;
  comparison: IComparison | null = null;
  /** metric key -> one history per compared run. */
  histories: Record<string, IMetricHistory[]> = {};
  loading = false;
  /** The server's message for the panel (the runs table, the list). */
  error: string | null = null;
  /** The server's message for the detail / compare pane. */
  paneError: string | null = null;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted when the user changes columns or page size (the plugin saves them). */
  get preferencesChanged(): ISignal<this, void> {
    return this._preferencesChanged;
  }

  get experiment(): IExperiment | null {
    return this.experiments.find(e => e.id === this.experimentId) ?? null;
  }

  get hasPrevious(): boolean {
    return this.pageIndex > 0;
  }

  get hasNext(): boolean {
    return !!this.page?.next_page_token;
  }

  /** The columns shown: the user's, or the first params and metrics seen. */
  get shownColumns(): ColumnId[] {
    if (this.columns.length) {
      return this.columns;
    }
    const runs = this.page?.runs ?? [];
    const keys = (kind: 'params' | 'metrics') =>
      [...new Set(runs.flatMap(r => Object.keys(r[kind])))]
        .sort()
        .slice(0, AUTO_COLUMNS)
        .map(k => `${kind}.${k}`);
    return [...keys('metrics'), ...keys('params')];
  }

  /** Every column the user could choose from: those on this page, plus the chosen ones. */
  get availableColumns(): Record<ColumnKind, string[]> {
    const runs = this.page?.runs ?? [];
    const found: Record<ColumnKind, Set<string>> = {
      params: new Set(),
      metrics: new Set(),
      tags: new Set()
    };
    for (const run of runs) {
      for (const kind of ['params', 'metrics', 'tags'] as ColumnKind[]) {
        Object.keys(run[kind]).forEach(k => found[kind].add(k));
      }
    }
    for (const column of this.columns) {
      const [kind, key] = splitColumn(column);
      found[kind]?.add(key);
    }
    return {
      params: [...found.params].sort(),
      metrics: [...found.metrics].sort(),
      tags: [...found.tags].sort()
    };
  }

  /** Apply saved preferences without emitting preferencesChanged. */
  applyPreferences(columns: ColumnId[], pageSize: number): void {
    const sizeChanged = pageSize !== this.pageSize;
    this.columns = columns.filter(c => /^(params|metrics|tags)\../.test(c));
    this.pageSize = pageSize;
    if (sizeChanged && this.experimentId) {
      void this.loadPage(0);
    } else {
      this._changed.emit();
    }
  }

  async refreshExperiments(): Promise<void> {
    this.loading = true;
    this._changed.emit();
    try {
      this.experiments = (await this.api.experiments()).experiments;
      this.error = null;
      if (!this.experiment && this.experiments.length) {
        this.experimentId = this.experiments[0].id;
      }
    } catch (reason) {
      this.error = message(reason);
      this.loading = false;
      this._changed.emit();
      return;
    }
    if (this.experimentId) {
      await this.loadPage(Math.min(this.pageIndex, this._tokens.length - 1));
    } else {
      this.loading = false;
      this._changed.emit();
    }
  }

  async selectExperiment(id: string): Promise<void> {
    if (id === this.experimentId && this.page) {
      return;
    }
    this.experimentId = id;
    this.page = null;
    this.selected.clear();
    this.pane = 'none';
    await this.loadPage(0);
  }

  /** Page i, with the token remembered when page i-1 was read. */
  async loadPage(index: number): Promise<void> {
    if (!this.experimentId) {
      return;
    }
    if (index === 0) {
      this._tokens = [null];
    }
    const token = this._tokens[index] ?? null;
    const ticket = ++this._ticket;
    this.loading = true;
    this._changed.emit();
    try {
      const page = await this.api.runs(this.experimentId, {
        filter: this.filter.trim() || undefined,
        order_by: `${this.sort.key} ${this.sort.descending ? 'DESC' : 'ASC'}`,
        page_size: this.pageSize,
        page_token: token
      });
      if (ticket !== this._ticket) {
        return; // a newer request (another page, filter or sort) has been made
      }
      this.page = page;
      this.pageIndex = index;
      this._tokens[index + 1] = page.next_page_token;
      this._tokens.length = index + 2;
      this.error = null;
    } catch (reason) {
      if (ticket !== this._ticket) {
        return;
      }
      this.error = message(reason);
    }
    this.loading = false;
    this._changed.emit();
  }

  nextPage(): Promise<void> {
    return this.hasNext ? this.loadPage(this.pageIndex + 1) : Promise.resolve();
  }

  previousPage(): Promise<void> {
    return this.hasPrevious
      ? this.loadPage(this.pageIndex - 1)
      : Promise.resolve();
  }

  /** A new filter (MLflow syntax) starts again at the first page. */
  applyFilter(filter: string): Promise<void> {
    this.filter = filter;
    return this.loadPage(0);
  }

  /** Click on a header: sort by it, descending first; a second click flips it. */
  sortBy(key: string): Promise<void> {
    this.sort =
      this.sort.key === key
        ? { key, descending: !this.sort.descending }
        : { key, descending: true };
    return this.loadPage(0);
  }

  toggleColumn(id: ColumnId): void {
    const current = this.columns.length ? this.columns : this.shownColumns;
    this.columns = current.includes(id)
      ? current.filter(c => c !== id)
      : [...current, id];
    this._preferencesChanged.emit();
    this._changed.emit();
  }

  setPageSize(size: number): Promise<void> {
    this.pageSize = size;
    this._preferencesChanged.emit();
    return this.loadPage(0);
  }

  toggleSelected(run: IRunSummary): void {
    if (this.selected.has(run.id)) {
      this.selected.delete(run.id);
    } else {
      this.selected.set(run.id, run);
    }
    this._changed.emit();
  }

  clearSelection(): void {
    this.selected.clear();
    this._changed.emit();
  }

  async openRun(runId: string): Promise<void> {
    this.pane = 'detail';
    this.paneError = null;
    this.detail = null;
    this._changed.emit();
    try {
      this.detail = await this.api.run(runId);
    } catch (reason) {
      this.paneError = message(reason);
    }
    this._changed.emit();
  }

  /** Open a run by id from elsewhere (a `%mlops runs` link): its experiment, then it. */
  async showRun(runId: string): Promise<void> {
    await this.openRun(runId);
    const experimentId = this.detail?.run.experiment_id;
    if (experimentId && experimentId !== this.experimentId) {
      if (!this.experiments.some(e => e.id === experimentId)) {
        await this.refreshExperiments();
      }
      this.experimentId = experimentId;
      this.selected.clear();
      await this.loadPage(0);
    }
  }

  /** Compare the selected runs: the table first, then the metric histories. */
  async compareSelected(): Promise<void> {
    const ids = [...this.selected.keys()];
    this.pane = 'compare';
    this.paneError = null;
    this.comparison = null;
    this.histories = {};
    this._changed.emit();
    try {
      this.comparison = await this.api.compare(ids);
    } catch (reason) {
      this.paneError = message(reason);
      this._changed.emit();
      return;
    }
    this._changed.emit();
    const keys = Object.keys(this.comparison.metrics).slice(
      0,
      MAX_CHARTED_METRICS
    );
    try {
      const entries = await Promise.all(
        keys.map(async key => {
          // null: the run lacks the metric (or its last value is NaN)
          const byRun = this.comparison?.metrics[key] ?? {};
          const found = await Promise.all(
            ids
              .filter(id => byRun[id] !== null && byRun[id] !== undefined)
              .map(id => this.api.metricHistory(id, key))
          );
          return [key, found] as const;
        })
      );
      this.histories = Object.fromEntries(entries);
    } catch (reason) {
      this.paneError = message(reason);
    }
    this._changed.emit();
  }

  closePane(): void {
    this.pane = 'none';
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
  private _preferencesChanged = new Signal<this, void>(this);
  private _tokens: (string | null)[] = [null];
  private _ticket = 0;
}
