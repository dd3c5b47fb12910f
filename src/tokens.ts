/**
 * Tokens other plugins (and other extensions) depend on.
 */

import { Token } from '@lumino/coreutils';

import { IMLOpsClient as IClient } from './api/client';

export const PLUGIN_PREFIX = 'jupyter-mlops';

/** The typed REST client of the jupyter-mlops server extension. */
export type IMLOpsClient = IClient;
export const IMLOpsClient = new Token<IClient>(
  `${PLUGIN_PREFIX}:IMLOpsClient`,
  'The typed REST client of the jupyter-mlops server extension.'
);
