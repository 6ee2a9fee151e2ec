import { httpError } from "./errors.js";

/** The methods a plugin may use. CONNECT and TRACE (tunnels, cross-site tracing) are not in it. */
export const ALLOWED_METHODS: readonly string[] = Object.freeze([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "PATCH",
  "DELETE",
  "OPTIONS",
]);

const ALLOWED_METHOD_SET = new Set(ALLOWED_METHODS);

/**
 * Returns the upper-case method, or throws `HTTP_METHOD_NOT_ALLOWED`.
 *
 * Stops `CONNECT` (opening a raw tunnel through the request line), `TRACE`
 * (reflecting headers back) and made-up methods that could confuse a server
 * or an intermediary. Case is normalised (`get` is sent as `GET`): the seven
 * standard methods are all upper case on the wire, and a guest language that
 * lower-cases them should not get a surprising refusal.
 */
export function normalizeMethod(method: unknown): string {
  if (typeof method !== "string") throw httpError("HTTP_METHOD_NOT_ALLOWED", typeof method);
  const upper = method.toUpperCase();
  if (!ALLOWED_METHOD_SET.has(upper)) {
    throw httpError("HTTP_METHOD_NOT_ALLOWED", JSON.stringify(method.slice(0, 32)));
  }
  return upper;
}

/**
 * Header names the plugin may not set (lower case), and why:
 * - `host`: would point the request at another virtual host than the one checked;
 * - `connection`, `keep-alive`, `te`, `trailer`, `transfer-encoding`, `upgrade`:
 *   hop-by-hop and framing headers (request smuggling, protocol switching);
 * - `content-length`: framing, the host computes it from the body it counted;
 * - `expect`: `100-continue` handshakes the host does not take part in;
 * - `user-agent`: the host identifies the plugin itself (`clawft-plugin/<id>/<version>`),
 *   so a server (and an operator reading its logs) always knows who called;
 * - `proxy-*` (prefix, below): proxy credentials and proxy routing.
 */
export const FORBIDDEN_HEADERS: ReadonlySet<string> = new Set([
  "host",
  "connection",
  "keep-alive",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "content-length",
  "expect",
  "user-agent",
]);

/** RFC 7230 `token`: the only characters a header name may have. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * A field value: visible ASCII, space, tab and obs-text (0x80–0xFF). Refusing
 * everything else refuses CR, LF and NUL, which stops header injection and
 * request splitting (`"x\r\nHost: evil"`), and characters above U+00FF that
 * would be mangled when sent as latin1.
 */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** At most this many headers a request (a guard against memory abuse, not a protocol rule). */
export const MAX_HEADERS = 100;
/** At most this many bytes of header names and values together. */
export const MAX_HEADER_BYTES = 64 * 1024;

/**
 * Checks the plugin's headers (WIT shape: `[name, value]` pairs) and returns
 * them as undici's flat `[name, value, name, value, …]` array, order and
 * duplicates kept. Throws `HTTP_BAD_HEADER` naming the first bad header.
 */
export function checkHeaders(headers: unknown): string[] {
  if (headers === undefined || headers === null) return [];
  if (!Array.isArray(headers)) throw httpError("HTTP_BAD_HEADER", "headers must be a list of [name, value] pairs");
  if (headers.length > MAX_HEADERS) throw httpError("HTTP_BAD_HEADER", `more than ${MAX_HEADERS} headers`);
  const flat: string[] = [];
  let total = 0;
  for (let i = 0; i < headers.length; i++) {
    const pair: unknown = headers[i];
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string") {
      throw httpError("HTTP_BAD_HEADER", `headers[${i}] must be a [name, value] pair of strings`);
    }
    const [name, value] = pair as [string, string];
    if (!TOKEN.test(name)) throw httpError("HTTP_BAD_HEADER", `headers[${i}] name is not a valid token`);
    const lower = name.toLowerCase();
    if (FORBIDDEN_HEADERS.has(lower) || lower.startsWith("proxy-")) {
      throw httpError("HTTP_BAD_HEADER", `${lower} may not be set by a plugin`);
    }
    if (!FIELD_VALUE.test(value)) throw httpError("HTTP_BAD_HEADER", `${lower} value has a forbidden character`);
    total += name.length + value.length;
    if (total > MAX_HEADER_BYTES) throw httpError("HTTP_BAD_HEADER", `headers larger than ${MAX_HEADER_BYTES} bytes`);
    flat.push(name, value);
  }
  return flat;
}

/** The `User-Agent` the host sends for a plugin. */
export function userAgentFor(pluginId: string, pluginVersion: string): string {
  return `clawft-plugin/${pluginId}/${pluginVersion}`;
}
