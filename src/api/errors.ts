/**
 * Typed errors of the API client: each carries the server's own message,
 * so panels show what the server said instead of "Error 400".
 */

import { IErrorBody } from './types';

export class MLOpsRequestError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  readonly errorId?: string;

  constructor(status: number, body: IErrorBody) {
    super(body.message);
    this.name = 'MLOpsRequestError';
    this.status = status;
    this.code = body.code;
    this.details = body.details;
    this.errorId = body.error_id;
  }
}

/** The server answered 404 for the extension's own /config: the server half is missing. */
export class ServerExtensionMissingError extends MLOpsRequestError {
  constructor() {
    super(404, {
      code: 'server_extension_missing',
      message:
        'The jupyter-mlops server extension is not installed or not enabled on this ' +
        'Jupyter server. Install it with "pip install jupyter_mlops" in the environment ' +
        'that runs the server, check "jupyter server extension list", then restart the server.'
    });
    this.name = 'ServerExtensionMissingError';
  }
}

/** The request never got an answer (server stopped, network down). */
export class MLOpsNetworkError extends MLOpsRequestError {
  constructor(message: string) {
    super(0, {
      code: 'network_error',
      message: `The Jupyter server did not answer: ${message}`
    });
    this.name = 'MLOpsNetworkError';
  }
}

/** Turn any non-2xx answer into a typed error, reading the JSON body when there is one. */
export async function errorFromResponse(
  response: Response
): Promise<MLOpsRequestError> {
  const text = await response.text();
  let body: IErrorBody | null = null;
  try {
    const parsed = JSON.parse(text);
    if (parsed && typeof parsed.message === 'string') {
      body = {
        code: typeof parsed.code === 'string' ? parsed.code : 'http_error',
        message: parsed.message,
        reason: parsed.reason,
        details: parsed.details,
        error_id: parsed.error_id
      };
    }
  } catch {
    // not JSON: a proxy or the server's HTML error page
  }
  return new MLOpsRequestError(
    response.status,
    body ?? {
      code: 'http_error',
      message: `${response.status} ${response.statusText || 'error'} from the server`
    }
  );
}
