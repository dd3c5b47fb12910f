/**
 * State of the MLOps overview panel, kept out of the React tree so that
 * commands (refresh) and timers can drive it.
 */

import { ISignal, Signal } from '@lumino/signaling';

import {
  IConfig,
  IEvent,
  IHealth,
  IMLOpsClient,
  MLOpsRequestError,
  ServerExtensionMissingError
} from '../api';
import { NotifyAPI } from '../api/notify';
import { NotificationsModel } from './notifications/model';

export type LoadState = 'idle' | 'loading' | 'ready' | 'error';

export class OverviewModel {
  constructor(client: IMLOpsClient) {
    this.client = client;
    this.notifications = new NotificationsModel(new NotifyAPI(client));
  }

  readonly client: IMLOpsClient;
  /** The webhooks section, loaded when the server serves notifications. */
  readonly notifications: NotificationsModel;
  state: LoadState = 'idle';
  config: IConfig | null = null;
  health: IHealth | null = null;
  events: IEvent[] = [];
  error: MLOpsRequestError | Error | null = null;
  lastUpdated: Date | null = null;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted once when the server half is missing, so the plugin can show a dialog. */
  get extensionMissing(): ISignal<this, ServerExtensionMissingError> {
    return this._extensionMissing;
  }

  /** Whether this server serves webhooks (an older one does not). */
  get hasNotifications(): boolean {
    return !!this.config?.capabilities.some(c => c.id === 'notifications' && c.available);
  }

  get serverExtensionMissing(): boolean {
    return this.error instanceof ServerExtensionMissingError;
  }

  async refresh(): Promise<void> {
    this.state = 'loading';
    this._changed.emit();
    try {
      this.config = await this.client.config();
      const [health, events] = await Promise.all([
        this.client.health(),
        this.client.events({ limit: 10 })
      ]);
      this.health = health;
      this.events = events.events;
      if (this.hasNotifications) {
        await this.notifications.refresh();
      }
      this.error = null;
      this.state = 'ready';
      this.lastUpdated = new Date();
    } catch (reason) {
      this.error = reason instanceof Error ? reason : new Error(String(reason));
      this.state = 'error';
      if (reason instanceof ServerExtensionMissingError && !this._warned) {
        this._warned = true;
        this._extensionMissing.emit(reason);
      }
    }
    this._changed.emit();
  }

  async addNote(message: string): Promise<void> {
    await this.client.addNote({ message });
    await this.refresh();
  }

  private _changed = new Signal<this, void>(this);
  private _extensionMissing = new Signal<this, ServerExtensionMissingError>(
    this
  );
  private _warned = false;
}
