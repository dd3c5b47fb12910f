/**
 * State of the Pipelines panel, outside React so commands (the notebook
 * toolbar button, the context menu) can drive it: the pipelines of the
 * workspace, the selected one with its DAG and Run form, its run history
 * (polled while a run is active), its schedules and the schedule editor with
 * the next fire times computed by the server.
 */

import { ISignal, Signal } from '@lumino/signaling';

import {
  DONE_STATUSES,
  IPipelineDetail,
  IPipelineSummary,
  IRun,
  ISchedule,
  PipelinesAPI
} from '../../api/pipelines';
import { collect, fieldText } from './params';

export const POLL_MS = 1000;

function message(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

/** What the schedule editor holds. */
export interface IScheduleDraft {
  cron: string;
  timezone: string;
  catchUp: 'skip' | 'latest' | 'backfill';
}

export class PipelinesModel {
  constructor(api: PipelinesAPI) {
    this.api = api;
  }

  readonly api: PipelinesAPI;
  pipelines: IPipelineSummary[] = [];
  selected: string | null = null;
  detail: IPipelineDetail | null = null;
  detailError: string | null = null;
  fields: Record<string, string> = {};
  runs: IRun[] = [];
  nextBefore: string | null = null;
  /** The run whose steps the DAG and the steps table show. */
  run: IRun | null = null;
  schedules: ISchedule[] = [];
  draft: IScheduleDraft = { cron: '0 3 * * *', timezone: 'UTC', catchUp: 'latest' };
  preview: string[] = [];
  previewError: string | null = null;
  loading = false;
  starting = false;
  error: string | null = null;
  /** Which section the panel shows for the selected pipeline. */
  tab: 'run' | 'schedule' = 'run';

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get active(): boolean {
    return this.runs.some(r => !DONE_STATUSES.includes(r.status));
  }

  /** Reload the list of pipelines (and the selected one). */
  async refresh(): Promise<void> {
    this.loading = true;
    this._changed.emit();
    try {
      this.pipelines = (await this.api.list()).pipelines;
      this.error = null;
      if (this.selected) {
        await this._loadSelected();
      }
    } catch (reason) {
      this.error = message(reason);
    }
    this.loading = false;
    this._changed.emit();
  }

  /** Select a pipeline (a spec file or a notebook) by its workspace-relative path. */
  async select(path: string, tab?: 'run' | 'schedule'): Promise<void> {
    if (tab) {
      this.tab = tab;
    }
    if (path !== this.selected) {
      this.selected = path;
      this.detail = null;
      this.detailError = null;
      this.runs = [];
      this.run = null;
      this.schedules = [];
      this.nextBefore = null;
      this.fields = {};
    }
    this._changed.emit();
    await this._loadSelected();
    this._changed.emit();
  }

  clearError(): void {
    this.error = null;
    this._changed.emit();
  }

  setTab(tab: 'run' | 'schedule'): void {
    this.tab = tab;
    this._changed.emit();
    if (tab === 'schedule' && !this.preview.length) {
      void this.updatePreview();
    }
  }

  setField(name: string, text: string): void {
    this.fields = { ...this.fields, [name]: text };
    this._changed.emit();
  }

  /** Start a run with the form's values. */
  async start(): Promise<void> {
    if (!this.detail || this.starting) {
      return;
    }
    const { values, error } = collect(this.detail.parameters, this.fields);
    if (error) {
      this.error = error;
      this._changed.emit();
      return;
    }
    this.starting = true;
    this.error = null;
    this._changed.emit();
    try {
      const run = await this.api.run(this.detail.path, values);
      this.runs = [run, ...this.runs.filter(r => r.id !== run.id)];
      this.run = run;
      this._poll();
    } catch (reason) {
      this.error = message(reason);
    }
    this.starting = false;
    this._changed.emit();
  }

  async cancel(id: string): Promise<void> {
    await this._act(async () => this._replace(await this.api.cancel(id)));
  }

  async rerun(id: string): Promise<void> {
    await this._act(async () => {
      const run = await this.api.rerun(id);
      this.runs = [run, ...this.runs];
      this.run = run;
      this._poll();
    });
  }

  /** Show a run's steps in the DAG and the steps table. */
  async showRun(id: string): Promise<void> {
    await this._act(async () => {
      this.run = await this.api.getRun(id);
    });
  }

  async moreRuns(): Promise<void> {
    if (!this.selected || !this.nextBefore) {
      return;
    }
    await this._act(async () => {
      const page = await this.api.runs({
        pipeline: this.selected,
        before: this.nextBefore,
        limit: 20
      });
      this.runs = [...this.runs, ...page.runs];
      this.nextBefore = page.next_before;
    });
  }

  // -- schedules ---------------------------------------------------------------
  setDraft(draft: Partial<IScheduleDraft>): void {
    this.draft = { ...this.draft, ...draft };
    this._changed.emit();
    window.clearTimeout(this._previewTimer);
    this._previewTimer = window.setTimeout(() => void this.updatePreview(), 300);
  }

  /** The next five fire times of the draft, from the server (which says why a cron is bad). */
  async updatePreview(): Promise<void> {
    const { cron, timezone } = this.draft;
    try {
      const times = await this.api.fireTimes(cron, timezone, 5);
      if (cron === this.draft.cron && timezone === this.draft.timezone) {
        this.preview = times.times;
        this.previewError = null;
      }
    } catch (reason) {
      this.preview = [];
      this.previewError = message(reason);
    }
    this._changed.emit();
  }

  /** Save the draft as a new schedule of the selected pipeline, with the form's values. */
  async createSchedule(): Promise<void> {
    if (!this.detail) {
      return;
    }
    const { values, error } = collect(this.detail.parameters, this.fields);
    if (error) {
      this.error = error;
      this._changed.emit();
      return;
    }
    await this._act(async () => {
      const made = await this.api.createSchedule({
        pipeline: this.detail!.path,
        cron: this.draft.cron,
        timezone: this.draft.timezone,
        catch_up: this.draft.catchUp,
        parameters: values
      });
      this.schedules = [...this.schedules, made];
    });
  }

  async pause(id: number, paused: boolean): Promise<void> {
    await this._act(async () => {
      const next = paused ? await this.api.pause(id) : await this.api.resume(id);
      this.schedules = this.schedules.map(s => (s.id === id ? next : s));
    });
  }

  async deleteSchedule(id: number): Promise<void> {
    await this._act(async () => {
      await this.api.deleteSchedule(id);
      this.schedules = this.schedules.filter(s => s.id !== id);
    });
  }

  dispose(): void {
    window.clearTimeout(this._pollTimer);
    window.clearTimeout(this._previewTimer);
  }

  // -- internals -----------------------------------------------------------------
  private async _loadSelected(): Promise<void> {
    const path = this.selected;
    if (!path) {
      return;
    }
    try {
      const detail = await this.api.get(path);
      if (this.selected !== path) {
        return;
      }
      this.detail = detail;
      this.detailError = null;
      const fields: Record<string, string> = {};
      for (const p of detail.parameters) {
        fields[p.name] = this.fields[p.name] ?? fieldText(p);
      }
      this.fields = fields;
    } catch (reason) {
      if (this.selected === path) {
        this.detail = null;
        this.detailError = message(reason);
      }
    }
    try {
      const [runs, schedules] = await Promise.all([
        this.api.runs({ pipeline: path, limit: 20 }),
        this.api.schedules(path)
      ]);
      if (this.selected !== path) {
        return;
      }
      this.runs = runs.runs;
      this.nextBefore = runs.next_before;
      this.schedules = schedules.schedules;
      const shown = this.run && this.runs.find(r => r.id === this.run!.id);
      this.run = shown ?? this.runs[0] ?? null;
      if (this.active) {
        this._poll();
      }
    } catch (reason) {
      this.error = message(reason);
    }
  }

  /** Poll the active runs until none is left (then stop: no timer while idle). */
  private _poll(): void {
    window.clearTimeout(this._pollTimer);
    this._pollTimer = window.setTimeout(async () => {
      const active = this.runs.filter(r => !DONE_STATUSES.includes(r.status));
      if (!active.length) {
        return;
      }
      try {
        for (const run of active) {
          this._replace(await this.api.getRun(run.id));
        }
      } catch (reason) {
        this.error = message(reason);
      }
      this._changed.emit();
      if (this.active) {
        this._poll();
      } else {
        void this.refreshList();
      }
    }, POLL_MS);
  }

  /** The list's "last run" column, after a run ended. */
  private async refreshList(): Promise<void> {
    try {
      this.pipelines = (await this.api.list()).pipelines;
      this._changed.emit();
    } catch {
      // the list is refreshed again on the next action
    }
  }

  private _replace(run: IRun): void {
    this.runs = this.runs.map(r => (r.id === run.id ? run : r));
    if (this.run?.id === run.id) {
      this.run = run;
    }
    if (!DONE_STATUSES.includes(run.status)) {
      this._poll();
    }
  }

  private async _act(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
      this.error = null;
    } catch (reason) {
      this.error = message(reason);
    }
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
  private _pollTimer: number | undefined;
  private _previewTimer: number | undefined;
}
