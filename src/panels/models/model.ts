/**
 * State of the Models panel's Registry tab, outside React so commands can
 * drive it: the registered models, the selected model's versions, alias
 * history and gate results, the "Run gate" and "Promote" forms, and the
 * lineage on screen.
 */

import { ISignal, Signal } from '@lumino/signaling';

import { DatasetsAPI, IDatasetVersion } from '../../api/datasets';
import {
  IAliasList,
  IGateResult,
  ILineage,
  IModelDetail,
  IRegisteredModel,
  RegistryAPI
} from '../../api/registry';

export type ModelsTab = 'registry' | 'deployments';

/** Metrics the gate knows (jupyter_mlops/core/registry/gate.py BUILTIN_METRICS). */
export const GATE_METRICS = [
  'f1',
  'accuracy',
  'balanced_accuracy',
  'precision',
  'recall',
  'roc_auc',
  'log_loss',
  'rmse',
  'mse',
  'mae',
  'r2',
  'mape'
];

export interface IGateForm {
  challenger: string;
  against: string;
  dataset: string;
  /** A version hash of `dataset`. */
  version: string;
  metric: string;
  minDelta: string;
  promote: boolean;
}

export interface IPromoteForm {
  /** A version number or an alias. */
  version: string;
  alias: string;
  reason: string;
}

/** A gate's side as the form's pickers name it: `v3` (a version) -> `3`, aliases as they are. */
function sideValue(ref: string | null): string {
  return (ref ?? '').replace(/^v(\d+)$/, '$1');
}

