/**
 * State of the Notifications section of the MLOps panel: the webhooks, the
 * add form, and the last test send of each, outside the React tree so that the
 * panel's refresh drives it.
 */

import { ISignal, Signal } from '@lumino/signaling';

import {
  IWebhook,
  IWebhookDelivery,
  IWebhookTestResult,
  NotifyAPI,
  WebhookFormat
} from '../../api/notify';

/** Delivery attempts shown per webhook when its history is open. */
export const DELIVERIES_SHOWN = 10;

/** What a team usually wants to hear about first (the form's starting value). */
export const SUGGESTED_EVENTS =
  'monitor.alert, pipeline.run=failed, deploy.rollback, registry.alias';

export interface IWebhookForm {
  name: string;
  url: string;
  /** Comma-separated match patterns. */
  events: string;
  format: WebhookFormat;
}

function message(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

/** Comma- or space-separated patterns as a list, empty ones dropped. */
export function parsePatterns(text: string): string[] {
  return text
    .split(/[,\s]+/)
    .map(p => p.trim())
    .filter(p => p.length > 0);
}

export class NotificationsModel {
  constructor(api: NotifyAPI) {
    this.api = api;
  }

  readonly api: NotifyAPI;
  webhooks: IWebhook[] = [];
  form: IWebhookForm = { name: '', url: '', events: SUGGESTED_EVENTS, format: 'json' };
  /** The last test send of each webhook, by name. */
  tests: Record<string, IWebhookTestResult> = {};
  /** The recent delivery attempts of the webhooks whose history is open, by name. */
  deliveries: Record<string, IWebhookDelivery[]> = {};
  error: string | null = null;
  formError: string | null = null;
  busy = false;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get canAdd(): boolean {
    const f = this.form;
    return !this.busy && !!f.name.trim() && !!f.url.trim() && parsePatterns(f.events).length > 0;
  }

  async refresh(): Promise<void> {
    try {
      this.webhooks = await this.api.webhooks();
      // open histories follow the refresh; a removed webhook's closes
      const open = Object.keys(this.deliveries).filter(name =>
        this.webhooks.some(h => h.name === name)
      );
      const lists = await Promise.all(
        open.map(name => this.api.deliveries(name, DELIVERIES_SHOWN))
      );
      this.deliveries = Object.fromEntries(open.map((name, i) => [name, lists[i]]));
      this.error = null;
    } catch (reason) {
      this.error = message(reason);
    }
    this._changed.emit();
  }

  updateForm(patch: Partial<IWebhookForm>): void {
    this.form = { ...this.form, ...patch };
    this._changed.emit();
  }

  /** Add the form's webhook; the server's message (bad URL, taken name…) stays on the form. */
  async add(): Promise<void> {
    if (!this.canAdd) {
      return;
    }
    const f = this.form;
    await this._busy(async () => {
      try {
        await this.api.create({
          name: f.name.trim(),
          url: f.url.trim(),
          events: parsePatterns(f.events),
          format: f.format
        });
        this.form = { ...this.form, name: '', url: '' };
        this.formError = null;
      } catch (reason) {
        this.formError = message(reason);
      }
    });
  }

  /** Open or close a webhook's delivery history (what went out, and how it was answered). */
  async toggleDeliveries(name: string): Promise<void> {
    if (name in this.deliveries) {
      const { [name]: _closed, ...rest } = this.deliveries;
      this.deliveries = rest;
      this._changed.emit();
      return;
    }
    try {
      this.deliveries = {
        ...this.deliveries,
        [name]: await this.api.deliveries(name, DELIVERIES_SHOWN)
      };
    } catch (reason) {
      this.error = message(reason);
    }
    this._changed.emit();
  }

  async setEnabled(name: string, enabled: boolean): Promise<void> {
    await this._busy(() => this.api.setEnabled(name, enabled));
  }

  async remove(name: string): Promise<void> {
    await this._busy(() => this.api.remove(name));
    delete this.tests[name];
  }

  async test(name: string): Promise<void> {
    await this._busy(async () => {
      this.tests = { ...this.tests, [name]: await this.api.test(name) };
    });
  }

  private async _busy(work: () => Promise<unknown>): Promise<void> {
    this.busy = true;
    this._changed.emit();
    try {
      await work();
      this.error = null;
    } catch (reason) {
      this.error = message(reason);
    }
    this.busy = false;
    await this.refresh();
  }

  private _changed = new Signal<this, void>(this);
}
