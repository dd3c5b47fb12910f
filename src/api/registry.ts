/**
 * The registry routes: registered models, versions, aliases with their
 * history, promotion, champion/challenger gates and lineage. Shapes mirror
 * `jupyter_mlops/server/registry_models.py`.
 */

import { IMLOpsClient } from './client';

export interface IRegisteredModel {
  name: string;
  description: string | null;
  latest_version: number | null;
  /** alias -> version number */
  aliases: Record<string, number>;
  /** Aliases that move only by promote (with a reason) or a passing gate. */
  protected: string[];
  tags: Record<string, string>;
  created: string | null;
  updated: string | null;
}

export interface IVersionDataset {
  name: string;
  digest: string | null;
  source: string | null;
  source_type: string | null;
  context: string | null;
  /** Full content hash of a workbench snapshot. */
  version: string | null;
  /** name@<short hash> of a workbench snapshot. */
  ref: string | null;
}

export interface IModelVersion {
  name: string;
  version: number;
  ref: string;
  uri: string;
  aliases: string[];
  run_id: string | null;
  model_id: string | null;
  source: string | null;
  source_uri: string | null;
  flavor: string | null;
  status: string | null;
  description: string | null;
  created: string | null;
  updated: string | null;
  tags: Record<string, string>;
  metrics: Record<string, number | null>;
  params: Record<string, string>;
  datasets: IVersionDataset[];
  source_notebook: string | null;
  notebook: string | null;
  output_notebook: string | null;
  git_commit: string | null;
  experiment_id: string | null;
  run_name: string | null;
  user: string | null;
  /** source_notebook relative to the server root (openable), else null. */
  notebook_path: string | null;
}

export interface IModelDetail extends IRegisteredModel {
  /** Newest first. */
  versions: IModelVersion[];
}

export type AliasVia = 'promote' | 'gate' | 'register' | 'set' | 'remove';

export interface IAliasMove {
  id: number;
  model: string;
  alias: string;
  from_version: number | null;
  to_version: number | null;
  actor: string | null;
  reason: string | null;
  ts: string;
  via: AliasVia;
  gate_id: number | null;
}

export interface IAliasList {
  name: string;
  aliases: Record<string, number>;
  protected: string[];
  /** Newest first. */
  history: IAliasMove[];
}

export interface IAliasDetail {
  name: string;
  alias: string;
  version: number | null;
  protected: boolean;
  history: IAliasMove[];
}

export interface IAliasMoveAnswer {
  /** False when the alias already pointed there. */
  moved: boolean;
  move: IAliasMove | null;
  alias: IAliasDetail;
}

export interface IMetricRules {
  min?: number;
  max?: number;
  min_delta?: number;
  min_relative?: number;
  higher_is_better?: boolean;
}

export interface IGateRequest {
  model: string;
  /** An alias or a version number (default `challenger`). */
  challenger?: string | number;
  /** An alias or a version number (default `champion`). */
  against?: string | number;
  /** Held-out dataset version: `name@version`. */
  dataset: string;
  metrics?: Record<string, IMetricRules> | string[];
  target?: string;
  task?: 'classification' | 'regression';
  pos_label?: string | number | boolean;
  promote?: boolean;
  alias?: string;
  reason?: string;
}

export interface IMetricCheck {
  metric: string;
  rule: string;
  threshold: number;
  challenger: number | null;
  champion: number | null;
  compared: number | null;
  /** null: skipped (no champion to compare with). */
  passed: boolean | null;
  message: string;
}

export interface IGateResult {
  id: number;
  name: string;
  challenger: number;
  champion: number | null;
  challenger_ref: string;
  champion_ref: string | null;
  /** name@<full content hash> */
  dataset: string;
  target: string | null;
  task: string;
  rows: number | null;
  metrics: Record<string, IMetricRules>;
  scores: {
    challenger: Record<string, number | null>;
    champion: Record<string, number | null> | null;
  };
  checks: IMetricCheck[];
  passed: boolean;
  reasons: string[];
  promoted: boolean;
  promoted_alias: string | null;
  actor: string | null;
  ts: string;
  first_champion: boolean;
  verdict: string;
  headline: string;
}