function message(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

export class ModelsModel {
  constructor(registry: RegistryAPI, datasets: DatasetsAPI) {
    this.api = registry;
    this.datasetsApi = datasets;
  }

  readonly api: RegistryAPI;
  readonly datasetsApi: DatasetsAPI;
  tab: ModelsTab = 'registry';
  models: IRegisteredModel[] = [];
  selected: string | null = null;
  detail: IModelDetail | null = null;
  aliases: IAliasList | null = null;
  gates: IGateResult[] = [];
  gate: IGateResult | null = null;
  lineage: ILineage | null = null;
  lineageVersion: number | null = null;
  datasets: string[] = [];
  datasetVersions: Record<string, IDatasetVersion[]> = {};
  gateForm: IGateForm = {
    challenger: 'challenger',
    against: 'champion',
    dataset: '',
    version: '',
    metric: 'f1',
    minDelta: '0.01',
    promote: false
  };
  promoteForm: IPromoteForm = { version: 'challenger', alias: 'champion', reason: '' };
  loading = false;
  gating = false;
  promoting = false;
  error: string | null = null;
  gateError: string | null = null;
  promoteError: string | null = null;
  lineageError: string | null = null;
  notice: string | null = null;
  /** The model the gate form was last filled for. */
  private _formModel: string | null = null;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  setTab(tab: ModelsTab): void {
    this.tab = tab;
    this._changed.emit();
  }

  /** Reload the models list (and the selected model, if it still exists). */
  async refresh(): Promise<void> {
    this.loading = true;
    this._changed.emit();
    try {
      this.models = await this.api.models();
      this.error = null;
      const keep =
        this.selected && this.models.some(m => m.name === this.selected)
          ? this.selected
          : (this.models[0]?.name ?? null);
      if (keep) {
        await this.select(keep);
      } else {
        this.selected = null;
        this.detail = null;
      }
      await this._loadDatasets();
    } catch (reason) {
      this.error = message(reason);
    }
    this.loading = false;
    this._changed.emit();
  }

  /** Show one model: its versions, alias history and gate results. */
  async select(name: string): Promise<void> {
    if (name !== this.selected) {
      this.gate = null;
      this.lineage = null;
      this.lineageVersion = null;
      this.notice = null;
    }
    this.selected = name;
    this._changed.emit();
    try {
      const [detail, aliases, gates, models] = await Promise.all([
        this.api.model(name),
        this.api.aliases(name),
        this.api.gates({ model: name, limit: 50 }),
        this.api.models()
      ]);
      this.models = models;
      if (this.selected !== name) {
        return;
      }
      const fresh = this._formModel !== name;
      this.detail = detail;
      this.aliases = aliases;
      this.gates = gates;
      this.error = null;
      if (fresh && gates.length > 0) {
        // the form starts from the model's last gate, not from defaults next to it
        this._formFromGate(gates[0]);
      }
      this._formModel = name;
    } catch (reason) {
      this.error = message(reason);
    }
    this._changed.emit();
  }

  /** The choices of the gate's challenger/against pickers: aliases, then version numbers. */
  get sideChoices(): string[] {
    const aliases = Object.keys(this.detail?.aliases ?? {}).sort();
    for (const usual of ['challenger', 'champion']) {
      if (!aliases.includes(usual)) {
        aliases.push(usual);
      }
    }
    const versions = (this.detail?.versions ?? []).map(v => String(v.version));
    return [...aliases, ...versions];
  }

  updateGateForm(patch: Partial<IGateForm>): void {
    this.gateForm = { ...this.gateForm, ...patch };
    this._changed.emit();
    if (patch.dataset !== undefined && patch.version === undefined) {
      void this._pickDataset(patch.dataset);
    }
  }

  updatePromoteForm(patch: Partial<IPromoteForm>): void {
    this.promoteForm = { ...this.promoteForm, ...patch };
    this.promoteError = null;
    this._changed.emit();
  }

  get canGate(): boolean {
    const f = this.gateForm;
    return (
      !!this.selected &&
      !!f.dataset &&
      !!f.version &&
      !!f.metric &&
      f.minDelta.trim() !== '' &&
      Number.isFinite(Number(f.minDelta)) &&
      !this.gating
    );
  }

  get canPromote(): boolean {
    const f = this.promoteForm;
    return !!this.selected && !!f.version && !!f.alias.trim() && !!f.reason.trim() && !this.promoting;
  }

  /** Run the gate from the form; the result becomes the one on screen. */
  async runGate(): Promise<void> {
    if (!this.canGate || !this.selected) {
      return;
    }
    const f = this.gateForm;
    const name = this.selected;
    this.gating = true;
    this.gateError = null;
    this._changed.emit();
    try {
      const result = await this.api.gate({
        model: name,
        challenger: f.challenger,
        against: f.against,
        dataset: `${f.dataset}@${f.version}`,
        metrics: { [f.metric]: { min_delta: Number(f.minDelta) } },
        promote: f.promote
      });
      this.gate = result;
      this.notice = result.promoted
        ? `Gate #${result.id} passed: v${result.challenger} is now @${result.promoted_alias}.`
        : null;
      await this.select(name);
      if (result.passed && !result.promoted) {
        this.promoteForm = {
          ...this.promoteForm,
          version: String(result.challenger),
          reason: this.promoteForm.reason || `gate #${result.id} passed on ${this._short(result.dataset)}`
        };
      }
    } catch (reason) {
      this.gateError = message(reason);
    }
    this.gating = false;
    this._changed.emit();
  }

  /** Promote with the form's reason; the alias history then shows the move. */
  async promote(): Promise<void> {
    if (!this.canPromote || !this.selected) {
      return;
    }
    const f = this.promoteForm;
    const name = this.selected;
    this.promoting = true;
    this.promoteError = null;
    this._changed.emit();
    try {
      const answer = await this.api.promote(name, f.version, f.reason.trim(), f.alias.trim());
      this.notice = answer.moved
        ? `@${answer.alias.alias} moved to v${answer.alias.version}.`
        : `@${answer.alias.alias} already pointed at v${answer.alias.version}.`;
      this.promoteForm = { ...this.promoteForm, reason: '' };
      await this.select(name);
    } catch (reason) {
      this.promoteError = message(reason);
    }
    this.promoting = false;
    this._changed.emit();
  }

  /** Show a recorded gate result; the form takes its settings, ready to run it again. */
  showGate(id: number): void {
    const shown = this.gates.find(g => g.id === id);
    if (shown) {
      this.gate = shown;
      this._formFromGate(shown);
    }
    this._changed.emit();
  }

  /** The form as `result` was asked for: sides, held-out version, first metric and delta. */
  private _formFromGate(result: IGateResult): void {
    const [metric, rules] =
      Object.entries(result.metrics).find(([name]) => GATE_METRICS.includes(name)) ?? [];
    const [dataset, version] = result.dataset.split('@');
    this.gateForm = {
      ...this.gateForm,
      challenger: sideValue(result.challenger_ref) || this.gateForm.challenger,
      against: sideValue(result.champion_ref) || this.gateForm.against,
      metric: metric ?? this.gateForm.metric,
      minDelta: metric ? String(rules?.min_delta ?? 0) : this.gateForm.minDelta
    };
    if (dataset && (dataset !== this.gateForm.dataset || version !== this.gateForm.version)) {
      void this._pickDataset(dataset, version);
    }
  }

  /** Load and show the lineage of a version. */
  async showLineage(version: number): Promise<void> {
    if (!this.selected) {
      return;
    }
    this.lineageVersion = version;
    this.lineage = null;
    this.lineageError = null;
    this._changed.emit();
    try {
      const graph = await this.api.lineage(this.selected, version);
      if (this.lineageVersion === version) {
        this.lineage = graph;
      }
    } catch (reason) {
      this.lineageError = message(reason);
    }
    this._changed.emit();
  }

  private _short(dataset: string): string {
    const [name, version] = dataset.split('@');
    return version ? `${name}@${version.slice(0, 12)}` : dataset;
  }

  private async _loadDatasets(): Promise<void> {
    const answer = await this.datasetsApi.list();
    this.datasets = answer.datasets.map(d => d.name);
    if (!this.datasets.includes(this.gateForm.dataset)) {
      const holdout = this.datasets.find(d => /holdout|test|eval/i.test(d));
      await this._pickDataset(holdout ?? this.datasets[0] ?? '');
    } else {
      await this._pickDataset(this.gateForm.dataset, this.gateForm.version);
    }
  }

  private async _pickDataset(dataset: string, keep?: string): Promise<void> {
    // keep the wanted version while its list loads: a second pick of the same dataset
    // (the form filled from a gate, then the datasets loading) must not lose it
    this.gateForm = { ...this.gateForm, dataset, version: keep ?? '' };
    if (!dataset) {
      return;
    }
    try {
      const answer = await this.datasetsApi.versions(dataset, { runs: false });
      const tables = answer.versions.filter(v => v.kind !== 'folder');
      this.datasetVersions = { ...this.datasetVersions, [dataset]: tables };
      if (this.gateForm.dataset === dataset) {
        const kept = keep && tables.some(v => v.version === keep) ? keep : '';
        this.gateForm = { ...this.gateForm, version: kept || (tables[0]?.version ?? '') };
      }
    } catch (reason) {
      this.gateError = message(reason);
    }
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
}
