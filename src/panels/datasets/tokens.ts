/**
 * What the Datasets plugin offers other plugins: the versions a user picked
 * as drift references ("Use as drift reference" in the panel). The drift
 * panel can require this token (optionally) and prefill its reference.
 */

import { Token } from '@lumino/coreutils';
import { ISignal } from '@lumino/signaling';

import { IDatasetReference } from './model';

export type { IDatasetReference } from './model';

export interface IDatasetReferences {
  /** Emitted with `{name, version, ref: "name@version"}` on each pick. */
  readonly chosen: ISignal<unknown, IDatasetReference>;
  /** The latest pick of this session, if any. */
  readonly last: IDatasetReference | null;
}

export const IDatasetReferences = new Token<IDatasetReferences>(
  'jupyter-mlops:IDatasetReferences',
  'Dataset versions picked in the Datasets panel as drift references.'
);
