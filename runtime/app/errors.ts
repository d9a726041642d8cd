/**
 * The API's error shape, `{error: {code, message}}`, and the exception that carries it out of a handler.
 * @module
 */

/** The JSON body of every error response. */
export interface ErrorBody {
  /** `code`: stable and machine-readable (e.g. "out_of_range"); `message`: for people. */
  error: { code: string; message: string };
}

/** An error meant for the client: status, a stable machine-readable code, a message a person can act on. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: 400 | 404 | 405 | 413 | 415 | 422 | 500,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  get body(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

/** Builds an error body. */
export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}