/** What a lineage node opens. */
export type LineageOpen =
  | { type: 'run'; run_id: string; experiment_id?: string }
  | { type: 'notebook'; path: string }
  | { type: 'dataset'; name: string; version: string }
  | { type: 'model'; name: string; version: number }
  | { type: 'git'; commit: string }
  | { type: 'artifact'; run_id: string; path: string };

export interface ILineageNode {
  id: string;
  kind: string;
  label: string;
  data: Record<string, unknown>;
  open: LineageOpen | null;
  missing: boolean;
}

export interface ILineageEdge {
  source: string;
  target: string;
  relation: string;
}

export interface ILineage {
  root: string;
  nodes: ILineageNode[];
  edges: ILineageEdge[];
}

const seg = encodeURIComponent;

export class RegistryAPI {
  constructor(client: IMLOpsClient) {
    this.client = client;
  }

  readonly client: IMLOpsClient;

  async models(): Promise<IRegisteredModel[]> {
    const answer = await this.client.request<{ models: IRegisteredModel[] }>(
      'registry/models'
    );
    return answer.models;
  }

  model(name: string): Promise<IModelDetail> {
    return this.client.request<IModelDetail>(`registry/models/${seg(name)}`);
  }

  async versions(name: string): Promise<IModelVersion[]> {
    const answer = await this.client.request<{ versions: IModelVersion[] }>(
      `registry/models/${seg(name)}/versions`
    );
    return answer.versions;
  }

  /** One version, by number or alias. */
  version(name: string, version: number | string): Promise<IModelVersion> {
    return this.client.request<IModelVersion>(
      `registry/models/${seg(name)}/versions/${seg(String(version))}`
    );
  }

  lineage(name: string, version: number | string): Promise<ILineage> {
    return this.client.request<ILineage>(
      `registry/models/${seg(name)}/versions/${seg(String(version))}/lineage`
    );
  }

  aliases(
    name: string,
    options: { alias?: string; limit?: number } = {}
  ): Promise<IAliasList> {
    return this.client.request<IAliasList>(
      `registry/models/${seg(name)}/aliases`,
      { query: { alias: options.alias, limit: options.limit } }
    );
  }

  alias(name: string, alias: string): Promise<IAliasDetail> {
    return this.client.request<IAliasDetail>(
      `registry/models/${seg(name)}/aliases/${seg(alias)}`
    );
  }

  /** Point an alias at a version; a protected alias needs a reason (then it is a promotion). */
  setAlias(
    name: string,
    alias: string,
    version: number | string,
    reason?: string
  ): Promise<IAliasMoveAnswer> {
    return this.client.request<IAliasMoveAnswer>(
      `registry/models/${seg(name)}/aliases/${seg(alias)}`,
      { method: 'PUT', body: { version, reason } }
    );
  }

  removeAlias(name: string, alias: string, reason?: string): Promise<IAliasMoveAnswer> {
    return this.client.request<IAliasMoveAnswer>(
      `registry/models/${seg(name)}/aliases/${seg(alias)}`,
      { method: 'DELETE', query: { reason } }
    );
  }

  /** Move `alias` (champion by default) to a version; the reason is required. */
  promote(
    name: string,
    version: number | string,
    reason: string,
    alias = 'champion'
  ): Promise<IAliasMoveAnswer> {
    return this.client.request<IAliasMoveAnswer>(
      `registry/models/${seg(name)}/promote`,
      { method: 'POST', body: { version, reason, alias } }
    );
  }

  gate(request: IGateRequest): Promise<IGateResult> {
    return this.client.request<IGateResult>('registry/gates', {
      method: 'POST',
      body: request
    });
  }

  async gates(options: { model?: string; limit?: number } = {}): Promise<IGateResult[]> {
    const answer = await this.client.request<{ gates: IGateResult[] }>(
      'registry/gates',
      { query: { model: options.model, limit: options.limit } }
    );
    return answer.gates;
  }

  getGate(id: number): Promise<IGateResult> {
    return this.client.request<IGateResult>(`registry/gates/${id}`);
  }
}
