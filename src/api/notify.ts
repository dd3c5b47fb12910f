/**
 * The webhook routes (notifications). Shapes mirror
 * `jupyter_mlops/server/notify_models.py`; the secret is write-only.
 */

import { IMLOpsClient } from './client';

export type WebhookFormat = 'json' | 'slack';

export interface IWebhook {
  id: number;
  name: string;
  /** With any password in it masked. */
  url: string;
  /** Match patterns: a kind, a dotted prefix, `kind=status` or `*`. */
  events: string[];
  format: WebhookFormat;
  has_secret: boolean;
  enabled: boolean;
  created: string;
  updated: string;
  actor: string | null;
  last_event_id: number;
  /** Consecutive failed posts (0 after a success). */
  failures: number;
  last_error: string | null;
  next_attempt_at: string | null;
}

export interface IWebhookCreate {
  name: string;
  url: string;
  events: string[];
  format?: WebhookFormat;
  secret?: string | null;
  enabled?: boolean;
}

export interface IWebhookTestResult {
  webhook: string;
  ok: boolean;
  status_code: number | null;
  error: string | null;
  ms: number;
}

export interface IWebhookDelivery {
  id: number;
  webhook: string;
  /** null for a test send. */
  event_id: number | null;
  kind: string;
  ts: string;
  ok: boolean;
  status_code: number | null;
  error: string | null;
  ms: number | null;
  holder: string | null;
}

export class NotifyAPI {
  constructor(client: IMLOpsClient) {
    this.client = client;
  }

  readonly client: IMLOpsClient;

  async webhooks(): Promise<IWebhook[]> {
    const answer = await this.client.request<{ webhooks: IWebhook[] }>('webhooks');
    return answer.webhooks;
  }

  /** Add a webhook; it hears the events recorded from now on. */
  create(body: IWebhookCreate): Promise<IWebhook> {
    return this.client.request<IWebhook>('webhooks', { method: 'POST', body });
  }

  setEnabled(name: string, enabled: boolean): Promise<IWebhook> {
    return this.client.request<IWebhook>(`webhooks/${encodeURIComponent(name)}`, {
      method: 'PATCH',
      body: { enabled }
    });
  }

  remove(name: string): Promise<{ name: string; deleted: boolean }> {
    return this.client.request(`webhooks/${encodeURIComponent(name)}`, { method: 'DELETE' });
  }

  /** Post a synthetic `notify.test` event now and say how the endpoint answered. */
  test(name: string): Promise<IWebhookTestResult> {
    return this.client.request<IWebhookTestResult>(
      `webhooks/${encodeURIComponent(name)}/test`,
      { method: 'POST' }
    );
  }

  async deliveries(name: string, limit = 20): Promise<IWebhookDelivery[]> {
    const answer = await this.client.request<{ deliveries: IWebhookDelivery[] }>(
      `webhooks/${encodeURIComponent(name)}/deliveries`,
      { query: { limit } }
    );
    return answer.deliveries;
  }
}
