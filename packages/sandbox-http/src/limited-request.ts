import type { IncomingHttpHeaders } from "node:http";
import type { Dispatcher } from "undici";
import type { Deadline } from "./deadline.js";
import { ByteCollector } from "./read-body.js";

/** A response whose body was read up to a byte limit. */
export interface LimitedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  bytes: Buffer;
  truncated: boolean;
}

/** The reason given to undici when the body limit is reached (never seen by callers). */
class BodyLimitReached extends Error {
  constructor() {
    super("response body limit reached");
    this.name = "BodyLimitReached";
  }
}

/**
 * Sends one request through `dispatcher` and collects its response body, at
 * most `maxBytes` of it. Built on undici's `dispatch` handler API rather than
 * `request()` + a body stream:
 * - the body is counted chunk by chunk as it arrives, and the request is
 *   aborted (connection closed, never drained) the moment it passes the limit;
 * - the `deadline` aborts the request wherever it is — queued, connecting,
 *   waiting for headers or receiving the body — so a slow server cannot
 *   outlive the total timeout;
 * - no redirect handler or other interceptor is involved: a 3xx is a response.
 */
export function requestLimited(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  maxBytes: number,
  deadline: Deadline,
): Promise<LimitedResponse> {
  return new Promise<LimitedResponse>((resolve, reject) => {
    const body = new ByteCollector(maxBytes);
    let status = 0;
    let headers: IncomingHttpHeaders = {};
    let controller: Dispatcher.DispatchController | undefined;
    let settled = false;

    const finish = (): void => {
      if (settled) return;
      settled = true;
      offDeadline();
      resolve({ status, headers, bytes: body.bytes(), truncated: body.truncated });
    };
    const fail = (error: Error): void => {
      if (settled) return;
      settled = true;
      offDeadline();
      reject(error);
    };
    const offDeadline = deadline.onExpire((error) => {
      // Before undici handed us a controller (queued or connecting) there is
      // nothing to abort yet: onRequestStart aborts as soon as it is called,
      // and the pool's own connect timeout ends a hung connect.
      controller?.abort(error);
      fail(error);
    });

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (settled) c.abort(deadline.error ?? new BodyLimitReached());
      },
      onResponseStart(_c, statusCode, responseHeaders) {
        status = statusCode;
        headers = responseHeaders;
      },
      onResponseData(c, chunk) {
        if (settled) return;
        if (!body.push(chunk)) {
          finish();
          c.abort(new BodyLimitReached());
        }
      },
      onResponseEnd() {
        finish();
      },
      onResponseError(_c, error) {
        fail(error);
      },
    };
    try {
      dispatcher.dispatch(options, handler);
    } catch (error) {
      fail(error instanceof Error ? error : new Error(String(error)));
    }
  });
}
