import { channel } from "node:diagnostics_channel";
import { promises as dnsPromises } from "node:dns";
import { isIP } from "node:net";
import { debuglog } from "node:util";
import {
  ClawftError,
  NetworkAllowlist,
  type CidrList,
  RateCounter,
  SandboxError,
  checkUrl,
  isPrivateIp,
  redactUrl,
  type HttpAuditEvent,
} from "@clawft/sandbox-policy/core";
import { HTTP_REFUSAL_CODES, httpError, type HttpErrorCode } from "./errors.js";
import { HttpOptionsError, resolveOptions, type HttpClientOptions, type ResolvedHttpOptions } from "./options.js";
import { PinnedPools, toPinned, type PinnedAddress } from "./pinned-dispatcher.js";
import { Deadline } from "./deadline.js";
import { requestLimited } from "./limited-request.js";
import { decodeUtf8 } from "./read-body.js";
import { checkHeaders, normalizeMethod, userAgentFor } from "./request-rules.js";

const debug = debuglog("clawft");

/** The `node:diagnostics_channel` channel every `HttpAuditEvent` is published on. */
export const HTTP_AUDIT_CHANNEL = "clawft:http";
const auditChannel = channel(HTTP_AUDIT_CHANNEL);

/** One request, in the shape of the WIT `http-request` import. */
export interface HttpRequest {
  /** `GET`, `HEAD`, `POST`, `PUT`, `PATCH`, `DELETE` or `OPTIONS` (any case). */
  method: string;
  /** An absolute `http:` or `https:` URL. */
  url: string;
  /** `[name, value]` pairs, sent in order (duplicates kept). */
  headers?: ReadonlyArray<readonly [string, string]>;
  /** The request body, sent as UTF-8. */
  body?: string;
}

/** What `request` resolves to, whatever the status (a 3xx or 5xx is a response, not an error). */
export interface HttpResponse {
  status: number;
  /** Lower-case names; a header received several times is joined with `", "`. */
  headers: Record<string, string>;
  /** The body decoded as UTF-8 (invalid bytes become U+FFFD), at most `maxResponseBytes` bytes of it. */
  body: string;
  /** True when the body was longer than `maxResponseBytes` and was cut. */
  truncated: boolean;
}


const POLICY_CODES: Readonly<Record<string, HttpErrorCode>> = {
  INVALID_URL: "HTTP_INVALID_URL",
  SCHEME_NOT_ALLOWED: "HTTP_SCHEME_NOT_ALLOWED",
  NETWORK_NOT_PERMITTED: "HTTP_NOT_PERMITTED",
  HOST_NOT_ALLOWED: "HTTP_HOST_NOT_ALLOWED",
  PRIVATE_IP: "HTTP_PRIVATE_IP",
};

/** Longest URL accepted, in UTF-16 units (most servers refuse more than 8 KiB anyway). */
export const MAX_URL_LENGTH = 16_384;

/** undici error codes that mean the time ran out. */
const TIMEOUT_CODES = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);

/** The system resolver: every address of the name, IPv4 and IPv6. */
async function systemResolve(hostname: string): Promise<string[]> {
  const answers = await dnsPromises.lookup(hostname, { all: true });
  return answers.map((a) => a.address);
}

/**
 * Outbound HTTP for one plugin, through undici, where every request is checked
 * on what is actually used: the URL as parsed, every address its host resolves
 * to, and the one address set the connection is pinned to.
 *
 * Order of the checks (each one rejects with a `SandboxError`): method →
 * headers → body size in UTF-8 bytes → `checkUrl` (scheme, allowlist, private
 * IP literal) → rate limit → DNS (skipped for IP literals) → every address
 * private/reserved unless inside `allowPrivateCidrs` → connect to the checked
 * addresses only. The total timeout covers DNS, connect, headers and body.
 *
 * One instance per plugin: rate counter, connection pools and options belong to
 * the instance, never to the process.
 */
export class SandboxedHttpClient {
  readonly #options: ResolvedHttpOptions;
  readonly #allowlist: NetworkAllowlist;
  readonly #rate: RateCounter;
  readonly #pools: PinnedPools;
  readonly #userAgent: string;
  /** `allowPrivateCidrs` as policy's `CidrList` (frozen; empty when no range is given). */
  readonly #allowedPrivate: CidrList;

