/**
 * The typed REST client every panel uses (provided as the IMLOpsClient token).
 *
 * Requests go through ServerConnection.makeRequest with the application's
 * server settings, so the base URL, the token and the XSRF cookie are right
 * wherever JupyterLab is served from (including /lab/tree/... and hubs).
 */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import {
  errorFromResponse,
  MLOpsNetworkError,
  MLOpsRequestError,
  ServerExtensionMissingError
} from './errors';
import {
  IConfig,
  IEvent,
  IEventList,
  IEventQuery,
  IHealth,
  INoteCreate
} from './types';

/** URL prefix of the extension's routes below the server's base URL. */
export const API_PREFIX = 'jupyter-mlops';

export type QueryValue = string | number | boolean | undefined | null;

export interface IRequestOptions {
  method?: string;
  body?: unknown;
  query?: Record<string, QueryValue>;
  /** Statuses besides 2xx whose JSON body is a regular answer (e.g. 503 for /health). */
  acceptStatuses?: number[];
}

export interface IMLOpsClient {
  readonly serverSettings: ServerConnection.ISettings;
  request<T>(path: string, options?: IRequestOptions): Promise<T>;
  config(): Promise<IConfig>;
  health(): Promise<IHealth>;
  events(query?: IEventQuery): Promise<IEventList>;
  addNote(note: INoteCreate): Promise<IEvent>;
}

export class MLOpsClient implements IMLOpsClient {
  readonly serverSettings: ServerConnection.ISettings;

  constructor(options: { serverSettings?: ServerConnection.ISettings } = {}) {
    this.serverSettings =
      options.serverSettings ?? ServerConnection.makeSettings();
  }

  url(path: string, query?: Record<string, QueryValue>): string {
    const base = URLExt.join(this.serverSettings.baseUrl, API_PREFIX, path);
    const params: Record<string, string> = {};
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null && value !== '') {
        params[key] = String(value);
      }
    }
    return Object.keys(params).length
      ? base + URLExt.objectToQueryString(params)
      : base;
  }

  async request<T>(path: string, options: IRequestOptions = {}): Promise<T> {
    const init: RequestInit = { method: options.method ?? 'GET' };
    if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(
        this.url(path, options.query),
        init,
        this.serverSettings
      );
    } catch (reason) {
      throw new MLOpsNetworkError(
        reason instanceof Error ? reason.message : String(reason)
      );
    }
    const accepted = options.acceptStatuses ?? [];
    if (!response.ok && !accepted.includes(response.status)) {
      throw await errorFromResponse(response);
    }
    const text = await response.text();
    return (text ? JSON.parse(text) : null) as T;
  }

  async config(): Promise<IConfig> {
    try {
      return await this.request<IConfig>('config');
    } catch (reason) {
      if (reason instanceof MLOpsRequestError && reason.status === 404) {
        throw new ServerExtensionMissingError();
      }
      throw reason;
    }
  }

  health(): Promise<IHealth> {
    return this.request<IHealth>('health', { acceptStatuses: [503] });
  }

  events(query: IEventQuery = {}): Promise<IEventList> {
    return this.request<IEventList>('events', {
      query: query as Record<string, QueryValue>
    });
  }

  addNote(note: INoteCreate): Promise<IEvent> {
    return this.request<IEvent>('events', {
      method: 'POST',
      body: { kind: 'note', ...note }
    });
  }
}
