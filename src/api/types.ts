/**
 * Shapes of the REST API, mirroring the pydantic models in
 * `jupyter_mlops/server/models.py` (the OpenAPI document lists them too).
 */

export interface IWorkspacePaths {
  root: string;
  mlops_dir: string;
  initialized: boolean;
  state_db: string;
  tracking_uri: string;
  artifact_root: string;
  objects_dir: string;
  runs_dir: string;
  predictions_dir: string;
}

export interface ICapability {
  id: string;
  label: string;
  description: string;
  available: boolean;
}

export interface IConfig {
  version: string;
  api_version: number;
  workspace: IWorkspacePaths;
  capabilities: ICapability[];
  server: Record<string, string>;
}

export interface IComponentStatus {
  ok: boolean;
  detail: string;
  latency_ms: number;
}

export interface IHealth {
  ok: boolean;
  components: Record<string, IComponentStatus>;
}

export interface IEvent {
  id: number;
  ts: string;
  kind: string;
  subject: string | null;
  message: string;
  actor: string | null;
  data: Record<string, unknown> | null;
}

export interface IEventQuery {
  kind?: string;
  subject?: string;
  before_id?: number;
  limit?: number;
}

export interface IEventList {
  events: IEvent[];
  next_before_id: number | null;
}

export interface INoteCreate {
  message: string;
  subject?: string | null;
  data?: Record<string, unknown> | null;
}

/** The JSON body of every error answer of the server. */
export interface IErrorBody {
  code: string;
  message: string;
  reason?: string;
  details?: unknown;
  error_id?: string;
}