  constructor(options: HttpClientOptions) {
    const resolved = resolveOptions(options);
    this.#options = resolved.options;
    this.#allowedPrivate = resolved.allowedPrivate;
    try {
      this.#allowlist = new NetworkAllowlist(this.#options.network, { field: "network" });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new HttpOptionsError(message.startsWith("network") ? message : `network is invalid: ${message}`);
    }
    this.#rate = new RateCounter({
      limit: this.#options.maxRequestsPerMinute,
      windowMs: 60_000,
      now: this.#options.now,
    });
    this.#pools = new PinnedPools({ timeoutMs: this.#options.timeoutMs });
    this.#userAgent = userAgentFor(this.#options.pluginId, this.#options.pluginVersion);
  }

  /** The resolved, frozen options (for diagnostics). */
  get options(): ResolvedHttpOptions {
    return this.#options;
  }

  /**
   * Performs one request. Resolves for any HTTP status (redirects are not
   * followed: a 3xx comes back as is); rejects with a `SandboxError` whose
   * `code` is one of the `HTTP_*` codes for every refusal and failure.
   */
  async request(request: HttpRequest): Promise<HttpResponse> {
    const o = this.#options;
    const started = o.now();
    const input = (request ?? {}) as Partial<HttpRequest>;
    // `url` is redacted only when someone listens (see #emit): it costs a URL parse.
    const event: HttpAuditEvent = {
      method: typeof input.method === "string" ? input.method.slice(0, 16) : "(invalid)",
      url: "",
      result: "ok",
      durationMs: 0,
    };
    try {
      const response = await this.#perform(input, event);
      event.status = response.status;
      return response;
    } catch (error) {
      if (error instanceof InvalidArgumentTypeError) {
        // The host passed a value of the wrong type (a bug, not a plugin refusal).
        event.code = error.code;
        event.result = "error";
        throw error;
      }
      const wrapped = this.#asSandboxError(error);
      event.code = wrapped.code;
      event.result = HTTP_REFUSAL_CODES.has(wrapped.code) ? "refused" : "error";
      throw wrapped;
    } finally {
      event.durationMs = Math.max(0, o.now() - started);
      this.#emit(event, input.url);
    }
  }

  /** Closes the kept-alive connections of this client. Later requests fail with `HTTP_NETWORK`. */
  async close(): Promise<void> {
    await this.#pools.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #perform(input: Partial<HttpRequest>, event: HttpAuditEvent): Promise<HttpResponse> {
    const o = this.#options;

    const method = normalizeMethod(input.method);
    event.method = method;
    const headers = checkHeaders(input.headers);

    /** Request body limit, counted in UTF-8 bytes before anything is sent (memory and egress abuse). */
    let body: Buffer | undefined;
    if (input.body !== undefined && input.body !== null) {
      if (typeof input.body !== "string") throw new InvalidArgumentTypeError("body must be a string or undefined");
      // Every UTF-16 unit is at least one UTF-8 byte: a string longer than the
      // limit is refused without encoding it.
      if (input.body.length > o.maxRequestBytes) {
        event.requestBytes = Buffer.byteLength(input.body, "utf8");
        throw httpError("HTTP_BODY_TOO_LARGE", `${event.requestBytes} bytes > ${o.maxRequestBytes}`);
      }
      body = Buffer.from(input.body, "utf8");
      event.requestBytes = body.length;
      if (body.length > o.maxRequestBytes) {
        throw httpError("HTTP_BODY_TOO_LARGE", `${body.length} bytes > ${o.maxRequestBytes}`);
      }
    }

    if (typeof input.url !== "string") throw httpError("HTTP_INVALID_URL", "url must be a string");
    /** A URL cap: parsing, redacting and sending megabytes of URL serves no API and wastes the host's CPU. */
    if (input.url.length > MAX_URL_LENGTH) throw httpError("HTTP_INVALID_URL", `longer than ${MAX_URL_LENGTH} characters`);
    const target = this.#checkTarget(input.url);

    /**
     * Rate limit, per client. Only requests that passed every static check
     * count: a refused request costs no DNS query and no connection, so it
     * cannot be used to reach anything, and a plugin's typo does not eat its
     * budget. Everything from here on (DNS, connection) counts.
     */
    if (!this.#rate.tryAcquire()) throw httpError("HTTP_RATE_LIMITED");

    /**
     * Total timeout: one deadline for DNS, connect, headers and body, so a
     * server that answers one byte a second (slowloris in reverse) or a
     * resolver that never answers cannot hold the plugin past `timeoutMs`.
     */
    const deadline = new Deadline(o.timeoutMs, () => this.#timeoutError());
    try {
      const addresses = await this.#resolveChecked(target, deadline);
      const pool = await this.#pools.get(target.url.origin, addresses);
      if (debug.enabled) {
        debug("http %s %s -> %s", method, redactUrl(target.url), addresses.map((a) => a.address).join(","));
      }
      const res = await requestLimited(
        pool,
        {
          method,
          path: `${target.url.pathname}${target.url.search}`,
          headers: [...headers, "user-agent", this.#userAgent],
          body: body ?? null,
        },
        o.maxResponseBytes,
        deadline,
      );
      event.bytes = res.bytes.length;
      return {
        status: res.status,
        headers: joinHeaders(res.headers),
        body: decodeUtf8(res.bytes, res.truncated),
        truncated: res.truncated,
      };
    } finally {
      deadline.clear();
    }
  }

  /**
   * `checkUrl` from sandbox-policy, mapped to `HTTP_*` codes, with this client's
   * `CidrList` as the operator's private-range opt-in: a private literal passes
   * only when inside `allowPrivateCidrs` AND listed in `network`.
   */
  #checkTarget(url: string): { url: URL; host: string; isIp: boolean } {
    const checked = checkUrl(url, this.#allowlist, { allowPrivateCidrs: this.#allowedPrivate });
    if (!checked.ok) {
      const code = POLICY_CODES[checked.code] ?? "HTTP_INVALID_URL";
      throw new SandboxError(code, checked.message);
    }
    const target = checked;
    /**
     * Credentials in the URL are refused rather than silently dropped or turned
     * into an `Authorization` header behind the plugin's back (and they would
     * otherwise be easy to leak into logs); the plugin can send the header.
     */
    if (target.url.username !== "" || target.url.password !== "") {
      throw httpError("HTTP_INVALID_URL", "credentials in the URL are not supported; send an Authorization header");
    }
    return target;
  }

  /**
   * True when `address` is inside `allowPrivateCidrs`: the operator's opt-in,
   * judged by the same `CidrList` rule as `PluginSandbox` (an IPv4-mapped
   * address like its IPv4, a zoned address never), on the address that is
   * connected to.
   */
  #insideAllowedPrivate(address: string): boolean {
    return this.#allowedPrivate.contains(address);
  }

  /**
   * Resolves the host once and checks every answer: if ANY address is private
   * or reserved (and not inside `allowPrivateCidrs`) the request is refused and
   * no connection is made. Stops SSRF through a name that points at
   * `127.0.0.1`, `169.254.169.254` or an internal network, including a name
   * with one public and one private answer (the connection could pick either).
   * IP literals skip DNS entirely.
   */
  async #resolveChecked(target: { host: string; isIp: boolean }, deadline: Deadline): Promise<PinnedAddress[]> {
    let answers: unknown;
    if (target.isIp || isIP(target.host) !== 0) {
      answers = [target.host];
    } else {
      const resolver = this.#options.resolve ?? systemResolve;
      try {
        answers = await deadline.race(Promise.resolve(resolver(target.host)));
      } catch (error) {
        if (error === deadline.error) throw error;
        const code = (error as NodeJS.ErrnoException | null)?.code;
        throw httpError("HTTP_NETWORK", `could not resolve ${target.host}${typeof code === "string" ? ` (${code})` : ""}`, error);
      }
    }
    if (!Array.isArray(answers) || answers.length === 0) {
      throw httpError("HTTP_NETWORK", `could not resolve ${target.host} (no address)`);
    }
    const pinned: PinnedAddress[] = [];
    for (const answer of answers) {
      if (typeof answer !== "string" || isIP(answer) === 0) {
        // Connecting to a non-address would need another lookup: never.
        throw httpError("HTTP_NETWORK", `could not resolve ${target.host} (resolver returned a non-address)`);
      }
      if (isPrivateIp(answer) && !this.#insideAllowedPrivate(answer)) throw httpError("HTTP_PRIVATE_IP");
      if (!pinned.some((p) => p.address === answer)) pinned.push(toPinned(answer));
    }
    return pinned;
  }

  #timeoutError(cause?: unknown): SandboxError {
    return httpError("HTTP_TIMEOUT", `no complete response within ${this.#options.timeoutMs} ms`, cause);
  }

  #asSandboxError(error: unknown): SandboxError {
    if (SandboxError.isInstance(error)) return error;
    if (ClawftError.isInstance(error)) return httpError("HTTP_NETWORK", error.message, error);
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === "string" && TIMEOUT_CODES.has(code)) {
      return this.#timeoutError(error);
    }
    const detail = typeof code === "string" ? code : error instanceof Error ? error.message : String(error);
    return httpError("HTTP_NETWORK", detail, error);
  }

  #emit(event: HttpAuditEvent, rawUrl: unknown): void {
    const sink = this.#options.audit;
    if (sink === undefined && !auditChannel.hasSubscribers) return;
    event.url = typeof rawUrl === "string" ? redactUrl(rawUrl) : "(invalid url)";
    const frozen = Object.freeze(event);
    if (sink !== undefined) {
      try {
        sink(frozen);
      } catch {
        // A sink must not throw; if it does, the request's outcome stands.
      }
    }
    if (auditChannel.hasSubscribers) auditChannel.publish(frozen);
  }
}

/** A `TypeError` for an argument of the wrong type (`code` `ERR_INVALID_ARG_TYPE`, like Node's own). */
class InvalidArgumentTypeError extends TypeError {
  readonly code = "ERR_INVALID_ARG_TYPE";
}

/** Joins undici's response headers into one string per lower-case name. */
function joinHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}
