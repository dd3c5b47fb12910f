/**
 * The datasets routes: datasets, version timelines (with the runs that used
 * each version), version detail with schema and profile, diffs, expectations
 * and validation, REST snapshots of workspace files, deletes and gc.
 * Shapes mirror `jupyter_mlops/server/datasets_models.py`.
 */

import { IMLOpsClient, QueryValue } from './client';

export interface IDatasetSummary {
  name: string;
  description: string | null;
  created: string;
  updated: string;
  versions: number;
  latest: string | null;
  latest_kind: string | null;
  latest_rows: number | null;
  latest_bytes: number | null;
  /** tag -> version hash */
  tags: Record<string, string>;
  has_expectations: boolean;
}

export interface IDatasetList {
  datasets: IDatasetSummary[];
}

/** An MLflow run that logged the version as an input. */
export interface IDatasetRunRef {
  id: string;
  name: string;
  experiment_id: string;
  status: string;
  start_time: number | null;
}

export interface ISchemaField {
  name: string;
  dtype: string;
}

export type DatasetKind = 'table' | 'file' | 'folder';

export interface IDatasetVersion {
  name: string;
  /** Content hash (`hash_algo`, xxh3_128 hex). */
  version: string;
  short: string;
  kind: DatasetKind;
  created: string;
  snapshotted: string | null;
  bytes: number;
  rows: number | null;
  files: number | null;
  tags: string[];
  description: string | null;
  source: string | null;
  hash_algo: string;
  sha256: string | null;
  actor: string | null;
  /** null when not looked up (`runs=false`, older versions, MLflow down). */
  runs: IDatasetRunRef[] | null;
}

export interface IDatasetVersionList {
  name: string;
  versions: IDatasetVersion[];
  runs_note: string | null;
}

export interface IHistogram {
  /** counts.length + 1 bin edges; bins are [e_i, e_i+1), the last one closed. */
  edges: (number | null)[];
  counts: number[];
}

export interface IColumnProfile {
  name: string;
  dtype: string;
  kind:
    | 'numeric'
    | 'datetime'
    | 'categorical'
    | 'boolean'
    | 'text'
    | 'empty'
    | 'unsupported';
  count: number;
  missing: number;
  null_share: number | null;
  distinct: number | null;
  min?: number | null;
  max?: number | null;
  mean?: number | null;
  std?: number | null;
  quantiles?: { levels: number[]; values: (number | null)[] } | null;
  histogram?: IHistogram | null;
  categories?: {
    values: unknown[];
    counts: number[];
    other: number;
    truncated: boolean;
  } | null;
  top?: { value: unknown; count: number }[] | null;
  min_iso?: string | null;
  max_iso?: string | null;
}

export interface IDatasetProfile {
  format: number;
  rows: number;
  columns: IColumnProfile[];
}

export interface IDatasetVersionDetail extends IDatasetVersion {
  schema: ISchemaField[] | null;
  profile: IDatasetProfile | null;
  path: string | null;
}

export interface IDatasetProfileAnswer {
  name: string;
  version: string;
  profile: IDatasetProfile;
}

export interface IDelta<T = unknown> {
  a: T | null;
  b: T | null;
  delta?: number | null;
}

export interface IColumnDelta {
  name: string;
  kind: IDelta<string>;
  changed: boolean;
  null_share?: IDelta<number> | null;
  distinct?: IDelta<number> | null;
  min?: IDelta<number> | null;
  max?: IDelta<number> | null;
  mean?: IDelta<number> | null;
  std?: IDelta<number> | null;
  /** The mean's move in standard deviations of version a. */
  mean_shift_std?: number | null;
  /** Total variation distance of the category shares, in [0, 1]. */
  category_tvd?: number | null;
  new_categories?: unknown[] | null;
  missing_categories?: unknown[] | null;
}

export interface IDatasetDiff {
  name: string;
  a: string;
  b: string;
  kind_a: string;
  kind_b: string;
  identical: boolean;
  rows: IDelta<number>;
  bytes: IDelta<number>;
  added_columns: ISchemaField[];
  removed_columns: ISchemaField[];
  retyped_columns: { name: string; from: string; to: string }[];
  columns: IColumnDelta[];
  added_files: string[];
  removed_files: string[];
  changed_files: string[];
  profiles_compared: boolean;
  summary: string;
}

/** The declarative form stored with a dataset (see core/datasets/validation.py). */
export interface IExpectations {
  columns?: Record<string, Record<string, unknown>>;
  allow_extra_columns?: boolean;
  min_rows?: number;
  max_rows?: number;
}

