/**
 * State of the Drift panel, outside React so commands (and the Datasets
 * panel's "use as drift reference") can drive it: the dataset versions to
 * pick from, the check on screen, its sort order and plotted column, and the
 * history of checks.
 */

import { ISignal, Signal } from '@lumino/signaling';

import {
  DriftAPI,
  IColumnDrift,
  IDriftCheck,
  IDriftCheckDetail,
  IPlotlyFigure,
  IVersionChoice
} from '../../api/drift';

export type Side = 'reference' | 'current';

export interface ISidePick {
  dataset: string;
  /** A version hash, or '' for the newest one. */
  version: string;
}

export type SortKey =
  | 'name'
  | 'kind'
  | 'test'
  | 'score'
  | 'threshold'
  | 'drifted';

export const LATEST = '';

function message(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

export class DriftModel {
  constructor(api: DriftAPI) {
    this.api = api;
  }

  readonly api: DriftAPI;
  datasets: string[] = [];
  versions: Record<string, IVersionChoice[]> = {};
  reference: ISidePick = { dataset: '', version: LATEST };
  current: ISidePick = { dataset: '', version: LATEST };
  check: IDriftCheckDetail | null = null;
  history: IDriftCheck[] = [];
  sortKey: SortKey = 'drifted';
  sortAscending = false;
  column: string | null = null;
  figure: IPlotlyFigure | null = null;
  figureError: string | null = null;
  loading = false;
  running = false;
  error: string | null = null;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** `name@version`, or `name` (the newest version) when no version is picked. */
  refOf(pick: ISidePick): string {
    return pick.version ? `${pick.dataset}@${pick.version}` : pick.dataset;
  }

  get canRun(): boolean {
    return !!this.reference.dataset && !!this.current.dataset && !this.running;
  }

  /** Reload the datasets and the history; keep the picks that still exist. */
  async refresh(): Promise<void> {
    this.loading = true;
    this._changed.emit();
    try {
      const [datasets, history] = await Promise.all([
        this.api.datasets(),
        this.api.checks({ limit: 50 })
      ]);
      this.datasets = datasets;
      this.history = history.checks;
      for (const side of ['reference', 'current'] as Side[]) {
        const reset = !datasets.includes(this[side].dataset);
        if (reset) {
          this[side] = { dataset: datasets[0] ?? '', version: LATEST };
        }
        if (this[side].dataset) {
          await this._loadVersions(this[side].dataset, true);
          if (reset) {
            this[side].version = this._defaultVersion(side, this[side].dataset);
          }
        }
      }
      this.error = null;
    } catch (reason) {
      this.error = message(reason);
    }
    this.loading = false;
    this._changed.emit();
  }

  /** Pick a side; without `version`, the reference defaults to the version before the newest. */
  async pick(side: Side, dataset: string, version?: string): Promise<void> {
    this[side] = { dataset, version: version ?? LATEST };
    this._changed.emit();
    if (dataset) {
      try {
        await this._loadVersions(dataset, false);
        if (version === undefined && this[side].dataset === dataset) {
          this[side].version = this._defaultVersion(side, dataset);
        }
        this.error = null;
      } catch (reason) {
        this.error = message(reason);
      }
      this._changed.emit();
    }
  }

  /** Run the check on the current picks; the result becomes the check on screen. */
  async run(): Promise<void> {
    if (!this.canRun) {
      return;
    }
    this.running = true;
    this.error = null;
    this._changed.emit();
    try {
      const check = await this.api.check({
        reference: this.refOf(this.reference),
        current: this.refOf(this.current)
      });
      this._show(check);
      this.history = [check, ...this.history.filter(c => c.id !== check.id)];
    } catch (reason) {
      this.error = message(reason);
    }
    this.running = false;
    this._changed.emit();
  }

  /** Show a check of the history. */
  async open(id: number): Promise<void> {
    try {
      this._show(await this.api.get(id));
      this.error = null;
    } catch (reason) {
      this.error = message(reason);
    }
    this._changed.emit();
  }

  /** Plot one column (null: the scores of all columns). */
  async selectColumn(column: string | null): Promise<void> {
    if (!this.check) {
      return;
    }
    const id = this.check.id;
    this.column = column;
    this.figure = null;
    this.figureError = null;
    this._changed.emit();
    try {
      const figure = await this.api.figure(id, column);
      if (this.check?.id === id && this.column === column) {
        this.figure = figure;
      }
    } catch (reason) {
      this.figureError = message(reason);
    }
    this._changed.emit();
  }

  sortBy(key: SortKey): void {
    if (this.sortKey === key) {
      this.sortAscending = !this.sortAscending;
    } else {
      this.sortKey = key;
      this.sortAscending = key === 'name' || key === 'kind' || key === 'test';
    }
    this._changed.emit();
  }

  /** The check's columns in the chosen order; rows without a value sort last. */
  get rows(): IColumnDrift[] {
    const columns = this.check ? [...this.check.report.columns] : [];
    const key = this.sortKey;
    const value = (c: IColumnDrift): string | number | null => {
      if (key === 'drifted') {
        return c.drifted === null ? null : c.drifted ? 1 : 0;
      }
      if (key === 'name' || key === 'kind' || key === 'test') {
        return c[key] ?? null;
      }
      return c[key];
    };
    const sign = this.sortAscending ? 1 : -1;
    return columns.sort((a, b) => {
      const x = value(a);
      const y = value(b);
      if (x === null || y === null) {
        return x === y ? 0 : x === null ? 1 : -1;
      }
      if (x < y) {
        return -sign;
      }
      return x > y ? sign : 0;
    });
  }

  private _show(check: IDriftCheckDetail): void {
    this.check = check;
    const first =
      check.report.columns.find(c => c.drifted && c.summary) ?? null;
    void this.selectColumn(first ? first.name : null);
  }

  /** Compare the newest version with the one before it, when there is one. */
  private _defaultVersion(side: Side, dataset: string): string {
    const versions = this.versions[dataset] ?? [];
    return side === 'reference' && versions.length > 1 ? versions[1].version : LATEST;
  }

  private async _loadVersions(dataset: string, force: boolean): Promise<void> {
    if (force || !this.versions[dataset]) {
      this.versions = {
        ...this.versions,
        [dataset]: await this.api.versions(dataset)
      };
    }
  }

  private _changed = new Signal<this, void>(this);
}
