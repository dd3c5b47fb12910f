/**
 * The experiments routes: experiments, runs (filtered, ordered and paged in
 * the MLflow store), run detail, metric histories and comparisons.
 * Shapes mirror `jupyter_mlops/server/experiments_models.py`.
 */

import { IMLOpsClient, QueryValue } from './client';

export interface IExperiment {
  id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: string;
  tags: Record<string, string>;
  creation_time: number | null;
  last_update_time: number | null;
}

export interface IExperimentList {
  experiments: IExperiment[];
}

/** One row of the runs table. */
export interface IRunSummary {
  id: string;
  name: string;
  experiment_id: string;
  status: string;
  start_time: number | null;
  end_time: number | null;
  duration_ms: number | null;
  user: string | null;
  params: Record<string, string>;
  /** Latest value of each metric; NaN and infinities arrive as null. */
  metrics: Record<string, number | null>;
  /** User tags only (mlflow.* and mlops.* are in the named fields / the detail). */
  tags: Record<string, string>;
  notebook: string | null;
  output_notebook: string | null;
  git_commit: string | null;
  git_dirty: boolean | null;
  parent_run_id: string | null;
}

export interface IRunQuery {
  /** MLflow filter, e.g. `metrics.acc > 0.9 and params.model = 'rf'`. */
  filter?: string;
  /** MLflow order clause, e.g. `metrics.acc DESC`. */
  order_by?: string;
  page_size?: number;
  page_token?: string | null;
}

export interface IRunPage {
  runs: IRunSummary[];
  next_page_token: string | null;
  experiment_ids: string[];
}

export interface IArtifact {
  path: string;
  is_dir: boolean;
  size: number | null;
}

export interface IDatasetInput {
  name: string;
  digest: string;
  source_type: string;
  source: string;
  context: string | null;
}

/** A notebook a run recorded; `path` is what `docmanager:open` takes (null: not openable). */
export interface INotebookRef {
  recorded: string;
  path: string | null;
  exists: boolean;
}

export interface IRunDetail {
  run: IRunSummary;
  all_tags: Record<string, string>;
  source_name: string | null;
  artifact_uri: string;
  artifacts: IArtifact[];
  artifacts_truncated: boolean;
  inputs: IDatasetInput[];
  notebook: INotebookRef | null;
  output_notebook: INotebookRef | null;
}

export interface IMetricPoint {
  step: number;
  value: number | null;
  timestamp: number;
}

export interface IMetricHistory {
  run_id: string;
  key: string;
  points: IMetricPoint[];
}

export interface IComparison {
  run_ids: string[];
  runs: IRunSummary[];
  params_common: Record<string, string>;
  /** param -> run id -> value (null: the run lacks it). */
  params_differ: Record<string, Record<string, string | null>>;
  /** metric -> run id -> latest value. */
  metrics: Record<string, Record<string, number | null>>;
}

const seg = encodeURIComponent;

/** The experiments routes over any IMLOpsClient. */
export class ExperimentsAPI {
  constructor(client: IMLOpsClient) {
    this.client = client;
  }

  readonly client: IMLOpsClient;

  experiments(): Promise<IExperimentList> {
    return this.client.request<IExperimentList>('experiments');
  }

  /** One page of an experiment's runs; `experiment` is an id or a name. */
  runs(experiment: string, query: IRunQuery = {}): Promise<IRunPage> {
    return this.client.request<IRunPage>(`experiments/${seg(experiment)}/runs`, {
      query: query as Record<string, QueryValue>
    });
  }

  run(runId: string): Promise<IRunDetail> {
    return this.client.request<IRunDetail>(`runs/${seg(runId)}`);
  }

  metricHistory(runId: string, key: string): Promise<IMetricHistory> {
    return this.client.request<IMetricHistory>(
      `runs/${seg(runId)}/metrics/${seg(key)}`
    );
  }

  compare(runIds: string[]): Promise<IComparison> {
    return this.client.request<IComparison>('runs/compare', {
      method: 'POST',
      body: { run_ids: runIds }
    });
  }
}
