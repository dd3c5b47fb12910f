/**
 * State of the Datasets panel, kept out of React so that commands (refresh,
 * open) and other plugins (the drift panel, through the drift-reference
 * signal) can drive and observe it: the chosen dataset, its version
 * timeline, the chosen version's detail, up to two versions picked for a
 * diff, and the validation report.
 */

import { ISignal, Signal } from '@lumino/signaling';

import {
  DatasetsAPI,
  IDatasetDiff,
  IDatasetSummary,
  IDatasetVersion,
  IDatasetVersionDetail,
  IValidationReport,
  versionRef
} from '../../api/datasets';
import { MLOpsRequestError } from '../../api/errors';

/** What the right-hand pane shows. */
export type DatasetsPane = 'none' | 'version' | 'diff' | 'validation';

/** A version chosen as the reference of a drift check. */
export interface IDatasetReference {
  name: string;
  version: string;
  /** `name@version`, what drift checks and the clipboard receive. */
  ref: string;
}

function message(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

export class DatasetsModel {
  constructor(api: DatasetsAPI) {
    this.api = api;
  }

  readonly api: DatasetsAPI;
  datasets: IDatasetSummary[] = [];
  dataset: string | null = null;
  versions: IDatasetVersion[] = [];
  runsNote: string | null = null;
  pane: DatasetsPane = 'none';
  detail: IDatasetVersionDetail | null = null;
  /** Versions ticked for a diff (at most two, oldest tick dropped first). */
  compare: string[] = [];
  diff: IDatasetDiff | null = null;
  validation: IValidationReport | null = null;
  /** The validation failed because the dataset has no expectations yet. */
  needsExpectations = false;
  loading = false;
  /** The server's message for the whole panel (list, timeline). */
  error: string | null = null;
  /** The server's message for the right-hand pane (diff, validate, profile). */
  paneError: string | null = null;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted by "Use as drift reference"; the drift panel may listen. */
  get driftReferenceChosen(): ISignal<this, IDatasetReference> {
    return this._driftReference;
  }

  /** Reload the datasets list, and the chosen dataset's timeline when there is one. */
  async refresh(): Promise<void> {
    await this._run(async () => {
      this.datasets = (await this.api.list()).datasets;
      if (this.dataset && !this.datasets.some(d => d.name === this.dataset)) {
        this._clearDataset();
      }
      if (this.dataset) {
        await this._loadVersions(this.dataset);
      }
    });
  }

  /** Show a dataset's timeline, and the detail of its newest version. */
  async selectDataset(name: string): Promise<void> {
    this._clearDataset();
    this.dataset = name;
    await this._run(async () => {
      await this._loadVersions(name);
      if (this.versions.length) {
        await this._loadDetail(name, this.versions[0].version);
      }
    });
  }

  async selectVersion(version: string): Promise<void> {
    const name = this.dataset;
    if (!name) {
      return;
    }
    await this._run(() => this._loadDetail(name, version), true);
  }

  /** The profile of a file version that was snapshotted without one (computed once). */
  async computeProfile(): Promise<void> {
    const name = this.dataset;
    const version = this.detail?.version;
    if (!name || !version) {
      return;
    }
    await this._run(async () => {
      await this.api.profile(name, version);
      await this._loadDetail(name, version);
    }, true);
  }

  toggleCompare(version: string): void {
    if (this.compare.includes(version)) {
      this.compare = this.compare.filter(v => v !== version);
    } else {
      this.compare = [...this.compare, version].slice(-2);
    }
    this._changed.emit();
  }

  /** Diff the two ticked versions, older first (the timeline is newest first). */
  async runDiff(): Promise<void> {
    const name = this.dataset;
    if (!name || this.compare.length !== 2) {
      return;
    }
    const order = (v: string) => this.versions.findIndex(x => x.version === v);
    const [newer, older] = [...this.compare].sort((x, y) => order(x) - order(y));
    await this._run(async () => {
      this.diff = await this.api.diff(name, older, newer);
      this.pane = 'diff';
    }, true);
  }

  async validate(version: string): Promise<void> {
    const name = this.dataset;
    if (!name) {
      return;
    }
    this.needsExpectations = false;
    this.validation = null;
    this.pane = 'validation';
    await this._run(async () => {
      try {
        this.validation = await this.api.validate(name, version);
      } catch (reason) {
        this.needsExpectations =
          reason instanceof MLOpsRequestError &&
          reason.status === 400 &&
          !(this.datasets.find(d => d.name === name)?.has_expectations ?? false);
        throw reason;
      }
    }, true);
  }

  /** Store the expectations suggested by the latest profile, then validate again. */
  async adoptSuggestedExpectations(version: string): Promise<void> {
    const name = this.dataset;
    if (!name) {
      return;
    }
    await this._run(async () => {
      const answer = await this.api.expectations(name, { suggest: true });
      const spec = answer.expectations ?? answer.suggested;
      if (!spec) {
        throw new Error(`No expectations could be suggested for ${name}.`);
      }
      await this.api.setExpectations(name, spec);
      this.datasets = (await this.api.list()).datasets;
    }, true);
    if (!this.paneError) {
      await this.validate(version);
    }
  }

  /** Announce `name@version` as a drift reference (the plugin copies it to the clipboard). */
  useAsDriftReference(version: string): IDatasetReference | null {
    if (!this.dataset) {
      return null;
    }
    const reference = {
      name: this.dataset,
      version,
      ref: versionRef(this.dataset, version)
    };
    this._driftReference.emit(reference);
    return reference;
  }

  closePane(): void {
    this.pane = this.detail ? 'version' : 'none';
    this.paneError = null;
    this._changed.emit();
  }

  private async _loadVersions(name: string): Promise<void> {
    const answer = await this.api.versions(name);
    this.versions = answer.versions;
    this.runsNote = answer.runs_note;
    const known = new Set(this.versions.map(v => v.version));
    this.compare = this.compare.filter(v => known.has(v));
  }

  private async _loadDetail(name: string, version: string): Promise<void> {
    this.detail = await this.api.version(name, version);
    this.pane = 'version';
  }

  private _clearDataset(): void {
    this.dataset = null;
    this.versions = [];
    this.runsNote = null;
    this.detail = null;
    this.diff = null;
    this.validation = null;
    this.compare = [];
    this.pane = 'none';
    this.paneError = null;
  }

  /** Run `work` with the loading flag; errors land on the panel or on the pane. */
  private async _run(work: () => Promise<void>, pane = false): Promise<void> {
    this.loading = true;
    if (pane) {
      this.paneError = null;
    } else {
      this.error = null;
    }
    this._changed.emit();
    try {
      await work();
    } catch (reason) {
      if (pane) {
        this.paneError = message(reason);
      } else {
        this.error = message(reason);
      }
    } finally {
      this.loading = false;
      this._changed.emit();
    }
  }

  private _changed = new Signal<this, void>(this);
  private _driftReference = new Signal<this, IDatasetReference>(this);
}
