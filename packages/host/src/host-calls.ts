import { debuglog } from "node:util";
import {
  type AuditEvent,
  type AuditResult,
  type HostFunction,
  type PluginSandbox,
  SandboxError,
  redactUrl,
  truncateLogMessage,
} from "@clawft/sandbox-policy";
import { FS_REFUSAL_CODES } from "@clawft/sandbox-fs";
import { HTTP_REFUSAL_CODES } from "@clawft/sandbox-http";
import { emitAudit } from "./audit.js";
import { HostFn, type HostFnId, Reply, type ReplyStatus } from "./runtime/protocol.js";
import type { HostReply } from "./runtime/worker-runtime.js";
import type { ArgumentRefusal } from "./runtime/argument-limits.js";

const debug = debuglog("clawft");

/** The levels of the WIT `log` import: 0 error, 1 warn, 2 info, 3 debug, 4+ trace. */
export type LogLevel = "error" | "warn" | "info" | "debug" | "trace";

/** Where plugin logs and host warnings go. Each method is called as `(message, { pluginId })`. */
export interface HostLogger {
  error(message: string, meta: { pluginId: string }): void;
  warn(message: string, meta: { pluginId: string }): void;
  info(message: string, meta: { pluginId: string }): void;
  debug(message: string, meta: { pluginId: string }): void;
  trace(message: string, meta: { pluginId: string }): void;
}

/** The filesystem piece a plugin's host calls go through (`SandboxedFileSystem` fits). */
export interface PluginFileSystem {
  readFile(path: string): Promise<string>;
  writeFile(path: string, content: string): Promise<void>;
}

/** One HTTP request as the plugin made it. */
export interface PluginHttpRequest {
  method: string;
  url: string;
  headers: ReadonlyArray<readonly [string, string]>;
  body?: string;
}

/** The HTTP piece a plugin's host calls go through (`SandboxedHttpClient` fits). */
export interface PluginHttpClient {
  request(request: PluginHttpRequest): Promise<{ status: number; body: string }>;
  close?(): Promise<void>;
}

/** What the handler needs to serve one plugin's host calls. */
export interface HostCallContext {
  pluginId: string;
  /** `undefined` when the plugin has no filesystem grant (every call refused). */
  fs: PluginFileSystem | undefined;
  http: PluginHttpClient;
  /** The plugin's sandbox: env rule, log limiter, limits. */
  sandbox: PluginSandbox;
  env: Readonly<Record<string, string | undefined>>;
  logger: HostLogger;
  audit: ((event: AuditEvent) => void) | undefined;
  maxWriteBytes: number;
  maxRequestBytes: number;
}

/**
 * Codes that are a policy refusal (audit `refused`); every other failure is
 * `error`. Each sandbox package owns the list of its own refusal codes.
 */
const REFUSAL_CODES: ReadonlySet<string> = new Set([...FS_REFUSAL_CODES, ...HTTP_REFUSAL_CODES]);

const LEVELS: readonly LogLevel[] = ["error", "warn", "info", "debug", "trace"];

/** The window of the per-plugin rate limits (sandbox-policy counts per 60 s). */
const RATE_WINDOW_MS = 60_000;

/** How many bytes of a non-2xx body the plugin sees in the err text. */
const STATUS_BODY_PREVIEW = 256;

const FUNCTION_NAMES: Record<HostFnId, HostFunction> = {
  [HostFn.HTTP_REQUEST]: "http-request",
  [HostFn.READ_FILE]: "read-file",
  [HostFn.WRITE_FILE]: "write-file",
  [HostFn.GET_ENV]: "get-env",
  [HostFn.LOG]: "log",
};

type Args = AuditEvent["args"];

interface Served {
  reply: HostReply;
  result: AuditResult;
  code?: string;
  args: Args;
  /** Set for a call dropped by a rate limit: counted in a summary, not audited alone (T51). */
  rateLimited?: { limit: number; windowMs: number };
}

