import type { Dispatcher } from "undici";
import { LifecycleError } from "./errors.js";

/** Download progress, reported as bytes arrive. `total` is the Content-Length when the server sent one. */
export interface DownloadProgress {
  url: string;
  received: number;
  total?: number;
  done: boolean;
}

export interface DownloadOptions {
  maxBytes: number;
  timeoutMs: number;
  dispatcher?: Dispatcher;
  onProgress?: (progress: DownloadProgress) => void;
}

const failed = (message: string, cause?: unknown) =>
  new LifecycleError("PLUGIN_DOWNLOAD_FAILED", `download failed: ${message}`, { cause });

/** Returns the URL with userinfo and query values hidden, for messages and records. */
export function redactUrl(url: URL): string {
  const copy = new URL(url.href);
  if (copy.username || copy.password) {
    copy.username = "***";
    copy.password = "";
  }
  for (const key of [...copy.searchParams.keys()]) copy.searchParams.set(key, "***");
  return copy.href;
}

/**
 * Downloads a plugin archive into memory with undici.
 *
 * - only `http:` and `https:` (no `file:`, `data:`…); the integrity of a registry download rests
 *   on its signature, so plain `http:` is allowed (a tampered body fails verification);
 * - redirects are not followed (a 3xx is an error naming the status), so a registry cannot
 *   bounce the client to another host;
 * - the body is counted as it arrives and the download aborted past `maxBytes`, and a
 *   Content-Length over the limit is refused before reading (stops memory exhaustion);
 * - headers and body each have a timeout, and the whole download a deadline (stops a slow-loris
 *   server from hanging the install).
 */
export async function downloadArchive(url: URL, options: DownloadOptions): Promise<Buffer> {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new LifecycleError("PLUGIN_SOURCE_INVALID", `unsupported URL scheme: ${url.protocol.replace(/:$/, "")}`);
  }
  const shown = redactUrl(url);
  // undici is loaded on first use: a host that never downloads a plugin never loads it here.
  const { request } = await import("undici");
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`timed out after ${options.timeoutMs} ms`)), options.timeoutMs);
  try {
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, {
        method: "GET",
        headers: { accept: "application/gzip, application/octet-stream, */*;q=0.1", "accept-encoding": "identity" },
        signal: controller.signal,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
        ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      });
    } catch (error) {
      throw failed(`${shown}: ${(error as Error).message}`, error);
    }
    const { statusCode, headers, body } = response;
    if (statusCode < 200 || statusCode > 299) {
      body.resume();
      const redirect = statusCode >= 300 && statusCode < 400 ? " (redirects are not followed)" : "";
      throw failed(`${shown}: HTTP ${statusCode}${redirect}`);
    }
    const lengthHeader = headers["content-length"];
    const declared = typeof lengthHeader === "string" ? Number.parseInt(lengthHeader, 10) : undefined;
    const total = declared !== undefined && Number.isSafeInteger(declared) && declared >= 0 ? declared : undefined;
    if (total !== undefined && total > options.maxBytes) {
      body.destroy();
      throw new LifecycleError(
        "PLUGIN_ARCHIVE_TOO_LARGE",
        `plugin archive too large: ${total} bytes (limit ${options.maxBytes})`,
      );
    }
    const chunks: Buffer[] = [];
    let received = 0;
    const report = (done: boolean) =>
      options.onProgress?.(total === undefined ? { url: shown, received, done } : { url: shown, received, total, done });
    report(false);
    try {
      for await (const chunk of body) {
        const buf = chunk as Buffer;
        received += buf.length;
        if (received > options.maxBytes) {
          body.destroy();
          throw new LifecycleError(
            "PLUGIN_ARCHIVE_TOO_LARGE",
            `plugin archive too large: more than ${options.maxBytes} bytes`,
          );
        }
        chunks.push(buf);
        report(false);
      }
    } catch (error) {
      if (LifecycleError.isInstance(error)) throw error;
      throw failed(`${shown}: ${(error as Error).message}`, error);
    }
    report(true);
    return Buffer.concat(chunks, received);
  } finally {
    clearTimeout(timer);
  }
}
