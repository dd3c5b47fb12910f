/**
 * State of the Deployments section, outside React: the deployments (with
 * their versions, live traffic split, health figures and rollout), the
 * shadow comparison of those that mirror traffic, the recent predictions of
 * the ones the user opened, and the actions in flight. It polls the server
 * only while the section is visible (`setVisible`), so a closed tab costs
 * nothing.
 */

import { ISignal, Signal } from '@lumino/signaling';

import {
  DeploymentsAPI,
  IDeployment,
  IPredictionPage,
  IShadowComparison
} from '../../../api/deployments';

export type DeploymentAction = 'promote' | 'rollback' | 'stop' | 'start' | 'remove';

/** Milliseconds between two polls while the section is visible. */
export const POLL_MS = 3000;

function message(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

/** A deployment mirrors traffic to a shadow right now. */
export function isShadowing(dep: IDeployment): boolean {
  return (
    dep.strategy.kind === 'shadow' &&
    dep.versions.some(v => v.role === 'candidate')
  );
}

export class DeploymentsModel {
  constructor(api: DeploymentsAPI, model?: string, pollMs = POLL_MS) {
    this.api = api;
    this.model = model;
    this.pollMs = pollMs;
  }

  readonly api: DeploymentsAPI;
  /** Only deployments serving this registered model (all when undefined). */
  readonly model?: string;
  readonly pollMs: number;
  deployments: IDeployment[] = [];
  shadow: Record<string, IShadowComparison> = {};
  predictions: Record<string, IPredictionPage> = {};
  /** Deployments whose recent predictions are open. */
  open = new Set<string>();
  /** name → the action running on it. */
  busy: Record<string, DeploymentAction> = {};
  /** name → the last action's error. */
  actionErrors: Record<string, string> = {};
  loaded = false;
  error: string | null = null;
  /** When the last answer arrived (ms since the epoch): bake countdowns count from it. */
  fetchedAt = 0;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get visible(): boolean {
    return this._visible;
  }

  /** Start polling when visible, stop when hidden. */
  setVisible(visible: boolean): void {
    if (visible === this._visible || this._disposed) {
      return;
    }
    this._visible = visible;
    if (visible) {
      void this.refresh();
    } else {
      this._clearTimer();
    }
  }

  /** Reload everything the section shows; schedules the next poll while visible. */
  async refresh(): Promise<void> {
    this._clearTimer();
    const generation = ++this._generation;
    try {
      const list = await this.api.list(this.model);
      const shadowing = list.deployments.filter(isShadowing);
      const [comparisons, pages] = await Promise.all([
        Promise.all(
          shadowing.map(d => this.api.shadow(d.name).catch(() => null))
        ),
        Promise.all(
          [...this.open].map(name =>
            this.api.predictions(name, { limit: 20 }).catch(() => null)
          )
        )
      ]);
      if (generation !== this._generation || this._disposed) {
        return; // a newer refresh (after an action) answered first
      }
      this.deployments = list.deployments;
      this.shadow = {};
      shadowing.forEach((d, i) => {
        const comparison = comparisons[i];
        if (comparison) {
          this.shadow[d.name] = comparison;
        }
      });
      [...this.open].forEach((name, i) => {
        const page = pages[i];
        if (page) {
          this.predictions[name] = page;
        }
      });
      this.error = null;
    } catch (reason) {
      if (generation !== this._generation) {
        return;
      }
      this.error = message(reason);
    }
    this.loaded = true;
    this.fetchedAt = Date.now();
    this._changed.emit();
    this._schedule();
  }

  /** Show or hide a deployment's recent predictions. */
  async togglePredictions(name: string): Promise<void> {
    if (this.open.has(name)) {
      this.open.delete(name);
      this._changed.emit();
      return;
    }
    this.open.add(name);
    this._changed.emit();
    try {
      this.predictions[name] = await this.api.predictions(name, { limit: 20 });
      delete this.actionErrors[name];
    } catch (reason) {
      this.actionErrors[name] = message(reason);
    }
    this._changed.emit();
  }

  /** Older predictions of an open deployment, appended to its page. */
  async morePredictions(name: string): Promise<void> {
    const page = this.predictions[name];
    if (!page?.next_before) {
      return;
    }
    try {
      const older = await this.api.predictions(name, {
        limit: 20,
        before: page.next_before
      });
      this.predictions[name] = {
        predictions: [...page.predictions, ...older.predictions],
        next_before: older.next_before
      };
    } catch (reason) {
      this.actionErrors[name] = message(reason);
    }
    this._changed.emit();
  }

  /** Run an action on a deployment, then reload. */
  async act(name: string, action: DeploymentAction): Promise<void> {
    if (this.busy[name]) {
      return;
    }
    this.busy[name] = action;
    delete this.actionErrors[name];
    this._changed.emit();
    try {
      switch (action) {
        case 'promote':
          await this.api.promote(name, { reason: 'promoted from the Models panel' });
          break;
        case 'rollback':
          await this.api.rollback(name, 'rolled back from the Models panel');
          break;
        case 'stop':
          await this.api.stop(name);
          break;
        case 'start':
          await this.api.start(name);
          break;
        case 'remove':
          await this.api.remove(name);
          this.open.delete(name);
          break;
      }
    } catch (reason) {
      this.actionErrors[name] = message(reason);
    }
    delete this.busy[name];
    await this.refresh();
  }

  dispose(): void {
    this._disposed = true;
    this._clearTimer();
    Signal.clearData(this);
  }

  private _schedule(): void {
    this._clearTimer();
    if (this._visible && !this._disposed) {
      this._timer = setTimeout(() => void this.refresh(), this.pollMs);
    }
  }

  private _clearTimer(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private _changed = new Signal<this, void>(this);
  private _visible = false;
  private _disposed = false;
  private _timer: ReturnType<typeof setTimeout> | null = null;
  private _generation = 0;
}
