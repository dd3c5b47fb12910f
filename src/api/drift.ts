/**
 * The drift routes: run a check between two dataset versions, the history of
 * checks, plotly figures and the standalone HTML export. Shapes mirror
 * `jupyter_mlops/server/drift_models.py`.
 */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { API_PREFIX, IMLOpsClient, QueryValue } from './client';
import { errorFromResponse, MLOpsNetworkError } from './errors';

export type DriftTestName =
  | 'ks'
  | 'wasserstein'
  | 'psi'
  | 'jensen_shannon'
  | 'chi2'
  | 'kl'
  | 'hellinger'
  | 'z';

/** Tests whose verdict is `p_value < threshold`; the others are distances (`>=`). */
export const P_VALUE_TESTS: DriftTestName[] = ['ks', 'chi2', 'z'];

export type ColumnKind =
  | 'numeric'
  | 'categorical'
  | 'boolean'
  | 'datetime'
  | 'text';

/** Plot-sized distributions of one column on both sides. */
export interface IDriftSummary {
  kind: 'histogram' | 'categories';
  reference: number[];
  current: number[];
  edges: number[] | null;
  labels: string[] | null;
}

export interface IColumnDrift {
  name: string;
  kind: string;
  test: DriftTestName | null;
  statistic: number | null;
  p_value: number | null;
  threshold: number | null;
  /** The p-value for tests, the statistic for distances: what the threshold judges. */
  score: number | null;
  /** null: no verdict could be reached; `reason` says why. */
  drifted: boolean | null;
  reason: string | null;
  n_reference: number;
  n_current: number;
  nan_share_reference: number | null;
  nan_share_current: number | null;
  inf_reference: number;
  inf_current: number;
  unseen_categories: string[];
  n_unseen: number;
  /** The reference came from the stored profile's sketch, not the values. */
  approximate: boolean;
  summary: IDriftSummary | null;
  bins: IDriftSummary | null;
}

export interface IDriftReport {
  drifted: boolean;
  share: number | null;
  n_drifted: number;
  n_evaluated: number;
  n_columns: number;
  drift_share: number;
  headline: string;
  options: Record<string, unknown>;
  columns: IColumnDrift[];
}

export interface IDriftCheck {
  id: number;
  created: string;
  actor: string | null;
  /** Where the check was made: `python`, `magic` or `rest`. */
  origin: string;
  reference: string;
  reference_dataset: string | null;
  reference_version: string | null;
  current: string;
  current_dataset: string | null;
  current_version: string | null;
  drifted: boolean;
  share: number | null;
  drift_share: number;
  n_drifted: number;
  n_evaluated: number;
  n_columns: number;
  drifted_columns: string[];
  options: Record<string, unknown>;
}

export interface IDriftCheckDetail extends IDriftCheck {
  report: IDriftReport;
}

export interface IDriftCheckList {
  checks: IDriftCheck[];
  next_before_id: number | null;
}

export interface IDriftCheckRequest {
  /** `name@version` (a tag, a hash prefix or `latest`), or `name` for the latest. */
  reference: string;
  current: string;
  columns?: string[] | null;
  tests?: DriftTestName | Record<string, DriftTestName> | null;
  column_kinds?: Record<string, ColumnKind> | null;
  thresholds?: Record<string, number> | null;
  drift_share?: number;
  bins?: number;
  sample?: number | null;
  reference_mode?: 'exact' | 'sketch';
}

export interface IDriftCheckQuery {
  /** Checks where this dataset is either side. */
  dataset?: string | null;
  before_id?: number | null;
  limit?: number;
}

/** A plotly figure as `plotly.io.to_json` writes it (for `Plotly.react`). */
export interface IPlotlyFigure {
  data: Record<string, unknown>[];
  layout: Record<string, unknown>;
}

/** One dataset version as the drift pickers need it (from the datasets routes). */
export interface IVersionChoice {
  name: string;
  version: string;
  short: string;
  created: string;
  rows: number | null;
  tags: string[];
  kind: string;
}

const seg = encodeURIComponent;

/** The drift routes over any IMLOpsClient. */
export class DriftAPI {
  constructor(client: IMLOpsClient) {
    this.client = client;
  }

  readonly client: IMLOpsClient;

  /** Run a check and keep it in the history; answers with the report. */
  check(request: IDriftCheckRequest): Promise<IDriftCheckDetail> {
    return this.client.request<IDriftCheckDetail>('drift', {
      method: 'POST',
      body: request
    });
  }

  /** Past checks, newest first. */
  checks(query: IDriftCheckQuery = {}): Promise<IDriftCheckList> {
    return this.client.request<IDriftCheckList>('drift/checks', {
      query: query as Record<string, QueryValue>
    });
  }

  get(id: number): Promise<IDriftCheckDetail> {
    return this.client.request<IDriftCheckDetail>(`drift/checks/${id}`);
  }

  /** One column's distributions, or (no column) the scores of all columns. */
  figure(id: number, column?: string | null): Promise<IPlotlyFigure> {
    return this.client.request<IPlotlyFigure>(`drift/checks/${id}/figure`, {
      query: { column }
    });
  }

  /** Where the standalone HTML page of a check is served (a link target). */
  htmlUrl(id: number, download = true): string {
    const url = URLExt.join(
      this.client.serverSettings.baseUrl,
      API_PREFIX,
      'drift/checks',
      String(id),
      'html'
    );
    return download ? `${url}?download=true` : url;
  }

  /** The standalone HTML page as text (plotly.js inlined: several MB). */
  async html(id: number): Promise<string> {
    const settings = this.client.serverSettings;
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(
        this.htmlUrl(id, false),
        { method: 'GET' },
        settings
      );
    } catch (reason) {
      throw new MLOpsNetworkError(
        reason instanceof Error ? reason.message : String(reason)
      );
    }
    if (!response.ok) {
      throw await errorFromResponse(response);
    }
    return response.text();
  }

  /** Dataset names (for the pickers), through the datasets routes. */
  async datasets(): Promise<string[]> {
    const answer = await this.client.request<{ datasets: { name: string }[] }>(
      'datasets'
    );
    return answer.datasets.map(d => d.name);
  }

  /** A dataset's table and file versions, newest first (folders cannot be compared). */
  async versions(name: string): Promise<IVersionChoice[]> {
    const answer = await this.client.request<{ versions: IVersionChoice[] }>(
      `datasets/${seg(name)}/versions`,
      { query: { runs: false } }
    );
    return answer.versions.filter(v => v.kind !== 'folder');
  }
}