function ok(value: string, args: Args): Served {
  return { reply: { status: Reply.OK, value }, result: "ok", args };
}

/** A call its plugin's rate limit dropped (get-env: `none`, log: nothing), for the window's summary. */
function rateLimited(status: ReplyStatus, limit: { limit: number; windowMs: number }): Served {
  return {
    reply: { status, value: "" },
    result: "refused",
    code: "RATE_LIMITED",
    args: {},
    rateLimited: { limit: limit.limit, windowMs: limit.windowMs },
  };
}

function byteLength(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

/** Redacts a URL for the audit trail; an unparsable one is summarised by its length only. */
function safeUrl(url: string): string {
  try {
    return redactUrl(url);
  } catch {
    return `(invalid url, ${url.length} chars)`;
  }
}

/** A host call being served asynchronously (fs, http). */
interface Flight {
  fn: HostFunction;
  args: Args;
  started: number;
  /** Set when its audit was already written (the instance was abandoned while it ran). */
  audited: boolean;
}

/** One guest instance's side of a plugin's {@link HostCallHandler}. */
export class HostCallSession {
  /** Host calls served since the last `takeCount()`. */
  count = 0;
  inFlight: Flight | undefined;

  constructor(private readonly handler: HostCallHandler) {}

  /** The wire-facing entry point for this instance (see `HostCallServer`). */
  readonly serve = (fn: HostFnId, args: () => string[], refusal: ArgumentRefusal | undefined): HostReply | Promise<HostReply> =>
    this.handler.serve(this, fn, args, refusal);

  takeCount(): number {
    const n = this.count;
    this.count = 0;
    return n;
  }

  /**
   * Called when the call is abandoned (timeout, crash) while a host call is still in
   * flight: its audit event is written now, so it lands before the call settles.
   */
  abandonInFlight(code: string): void {
    const f = this.inFlight;
    if (!f || f.audited) return;
    f.audited = true;
    this.inFlight = undefined;
    this.handler.auditAbandoned(f, code);
  }
}

/**
 * Serves one plugin's host calls through its sandbox pieces and writes exactly one
 * audit event per call (T42). Every refusal becomes an `err` whose text is the
 * sandbox error's message (it starts with the security catalogue's text); an
 * unexpected exception becomes `err("host error")` (details go to the logger only).
 */
export class HostCallHandler {
  private dropTimer: NodeJS.Timeout | undefined;
  /** Calls dropped by a rate limit, per function, not yet summarised (T51). */
  private readonly dropped = new Map<HostFunction, { count: number; limit: number; windowMs: number; timer: NodeJS.Timeout | undefined }>();

  constructor(private readonly ctx: HostCallContext) {}

  /**
   * State for one guest instance: its host-call count (for `usage`) and the call it
   * has in flight (for a timeout's audit). An instance booting in the background
   * (a replacement's `init`) may make host calls while another instance of the same
   * plugin runs a tool call: each has its own session, so neither's count or
   * in-flight call is mistaken for the other's. Rate limits stay per plugin.
   */
  session(): HostCallSession {
    return new HostCallSession(this);
  }

  /**
   * Serves one host call of `session`'s instance (see `HostCallServer`). `args`
   * may be a function that reads them from the wire: it is called at once, or not
   * at all for a call dropped by a rate limit (T51) or refused from a length (T49).
   */
  serve(
    session: HostCallSession,
    fn: HostFnId,
    args: readonly string[] | (() => string[]),
    refusal?: ArgumentRefusal,
  ): HostReply | Promise<HostReply> {
    session.count++;
    const started = performance.now();
    const name = FUNCTION_NAMES[fn];
    if (name === undefined) return { status: Reply.ERR, value: "host error: unknown host function" };
    const read = typeof args === "function" ? args : (): readonly string[] => args;
    if (refusal) return this.finish(name, started, this.refuseArgument(fn, refusal));
    // log and get-env answer synchronously (no await on the hot path).
    if (fn === HostFn.LOG) return this.finish(name, started, this.log(read));
    if (fn === HostFn.GET_ENV) return this.finish(name, started, this.getEnv(read));
    const argv = [...read()];
    const summary = this.summary(fn, argv);
    const flight: Flight = { fn: name, args: summary, started, audited: false };
    session.inFlight = flight;
    return this.serveAsync(fn, argv, summary).then(
      (served) => {
        if (session.inFlight === flight) session.inFlight = undefined;
        if (flight.audited) return served.reply;
        return this.finish(name, started, served);
      },
      (error: unknown) => {
        if (session.inFlight === flight) session.inFlight = undefined;
        debug("host call %s failed: %o", name, error);
        this.ctx.logger.error(`host call ${name} failed: ${error instanceof Error ? error.message : String(error)}`, {
          pluginId: this.ctx.pluginId,
        });
        const served: Served = { reply: { status: Reply.ERR, value: "host error" }, result: "error", code: "HOST_ERROR", args: summary };
        if (flight.audited) return served.reply;
        return this.finish(name, started, served);
      },
    );
  }

  /**
   * An argument the worker refused from its length (T49): the guest gets an `err`
   * (get-env: none; log: dropped), the audit records the size, never the content.
   * A body or file content keeps its sandbox's own code and message (T11, write
   * limit); every other argument is `ARGUMENT_TOO_LARGE`.
   */
  private refuseArgument(fn: HostFnId, refusal: ArgumentRefusal): Served {
    const { argument, size, limit, unit } = refusal;
    const args: Args = { argument, [`${argument}${unit === "entries" ? "Count" : "Bytes"}`]: size, limit };
    let code = "ARGUMENT_TOO_LARGE";
    let message = `argument too large: ${argument} is ${size} ${unit} (limit ${limit})`;
    if (argument === "body") {
      code = "HTTP_BODY_TOO_LARGE";
      message = `request body too large: ${size} bytes (limit ${limit})`;
    } else if (argument === "content") {
      code = "FS_TOO_LARGE";
      message = `file too large: ${size} bytes (limit ${limit})`;
    }
    const status = fn === HostFn.GET_ENV ? Reply.NONE : fn === HostFn.LOG ? Reply.OK_UNIT : Reply.ERR;
    return { reply: { status, value: status === Reply.ERR ? message : "" }, result: "refused", code, args };
  }

  /**
   * Counts a call refused by a rate limit instead of auditing it alone (T51): the
   * first drop of a window starts a timer; when the window has passed, ONE event
   * (`result: "refused"`, `code: "RATE_LIMITED"`) carries the count in
   * `args.dropped`. Stops a plugin from writing one audit line per dropped call
   * (300,000 log calls were 300,000 lines, 52 MiB).
   */
  private countDropped(fn: HostFunction, limit: number, windowMs: number): void {
    let d = this.dropped.get(fn);
    if (!d) {
      d = { count: 0, limit, windowMs, timer: undefined };
      this.dropped.set(fn, d);
    }
    d.count++;
    if (!d.timer) {
      d.timer = setTimeout(() => {
        if (d) d.timer = undefined;
        this.flushRateLimited(fn);
      }, windowMs + 10);
      d.timer.unref();
    }
  }

  /** Writes the summary event of `fn`'s dropped calls, if any. */
  private flushRateLimited(fn: HostFunction): void {
    const d = this.dropped.get(fn);
    if (!d || d.count === 0) return;
    const dropped = d.count;
    d.count = 0;
    emitAudit(this.ctx.audit, {
      pluginId: this.ctx.pluginId,
      function: fn,
      args: { dropped, limit: d.limit, windowMs: d.windowMs },
      result: "refused",
      code: "RATE_LIMITED",
      durationMs: 0,
      timestamp: Date.now(),
    });
  }

  /** Writes the audit event of a host call that its instance abandoned. */
  auditAbandoned(f: Flight, code: string): void {
    emitAudit(this.ctx.audit, {
      pluginId: this.ctx.pluginId,
      function: f.fn,
      args: f.args,
      result: "error",
      code,
      durationMs: performance.now() - f.started,
      timestamp: Date.now(),
    });
  }

  /** Writes the throttle warning for log messages dropped in windows that ended. */
  flushDropped(all: boolean): void {
    const limiter = this.ctx.sandbox.logLimiter;
    const dropped = all ? limiter.flushDropped() : limiter.takeDropped();
    if (dropped > 0) {
      this.ctx.logger.warn(
        `log rate limit exceeded: ${dropped} message${dropped === 1 ? "" : "s"} dropped (limit ${limiter.limit} per ${limiter.windowMs / 1000} s)`,
        { pluginId: this.ctx.pluginId },
      );
    }
  }

  close(): void {
    if (this.dropTimer) clearTimeout(this.dropTimer);
    this.dropTimer = undefined;
    this.flushDropped(true);
    for (const [fn, d] of this.dropped) {
      if (d.timer) clearTimeout(d.timer);
      d.timer = undefined;
      this.flushRateLimited(fn);
    }
  }

  private finish(name: HostFunction, started: number, served: Served): HostReply {
    if (served.rateLimited) {
      this.countDropped(name, served.rateLimited.limit, served.rateLimited.windowMs);
      return served.reply;
    }
    const event: AuditEvent = {
      pluginId: this.ctx.pluginId,
      function: name,
      args: served.args,
      result: served.result,
      durationMs: performance.now() - started,
      timestamp: Date.now(),
    };
    if (served.code !== undefined) event.code = served.code;
    emitAudit(this.ctx.audit, event);
    return served.reply;
  }

  private summary(fn: HostFnId, args: readonly string[]): Args {
    switch (fn) {
      case HostFn.HTTP_REQUEST: {
        const [method = "", url = "", headersJson = "[]", body] = args;
        let headerCount = 0;
        try {
          headerCount = (JSON.parse(headersJson) as unknown[]).length;
        } catch {
          headerCount = -1;
        }
        return {
          method,
          url: safeUrl(url),
          headers: headerCount,
          bodyBytes: body === undefined ? null : byteLength(body),
        };
      }
      case HostFn.READ_FILE:
        return { path: args[0] ?? "" };
      case HostFn.WRITE_FILE:
        return { path: args[0] ?? "", bytes: byteLength(args[1] ?? "") };
      default:
        return {};
    }
  }

  private refusal(error: unknown, args: Args): Served {
    if (SandboxError.isInstance(error)) {
      return {
        reply: { status: Reply.ERR, value: error.message },
        result: REFUSAL_CODES.has(error.code) ? "refused" : "error",
        code: error.code,
        args,
      };
    }
    throw error;
  }

  private async serveAsync(fn: HostFnId, args: readonly string[], summary: Args): Promise<Served> {
    const ctx = this.ctx;
    if (fn === HostFn.READ_FILE) {
      if (!ctx.fs) return this.notPermitted(summary);
      try {
        const content = await ctx.fs.readFile(args[0] ?? "");
        return ok(content, { ...summary, bytes: byteLength(content) });
      } catch (error) {
        return this.refusal(error, summary);
      }
    }
    if (fn === HostFn.WRITE_FILE) {
      if (!ctx.fs) return this.notPermitted(summary);
      try {
        await ctx.fs.writeFile(args[0] ?? "", args[1] ?? "");
        return { reply: { status: Reply.OK_UNIT, value: "" }, result: "ok", args: summary };
      } catch (error) {
        return this.refusal(error, summary);
      }
    }
    // http-request
    const [method = "", url = "", headersJson = "[]", body] = args;
    let headers: Array<[string, string]>;
    try {
      headers = JSON.parse(headersJson) as Array<[string, string]>;
    } catch {
      headers = [];
    }
    try {
      const request: PluginHttpRequest = { method, url, headers };
      if (body !== undefined) request.body = body;
      const res = await ctx.http.request(request);
      const withStatus = { ...summary, status: res.status, bytes: byteLength(res.body) };
      if (res.status >= 200 && res.status < 300) return ok(res.body, withStatus);
      // Any other status is an err that starts `http status NNN` and carries the start of the body.
      const preview = truncateLogMessage(res.body, STATUS_BODY_PREVIEW);
      return {
        reply: { status: Reply.ERR, value: `http status ${res.status}: ${preview}` },
        result: "error",
        code: "HTTP_STATUS",
        args: withStatus,
      };
    } catch (error) {
      const served = this.refusal(error, summary);
      if (served.code === "HTTP_RATE_LIMITED") {
        served.rateLimited = { limit: ctx.sandbox.resources.maxHttpRequestsPerMinute, windowMs: RATE_WINDOW_MS };
      }
      return served;
    }
  }

  private notPermitted(args: Args): Served {
    return {
      reply: { status: Reply.ERR, value: "filesystem access not permitted" },
      result: "refused",
      code: "FS_NOT_PERMITTED",
      args,
    };
  }

  /**
   * `get-env`: denied and unset both answer `none`; the audit tells them apart,
   * never the value. Rate limited per plugin (T52): past the limit the answer is
   * `none` too, decided before the name is read (T51).
   */
  private getEnv(read: () => readonly string[]): Served {
    const ctx = this.ctx;
    const counter = ctx.sandbox.envCounter;
    if (!counter.tryAcquire()) return rateLimited(Reply.NONE, counter);
    const name = read()[0] ?? "";
    const reason = ctx.sandbox.explainEnvAccess(name);
    if (reason !== "allowed") {
      return { reply: { status: Reply.NONE, value: "" }, result: "refused", code: `ENV_${reason.toUpperCase().replace(/-/g, "_")}`, args: { name } };
    }
    const value = ctx.sandbox.readEnv(name, ctx.env);
    if (typeof value !== "string") return { reply: { status: Reply.NONE, value: "" }, result: "ok", args: { name, set: false } };
    return { reply: { status: Reply.OK, value }, result: "ok", args: { name, set: true } };
  }

  /**
   * `log`: rate limited per plugin, truncated to 4 KiB, then written to the logger.
   * The limiter is asked before the message is read from the wire: a dropped
   * message is never decoded on the main thread (T51). The worker sends at most
   * `LOG_DECODE_BYTES` of a longer message, plus its original length (T49).
   */
  private log(read: () => readonly string[]): Served {
    const ctx = this.ctx;
    this.flushDropped(false);
    const limiter = ctx.sandbox.logLimiter;
    if (!limiter.tryLog()) {
      // One warning per window: written when the window has ended (next log call,
      // a timer, or close), with the count of messages it dropped.
      if (!this.dropTimer) {
        this.dropTimer = setTimeout(() => {
          this.dropTimer = undefined;
          this.flushDropped(false);
        }, limiter.windowMs + 10);
        this.dropTimer.unref();
      }
      return rateLimited(Reply.OK_UNIT, limiter);
    }
    const [levelText = "2", message = "", originalBytes] = read();
    const levelNum = Number(levelText);
    const level = LEVELS[Math.min(Number.isInteger(levelNum) && levelNum >= 0 ? levelNum : 2, 4)] as LogLevel;
    const bytes = originalBytes === undefined ? byteLength(message) : Number(originalBytes);
    const summary: Args = { level, bytes };
    try {
      ctx.logger[level](truncateLogMessage(message), { pluginId: ctx.pluginId });
    } catch (error) {
      debug("logger threw: %o", error);
    }
    return { reply: { status: Reply.OK_UNIT, value: "" }, result: "ok", args: summary };
  }
}
