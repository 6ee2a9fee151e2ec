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
import { HostFn, type HostFnId, Reply } from "./runtime/protocol.js";
import type { HostReply } from "./runtime/worker-runtime.js";

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
}

function ok(value: string, args: Args): Served {
  return { reply: { status: Reply.OK, value }, result: "ok", args };
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
  readonly serve = (fn: HostFnId, args: string[], oversize: number): HostReply | Promise<HostReply> =>
    this.handler.serve(this, fn, args, oversize);

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

  /** Serves one host call of `session`'s instance (see `HostCallServer`). */
  serve(session: HostCallSession, fn: HostFnId, args: string[], oversize: number): HostReply | Promise<HostReply> {
    session.count++;
    const started = performance.now();
    const name = FUNCTION_NAMES[fn];
    if (name === undefined) return { status: Reply.ERR, value: "host error: unknown host function" };
    // log and get-env answer synchronously (no await on the hot path).
    if (fn === HostFn.LOG) return this.finish(name, started, this.log(args));
    if (fn === HostFn.GET_ENV) return this.finish(name, started, this.getEnv(args));
    const summary = this.summary(fn, args, oversize);
    const flight: Flight = { fn: name, args: summary, started, audited: false };
    session.inFlight = flight;
    return this.serveAsync(fn, args, oversize, summary).then(
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
  }

  private finish(name: HostFunction, started: number, served: Served): HostReply {
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

  private summary(fn: HostFnId, args: string[], oversize: number): Args {
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
          bodyBytes: oversize > 0 ? oversize : body === undefined ? null : byteLength(body),
        };
      }
      case HostFn.READ_FILE:
        return { path: args[0] ?? "" };
      case HostFn.WRITE_FILE:
        return { path: args[0] ?? "", bytes: oversize > 0 ? oversize : byteLength(args[1] ?? "") };
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

  private async serveAsync(fn: HostFnId, args: string[], oversize: number, summary: Args): Promise<Served> {
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
      if (oversize > 0) {
        // Too big to even copy across: refused from its size alone.
        return {
          reply: { status: Reply.ERR, value: `file too large: ${oversize} bytes (limit ${ctx.maxWriteBytes})` },
          result: "refused",
          code: "FS_TOO_LARGE",
          args: summary,
        };
      }
      try {
        await ctx.fs.writeFile(args[0] ?? "", args[1] ?? "");
        return { reply: { status: Reply.OK_UNIT, value: "" }, result: "ok", args: summary };
      } catch (error) {
        return this.refusal(error, summary);
      }
    }
    // http-request
    const [method = "", url = "", headersJson = "[]", body] = args;
    if (oversize > 0) {
      return {
        reply: { status: Reply.ERR, value: `request body too large: ${oversize} bytes (limit ${ctx.maxRequestBytes})` },
        result: "refused",
        code: "HTTP_BODY_TOO_LARGE",
        args: summary,
      };
    }
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
      return this.refusal(error, summary);
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

  /** `get-env`: denied and unset both answer `none`; the audit tells them apart, never the value. */
  private getEnv(args: string[]): Served {
    const ctx = this.ctx;
    const name = args[0] ?? "";
    const reason = ctx.sandbox.explainEnvAccess(name);
    const shownName = name.length > 256 ? `${name.slice(0, 256)}…` : name;
    if (reason !== "allowed") {
      return { reply: { status: Reply.NONE, value: "" }, result: "refused", code: `ENV_${reason.toUpperCase().replace(/-/g, "_")}`, args: { name: shownName } };
    }
    const value = ctx.sandbox.readEnv(name, ctx.env);
    if (typeof value !== "string") return { reply: { status: Reply.NONE, value: "" }, result: "ok", args: { name: shownName, set: false } };
    return { reply: { status: Reply.OK, value }, result: "ok", args: { name: shownName, set: true } };
  }

  /** `log`: truncated to 4 KiB, rate limited per plugin, then written to the logger. */
  private log(args: string[]): Served {
    const ctx = this.ctx;
    const levelNum = Number(args[0] ?? "2");
    const level = LEVELS[Math.min(Number.isInteger(levelNum) && levelNum >= 0 ? levelNum : 2, 4)] as LogLevel;
    const message = args[1] ?? "";
    const summary: Args = { level, bytes: byteLength(message) };
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
      return { reply: { status: Reply.OK_UNIT, value: "" }, result: "dropped", code: "LOG_RATE_LIMITED", args: summary };
    }
    try {
      ctx.logger[level](truncateLogMessage(message), { pluginId: ctx.pluginId });
    } catch (error) {
      debug("logger threw: %o", error);
    }
    return { reply: { status: Reply.OK_UNIT, value: "" }, result: "ok", args: summary };
  }
}
