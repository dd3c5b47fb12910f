/**
 * The deployment routes: create, list and inspect deployments, change their
 * strategy (blue-green, canary, A/B, shadow), promote, roll back, stop,
 * delete; health figures, the prediction log, the shadow comparison and the
 * events of a deployment. Shapes mirror `jupyter_mlops/server/deploy_models.py`.
 */

import { IMLOpsClient, QueryValue } from './client';

export type StrategyKind = 'single' | 'blue_green' | 'canary' | 'ab' | 'shadow';

/** A strategy and its parameters (only those of its kind may be given). */
export interface IStrategySpec {
  kind: StrategyKind;
  /** canary: the candidate's traffic percentages, rising, ending at 100. */
  steps?: number[];
  /** canary: seconds each step bakes. */
  bake?: number;
  max_error_rate_increase?: number;
  max_latency_increase?: number;
  latency_slack_ms?: number;
  min_requests?: number;
  auto_rollback?: boolean;
  /** ab: percentages of (stable, candidate), adding up to 100. */
  weights?: [number, number];
  /** ab/canary: header whose value keeps a caller on one side. */
  sticky_header?: string;
  /** shadow: share of requests mirrored to the candidate (0..1]. */
  mirror_fraction?: number;
  max_mirror_inflight?: number;
  /** blue_green: switch as soon as the new colour is healthy. */
  auto_promote?: boolean;
}

export interface IStrategy {
  kind: StrategyKind | string;
  /** In words, e.g. "canary 5→25→50→100 % (bake 60 s)". */
  text: string;
  params: Record<string, unknown>;
}

export interface IVersionStats {
  requests: number;
  errors: number;
  client_errors: number;
  rate_per_s: number;
  error_rate: number;
  p50_ms: number | null;
  p95_ms: number | null;
  window_s: number | null;
  total_requests: number | null;
  total_errors: number | null;
  inflight: number | null;
}

export type VersionRole = 'stable' | 'candidate' | 'standby';

export interface IDeployedVersion {
  /** `<model>/<version>`, what the X-MLOps-Version header names. */
  key: string;
  model_name: string;
  model_version: string;
  model_ref: string | null;
  model_uri: string | null;
  role: VersionRole | string;
  /** Percent of live traffic. */
  weight: number;
  state: string;
  healthy: boolean;
  url: string | null;
  pid: number | null;
  container_id: string | null;
  image: string | null;
  error: string | null;
  /** Over the last minute. */
  stats: IVersionStats | null;
}

export interface IRolloutProgress {
  kind: StrategyKind | string;
  candidate: string | null;
  stable: string | null;
  state: 'running' | 'promoted' | 'rolled_back' | 'failed' | string;
  /** canary: the steps of the rollout. */
  steps: number[];
  step: number;
  weight: number | null;
  bake_s: number | null;
  /** canary, while running: seconds the current step still bakes (when read). */
  bake_remaining_s: number | null;
  started: string | null;
  step_started: string | null;
  ended: string | null;
  /** Why it ended: the breach of an automatic rollback, or the reason given. */
  reason: string | null;
  automatic: boolean | null;
  analysis: Record<string, unknown> | null;
  history: Record<string, unknown>[];
}

export type DeploymentStatus =
  | 'starting'
  | 'running'
  | 'degraded'
  | 'failed'
  | 'stopping'
  | 'stopped'
  | 'down';

export interface IDeployment {
  name: string;
  /** The stable endpoint: POST /invocations for predictions. */
  url: string;
  status: DeploymentStatus | string;
  desired: string;
  target: string;
  port: number;
  strategy: IStrategy;
  /** Percent of live traffic per version key. */
  traffic: Record<string, number>;
  versions: IDeployedVersion[];
  rollout: IRolloutProgress | null;
  error: string | null;
  created: string | null;
  started: string | null;
  router_pid: number | null;
}

export interface IDeploymentList {
  deployments: IDeployment[];
  targets: string[];
}

export interface IDeploymentCreate {
  /** `name@alias`, `name/version`, `name` (latest), `models:/…` or `runs:/…`. */
  model: string;
  name?: string | null;
  target?: string;
  port?: number | null;
  strategy?: IStrategySpec | null;
  target_options?: Record<string, unknown> | null;
  /** false: answer at once (202) with status 'starting'. */
  wait?: boolean;
}

export interface IVersionHealth {
  key: string;
  live: boolean;
  healthy: boolean;
  role: string;
  weight: number;
  requests: number;
  rate_per_s: number;
  error_rate: number;
  p50_ms: number | null;
  p95_ms: number | null;
  total_requests: number | null;
  total_errors: number | null;
  inflight: number | null;
  error: string | null;
}

export interface IDeploymentHealth {
  name: string;
  status: string;
  versions: IVersionHealth[];
}

export interface IPrediction {
  ts: string;
  request_id: string | null;
  version: string | null;
  role: string | null;
  status: number;
  latency_ms: number | null;
  shadow: boolean;
  content_type: string | null;
  /** Cut at 4,096 characters (`truncated`). */
  request: string | null;
  response: string | null;
  truncated: boolean;
  error: string | null;
}

