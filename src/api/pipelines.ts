/**
 * The pipelines routes: pipelines and their DAGs, runs (start, cancel,
 * re-run, live progress), schedules (next fire times, pause, resume) and the
 * executed notebooks of steps. Shapes mirror
 * `jupyter_mlops/server/pipelines_models.py`.
 */

import { IMLOpsClient, QueryValue } from './client';

export type ParamType = 'int' | 'float' | 'str' | 'bool' | 'list' | 'dict';

export type RunStatus =
  | 'queued'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'cancelled'
  | 'skipped';

/** Statuses after which a run or step changes no more. */
export const DONE_STATUSES = ['succeeded', 'failed', 'cancelled', 'skipped'];

export interface ISpecProblem {
  file: string | null;
  line: number | null;
  reason: string;
  loc: string | null;
}

export interface ILastRun {
  id: string;
  status: string;
  created: string;
  finished: string | null;
}

export interface IPipelineSummary {
  /** Workspace-relative file: the pipeline's identity. */
  path: string;
  kind: 'spec' | 'notebook';
  name: string;
  description: string;
  steps: number | null;
  parameters: string[];
  schedule: string | null;
  error: ISpecProblem | null;
  last_run: ILastRun | null;
}

export interface IPipelineList {
  pipelines: IPipelineSummary[];
  truncated: boolean;
}

export interface IParameter {
  name: string;
  type: ParamType | null;
  default: unknown;
  required: boolean;
  description: string;
}

export interface IStep {
  name: string;
  notebook: string;
  parameters: Record<string, unknown>;
  depends_on: string[];
  retries: number;
  timeout: number | null;
  kernel: string | null;
}

export interface IGraph {
  nodes: string[];
  /** [upstream, downstream] pairs. */
  edges: [string, string][];
  /** Steps by depth: the columns of the DAG. */
  levels: string[][];
}

export interface IPipelineDetail {
  path: string;
  kind: 'spec' | 'notebook';
  name: string;
  description: string;
  parameters: IParameter[];
  steps: IStep[];
  graph: IGraph;
  concurrency: string;
  schedule: Record<string, unknown> | null;
  triggers: { kind: string; subject: string }[];
}

export interface IValidation {
  valid: boolean;
  errors: ISpecProblem[];
  pipeline: IPipelineDetail | null;
}

export interface IStepError {
  message: string | null;
  cell_index: number | null;
  ename: string | null;
  evalue: string | null;
  traceback: string | null;
}

export interface IStepRun {
  name: string;
  status: string;
  notebook: string;
  depends_on: string[];
  attempt: number;
  max_attempts: number;
  parameters: Record<string, unknown> | null;
  outputs: Record<string, unknown> | null;
  output_notebook: string | null;
  log_path: string | null;
  started: string | null;
  finished: string | null;
  duration_s: number | null;
  cells_done: number;
  cells_total: number | null;
  current_cell: number | null;
  error: IStepError | null;
  mlflow_run_id: string | null;
}

export interface IRun {
  id: string;
  pipeline: string;
  name: string;
  status: RunStatus;
  trigger: string;
  trigger_detail: Record<string, unknown> | null;
  schedule_id: number | null;
  scheduled_for: string | null;
  parameters: Record<string, unknown>;
  created: string;
  started: string | null;
  finished: string | null;
  duration_s: number | null;
  error: string | null;
  actor: string | null;
  mlflow_run_id: string | null;
  rerun_of: string | null;
  owner: string | null;
  cancel_requested: boolean;
  steps: IStepRun[];
}

export interface IRunList {
  runs: IRun[];
  next_before: string | null;
}

export interface IRunQuery {
  pipeline?: string | null;
  status?: RunStatus | null;
  before?: string | null;
  limit?: number;
}

/** A Jupyter Contents model of a file of a run's folder (always read-only). */
export interface IRunFile {
  name: string;
  /** `<run-id>/<file>`: its path on the MLOpsRuns drive. */
  path: string;
  type: 'notebook' | 'file' | 'directory';
  format: 'json' | 'text' | 'base64' | null;
  mimetype: string | null;
  content: any;
  created: string;
  last_modified: string;
  size: number | null;
  writable: boolean;
}

export interface ITrigger {
  kind: 'dataset_snapshot' | 'drift_alert' | 'model_registered';
  subject: string;
}

