/**
 * `MLOpsRuns`: a read-only Contents drive over the folders of pipeline runs
 * (`.mlops/runs/<run-id>/`), so an executed notebook opens in JupyterLab's
 * own notebook viewer as `MLOpsRuns:<run-id>/<step>.ipynb`. `get` reads the
 * server's run-files route (which refuses paths outside the run's folder);
 * everything that would write refuses with a message saying why.
 */

import { Signal } from '@lumino/signaling';
import { Contents, ServerConnection } from '@jupyterlab/services';

import { PipelinesAPI } from '../../api/pipelines';

export const RUNS_DRIVE = 'MLOpsRuns';

const READ_ONLY =
  'Executed notebooks of pipeline runs are read-only: use "Save As…" into the workspace ' +
  'to keep an editable copy.';

export class RunsDrive implements Contents.IDrive {
  constructor(api: PipelinesAPI) {
    this.api = api;
    this.serverSettings = api.client.serverSettings;
  }

  readonly name = RUNS_DRIVE;
  readonly serverSettings: ServerConnection.ISettings;
  readonly api: PipelinesAPI;

  get fileChanged(): Signal<Contents.IDrive, Contents.IChangedArgs> {
    return this._fileChanged;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    this._isDisposed = true;
    Signal.clearData(this);
  }

  async get(localPath: string, options?: Contents.IFetchOptions): Promise<Contents.IModel> {
    const path = localPath.replace(/^\/+/, '');
    if (!path) {
      return this._root();
    }
    const [runId, ...rest] = path.split('/');
    const model = await this.api.file(runId, rest.join('/'), options?.content !== false);
    return model as unknown as Contents.IModel;
  }

  async getDownloadUrl(_localPath: string): Promise<string> {
    throw new Error('Executed notebooks are opened in JupyterLab, not downloaded from here.');
  }

  async newUntitled(_options?: Contents.ICreateOptions): Promise<Contents.IModel> {
    throw new Error(READ_ONLY);
  }

  async delete(_localPath: string): Promise<void> {
    throw new Error(READ_ONLY);
  }

  async rename(_old: string, _new: string): Promise<Contents.IModel> {
    throw new Error(READ_ONLY);
  }

  async save(_localPath: string, _options?: Partial<Contents.IModel>): Promise<Contents.IModel> {
    throw new Error(READ_ONLY);
  }

  async copy(_localPath: string, _toDir: string): Promise<Contents.IModel> {
    throw new Error(READ_ONLY);
  }

  async createCheckpoint(_localPath: string): Promise<Contents.ICheckpointModel> {
    throw new Error(READ_ONLY);
  }

  async listCheckpoints(_localPath: string): Promise<Contents.ICheckpointModel[]> {
    return [];
  }

  async restoreCheckpoint(_localPath: string, _id: string): Promise<void> {
    throw new Error(READ_ONLY);
  }

  async deleteCheckpoint(_localPath: string, _id: string): Promise<void> {
    throw new Error(READ_ONLY);
  }

  /** The drive's root: the runs are listed by the Pipelines panel, not here. */
  private _root(): Contents.IModel {
    const now = new Date().toISOString();
    return {
      name: '',
      path: '',
      type: 'directory',
      format: 'json',
      mimetype: '',
      content: [],
      created: now,
      last_modified: now,
      writable: false
    };
  }

  private _fileChanged = new Signal<Contents.IDrive, Contents.IChangedArgs>(this);
  private _isDisposed = false;
}
