import { CHECK_URL_MESSAGES, SandboxError } from "@clawft/sandbox-policy/core";

/** Every refusal and failure code `SandboxedHttpClient#request` rejects with. */
export type HttpErrorCode =
  | "HTTP_INVALID_URL"
  | "HTTP_SCHEME_NOT_ALLOWED"
  | "HTTP_NOT_PERMITTED"
  | "HTTP_HOST_NOT_ALLOWED"
  | "HTTP_PRIVATE_IP"
  | "HTTP_RATE_LIMITED"
  | "HTTP_BODY_TOO_LARGE"
  | "HTTP_TIMEOUT"
  | "HTTP_BAD_HEADER"
  | "HTTP_METHOD_NOT_ALLOWED"
  | "HTTP_NETWORK";

/**
 * The start of each code's message. Where the security catalogue quotes a
 * message (docs/security-catalogue.md) this is that text, which plugins see verbatim.
 */
export const HTTP_MESSAGES: Readonly<Record<HttpErrorCode, string>> = Object.freeze({
  // The URL refusals use sandbox-policy's texts, so both packages say the same thing.
  HTTP_INVALID_URL: CHECK_URL_MESSAGES.INVALID_URL,
  HTTP_SCHEME_NOT_ALLOWED: CHECK_URL_MESSAGES.SCHEME_NOT_ALLOWED,
  HTTP_NOT_PERMITTED: CHECK_URL_MESSAGES.NETWORK_NOT_PERMITTED,
  HTTP_HOST_NOT_ALLOWED: CHECK_URL_MESSAGES.HOST_NOT_ALLOWED,
  HTTP_PRIVATE_IP: CHECK_URL_MESSAGES.PRIVATE_IP,
  HTTP_RATE_LIMITED: "rate limit exceeded: HTTP requests",
  HTTP_BODY_TOO_LARGE: "request body too large",
  HTTP_TIMEOUT: "request timed out",
  HTTP_BAD_HEADER: "invalid request header",
  HTTP_METHOD_NOT_ALLOWED: "method not allowed",
  HTTP_NETWORK: "network error",
});

/**
 * Builds the `SandboxError` for `code`: the message is the catalogue text,
 * then `: detail` when there is one (e.g. `scheme not allowed: file`).
 */
export function httpError(code: HttpErrorCode, detail?: string, cause?: unknown): SandboxError {
  const base = HTTP_MESSAGES[code];
  const message = detail === undefined || detail === "" ? base : `${base}: ${detail}`;
  return new SandboxError(code, message, cause === undefined ? {} : { cause });
}

/** Codes that are the sandbox saying no (audit `refused`); the rest are failures (`error`). */
export const HTTP_REFUSAL_CODES: ReadonlySet<string> = new Set<HttpErrorCode>([
  "HTTP_INVALID_URL",
  "HTTP_SCHEME_NOT_ALLOWED",
  "HTTP_NOT_PERMITTED",
  "HTTP_HOST_NOT_ALLOWED",
  "HTTP_PRIVATE_IP",
  "HTTP_RATE_LIMITED",
  "HTTP_BODY_TOO_LARGE",
  "HTTP_BAD_HEADER",
  "HTTP_METHOD_NOT_ALLOWED",
]);
