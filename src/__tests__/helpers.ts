/**
 * What the client specs share: a client of the real server started by
 * jest.globalSetup.js, the project's Python for seeding data the way a
 * notebook would, and the check that a request fails with the server's error.
 * Not a spec itself (jest runs `*.spec.ts` only).
 */

import { execFileSync, ExecFileSyncOptions } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import { ServerConnection } from '@jupyterlab/services';

import { MLOpsClient, MLOpsRequestError } from '../api';

export const REPO = path.resolve(__dirname, '..', '..');

/** The server's root directory (its workspace). */
export const ROOT = process.env.MLOPS_TEST_ROOT as string;

/** The test server's settings, or those of a wrong one (`overrides`). */
export function testSettings(
  overrides: Partial<ServerConnection.ISettings> = {}
): ServerConnection.ISettings {
  return ServerConnection.makeSettings({
    baseUrl: process.env.MLOPS_TEST_BASE_URL,
    token: process.env.MLOPS_TEST_TOKEN,
    ...overrides
  });
}

/** A client of the test server (or, with `overrides`, of a wrong one). */
export function testClient(overrides: Partial<ServerConnection.ISettings> = {}): MLOpsClient {
  return new MLOpsClient({ serverSettings: testSettings(overrides) });
}

/** $PYTHON_BIN, else the project's venv, else python3 from PATH. */
export function python(): string {
  const venv = path.join(REPO, '.venv', 'bin', 'python');
  return process.env.PYTHON_BIN || (fs.existsSync(venv) ? venv : 'python3');
}

/** Runs the project's Python with `args` and parses the JSON its last line prints. */
export function pythonJson<T>(args: string[], options: ExecFileSyncOptions = {}): T {
  const out = execFileSync(python(), args, { ...options, encoding: 'utf-8' }) as string;
  return JSON.parse(out.trim().split('\n').pop() as string) as T;
}

/** Runs a `ui-tests/seed_*.py` script on the server's root; what it seeded. */
export function seedScript<T>(script: string, args: string[], timeout: number): T {
  return pythonJson<T>([path.join(REPO, 'ui-tests', script), ROOT, ...args], { timeout });
}

/** The error a request fails with; fails the test when the request succeeds. */
export async function failure(promise: Promise<unknown>): Promise<MLOpsRequestError> {
  try {
    await promise;
  } catch (reason) {
    expect(reason).toBeInstanceOf(MLOpsRequestError);
    return reason as MLOpsRequestError;
  }
  throw new Error('expected the request to fail');
}