export interface ISchedule {
  id: number;
  pipeline: string;
  source: string;
  cron: string | null;
  timezone: string;
  catch_up: string;
  max_backfill: number;
  triggers: ITrigger[];
  parameters: Record<string, unknown>;
  paused: boolean;
  next_fire_at: string | null;
  last_fire_at: string | null;
  created: string;
  updated: string;
  /** The next five fire times (UTC, ISO 8601); empty while paused. */
  upcoming: string[];
}

export interface IScheduleCreate {
  pipeline: string;
  cron?: string | null;
  timezone?: string;
  catch_up?: 'skip' | 'latest' | 'backfill';
  max_backfill?: number;
  triggers?: ITrigger[];
  parameters?: Record<string, unknown>;
  paused?: boolean;
}

export type IScheduleUpdate = Partial<Omit<IScheduleCreate, 'pipeline'>>;

export interface IFireTimes {
  cron: string;
  timezone: string;
  times: string[];
  local: string[];
}

const seg = encodeURIComponent;

/** The pipelines routes over any IMLOpsClient. */
export class PipelinesAPI {
  constructor(client: IMLOpsClient) {
    this.client = client;
  }

  readonly client: IMLOpsClient;

  list(notebooks = true): Promise<IPipelineList> {
    return this.client.request<IPipelineList>('pipelines', {
      query: { notebooks }
    });
  }

  /** Parameters, steps and DAG; fails with the file, line and reason of a bad spec. */
  get(path: string): Promise<IPipelineDetail> {
    return this.client.request<IPipelineDetail>('pipelines/detail', {
      query: { path }
    });
  }

  validate(request: { path?: string; text?: string }): Promise<IValidation> {
    return this.client.request<IValidation>('pipelines/validate', {
      method: 'POST',
      body: request
    });
  }

  runs(query: IRunQuery = {}): Promise<IRunList> {
    return this.client.request<IRunList>('pipelines/runs', {
      query: query as Record<string, QueryValue>
    });
  }

  run(pipeline: string, parameters: Record<string, unknown> = {}): Promise<IRun> {
    return this.client.request<IRun>('pipelines/runs', {
      method: 'POST',
      body: { pipeline, parameters }
    });
  }

  getRun(id: string): Promise<IRun> {
    return this.client.request<IRun>(`pipelines/runs/${seg(id)}`);
  }

  cancel(id: string): Promise<IRun> {
    return this.client.request<IRun>(`pipelines/runs/${seg(id)}/cancel`, {
      method: 'POST'
    });
  }

  rerun(id: string): Promise<IRun> {
    return this.client.request<IRun>(`pipelines/runs/${seg(id)}/rerun`, {
      method: 'POST'
    });
  }

  /** A file (or, with '', the listing) of a run's folder as a Contents model. */
  file(runId: string, path = '', content = true): Promise<IRunFile> {
    return this.client.request<IRunFile>(`pipelines/runs/${seg(runId)}/files`, {
      query: { path, content }
    });
  }

  stepNotebook(runId: string, step: string): Promise<IRunFile> {
    return this.client.request<IRunFile>(
      `pipelines/runs/${seg(runId)}/steps/${seg(step)}/notebook`
    );
  }

  schedules(pipeline?: string | null): Promise<{ schedules: ISchedule[] }> {
    return this.client.request<{ schedules: ISchedule[] }>('pipelines/schedules', {
      query: { pipeline }
    });
  }

  createSchedule(request: IScheduleCreate): Promise<ISchedule> {
    return this.client.request<ISchedule>('pipelines/schedules', {
      method: 'POST',
      body: request
    });
  }

  updateSchedule(id: number, changes: IScheduleUpdate): Promise<ISchedule> {
    return this.client.request<ISchedule>(`pipelines/schedules/${id}`, {
      method: 'PATCH',
      body: changes
    });
  }

  pause(id: number): Promise<ISchedule> {
    return this.client.request<ISchedule>(`pipelines/schedules/${id}/pause`, {
      method: 'POST'
    });
  }

  resume(id: number): Promise<ISchedule> {
    return this.client.request<ISchedule>(`pipelines/schedules/${id}/resume`, {
      method: 'POST'
    });
  }

  deleteSchedule(id: number): Promise<{ deleted: number }> {
    return this.client.request<{ deleted: number }>(`pipelines/schedules/${id}`, {
      method: 'DELETE'
    });
  }

  /** The next fire times of a cron expression (400 saying why it is invalid). */
  fireTimes(cron: string, timezone = 'UTC', n = 5): Promise<IFireTimes> {
    return this.client.request<IFireTimes>('pipelines/schedules/fire-times', {
      query: { cron, timezone, n }
    });
  }
}