export interface IPredictionPage {
  /** Newest first. */
  predictions: IPrediction[];
  /** Pass as `before` for the next (older) page; null on the last page. */
  next_before: string | null;
}

export interface IPredictionQuery {
  limit?: number;
  before?: string | null;
  version?: string | null;
  shadow?: boolean | null;
}

export interface IShadowComparison {
  deployment: string;
  champion: string | null;
  challenger: string | null;
  /** Mirrored requests paired with the answer the caller got. */
  requests: number;
  rows: number;
  agreement_rate: number | null;
  mean_abs_diff: number | null;
  challenger_errors: number;
  champion_p50_ms: number | null;
  challenger_p50_ms: number | null;
  drift_test: string | null;
  drift_statistic: number | null;
  drift_p_value: number | null;
  /** The challenger's predictions drifted from the champion's. */
  drifted: boolean | null;
  distribution: Record<string, Record<string, number>> | null;
}

export interface IDeploymentEvent {
  id: number;
  ts: string;
  kind: string;
  message: string;
  data: Record<string, unknown> | null;
  actor: string | null;
}

export interface IDeploymentEventList {
  events: IDeploymentEvent[];
  next_before_id: number | null;
}

export interface IDeploymentDeleted {
  name: string;
  stopped: boolean;
  purged: boolean;
}

const seg = encodeURIComponent;

/** The deployment routes over any IMLOpsClient. */
export class DeploymentsAPI {
  constructor(client: IMLOpsClient) {
    this.client = client;
  }

  readonly client: IMLOpsClient;

  /** Every deployment (or those serving a version of `model`), newest first. */
  list(model?: string | null): Promise<IDeploymentList> {
    return this.client.request<IDeploymentList>('deployments', {
      query: { model }
    });
  }

  get(name: string): Promise<IDeployment> {
    return this.client.request<IDeployment>(`deployments/${seg(name)}`);
  }

  /** Deploy a model: a new deployment, or a rollout on a running one. */
  create(request: IDeploymentCreate): Promise<IDeployment> {
    return this.client.request<IDeployment>('deployments', {
      method: 'POST',
      body: request
    });
  }

  /** With `model`: roll it out with the strategy; without: change the parameters. */
  setStrategy(
    name: string,
    strategy: IStrategySpec,
    model?: string | null
  ): Promise<IDeployment> {
    return this.client.request<IDeployment>(
      `deployments/${seg(name)}/strategy`,
      { method: 'POST', body: { strategy, model: model ?? null } }
    );
  }

  promote(
    name: string,
    options: { version?: string | null; reason?: string | null } = {}
  ): Promise<IDeployment> {
    return this.client.request<IDeployment>(
      `deployments/${seg(name)}/promote`,
      { method: 'POST', body: options }
    );
  }

  rollback(name: string, reason?: string | null): Promise<IDeployment> {
    return this.client.request<IDeployment>(
      `deployments/${seg(name)}/rollback`,
      { method: 'POST', body: { reason: reason ?? null } }
    );
  }

  stop(name: string): Promise<IDeployment> {
    return this.client.request<IDeployment>(`deployments/${seg(name)}/stop`, {
      method: 'POST'
    });
  }

  start(name: string, wait = true): Promise<IDeployment> {
    return this.client.request<IDeployment>(`deployments/${seg(name)}/start`, {
      method: 'POST',
      body: { wait }
    });
  }

  /** Stop the deployment if it runs, then delete it. */
  remove(name: string, purgePredictions = false): Promise<IDeploymentDeleted> {
    return this.client.request<IDeploymentDeleted>(`deployments/${seg(name)}`, {
      method: 'DELETE',
      query: { purge_predictions: purgePredictions }
    });
  }

  health(name: string): Promise<IDeploymentHealth> {
    return this.client.request<IDeploymentHealth>(
      `deployments/${seg(name)}/health`
    );
  }

  predictions(
    name: string,
    query: IPredictionQuery = {}
  ): Promise<IPredictionPage> {
    return this.client.request<IPredictionPage>(
      `deployments/${seg(name)}/predictions`,
      { query: query as Record<string, QueryValue> }
    );
  }

  shadow(
    name: string,
    query: { since?: string | null; last?: number | null } = {}
  ): Promise<IShadowComparison> {
    return this.client.request<IShadowComparison>(
      `deployments/${seg(name)}/shadow`,
      { query: query as Record<string, QueryValue> }
    );
  }

  events(
    name: string,
    query: { limit?: number; before_id?: number | null } = {}
  ): Promise<IDeploymentEventList> {
    return this.client.request<IDeploymentEventList>(
      `deployments/${seg(name)}/events`,
      { query: query as Record<string, QueryValue> }
    );
  }

  logs(
    name: string,
    query: { tail?: number; version?: string | null } = {}
  ): Promise<{ name: string; text: string }> {
    return this.client.request<{ name: string; text: string }>(
      `deployments/${seg(name)}/logs`,
      { query: query as Record<string, QueryValue> }
    );
  }
}