export interface IExpectationsAnswer {
  name: string;
  expectations: IExpectations | null;
  suggested: IExpectations | null;
}

export interface IValidationFailure {
  column: string | null;
  check: string;
  count: number;
  examples: unknown[];
  message: string;
}

export interface IValidationReport {
  dataset: string | null;
  version: string;
  passed: boolean;
  rows: number;
  columns_checked: number;
  failures: IValidationFailure[];
  summary: string;
}

export interface ISnapshotRequest {
  /** A file or folder inside the workspace, relative to its root. */
  path: string;
  name: string;
  tags?: string[];
  description?: string | null;
  /** Default: tabular files up to 200 MB are profiled. */
  profile?: boolean | null;
  verify?: boolean;
}

export interface ISnapshotAnswer extends IDatasetVersionDetail {
  /** False when the content was already stored (same version returned). */
  new: boolean;
  profile_error: string | null;
}

export interface IDeleteAnswer {
  name: string;
  deleted: string;
}

export interface IGcReport {
  dry_run: boolean;
  objects: { key: string; size: number }[];
  temps: { name: string; size: number }[];
  checkouts: string[];
  kept_recent: number;
  referenced: number;
  bytes: number;
  summary: string;
}

const seg = encodeURIComponent;

/** `name@version`: how a version is named in drift references and lineage. */
export function versionRef(name: string, version: string): string {
  return `${name}@${version}`;
}

/** The datasets routes over any IMLOpsClient. */
export class DatasetsAPI {
  constructor(client: IMLOpsClient) {
    this.client = client;
  }

  readonly client: IMLOpsClient;

  list(): Promise<IDatasetList> {
    return this.client.request<IDatasetList>('datasets');
  }

  /** Newest first; `runs: false` skips the MLflow lookup. */
  versions(name: string, options: { runs?: boolean } = {}): Promise<IDatasetVersionList> {
    return this.client.request<IDatasetVersionList>(`datasets/${seg(name)}/versions`, {
      query: { runs: options.runs } as Record<string, QueryValue>
    });
  }

  /** `ref`: `latest`, a tag or a hash prefix (at least 4 hex digits). */
  version(name: string, ref = 'latest'): Promise<IDatasetVersionDetail> {
    return this.client.request<IDatasetVersionDetail>(
      `datasets/${seg(name)}/versions/${seg(ref)}`
    );
  }

  profile(name: string, ref = 'latest'): Promise<IDatasetProfileAnswer> {
    return this.client.request<IDatasetProfileAnswer>(
      `datasets/${seg(name)}/versions/${seg(ref)}/profile`
    );
  }

  /** `a` omitted: the version snapshotted before `b`. */
  diff(name: string, a?: string | null, b = 'latest'): Promise<IDatasetDiff> {
    return this.client.request<IDatasetDiff>(`datasets/${seg(name)}/diff`, {
      query: { a, b }
    });
  }

  expectations(name: string, options: { suggest?: boolean } = {}): Promise<IExpectationsAnswer> {
    return this.client.request<IExpectationsAnswer>(`datasets/${seg(name)}/expectations`, {
      query: { suggest: options.suggest }
    });
  }

  /** Store expectations (null clears them); the server checks the form. */
  setExpectations(name: string, expectations: IExpectations | null): Promise<IExpectationsAnswer> {
    return this.client.request<IExpectationsAnswer>(`datasets/${seg(name)}/expectations`, {
      method: 'PUT',
      body: { expectations }
    });
  }

  /** Against the stored expectations, or `expectations` when given. */
  validate(name: string, ref = 'latest', expectations?: IExpectations): Promise<IValidationReport> {
    return this.client.request<IValidationReport>(
      `datasets/${seg(name)}/versions/${seg(ref)}/validate`,
      { method: 'POST', body: expectations ? { expectations } : undefined }
    );
  }

  snapshot(request: ISnapshotRequest): Promise<ISnapshotAnswer> {
    return this.client.request<ISnapshotAnswer>('datasets', {
      method: 'POST',
      body: request
    });
  }

  deleteVersion(name: string, ref: string): Promise<IDeleteAnswer> {
    return this.client.request<IDeleteAnswer>(`datasets/${seg(name)}/versions/${seg(ref)}`, {
      method: 'DELETE'
    });
  }

  gc(options: { dry_run?: boolean; grace_seconds?: number } = {}): Promise<IGcReport> {
    return this.client.request<IGcReport>('datasets/gc', {
      method: 'POST',
      body: { dry_run: options.dry_run ?? true, ...options }
    });
  }
}
