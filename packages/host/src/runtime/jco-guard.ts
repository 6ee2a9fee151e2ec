/**
 * The argument limits on jco's own lowering (T61): a core module the direct
 * lowering cannot serve (no `cabi_realloc` export, a memory it cannot find) calls
 * the host through jco's trampolines, which decode every string and lift every
 * list out of guest memory BEFORE calling the host function. Unguarded, a list of
 * a million header entries pointing at one large string made the worker build
 * strings until its heap died.
 *
 * Each trampoline (found by import name, by jco 1.35's `fnName` mark, or through
 * wit-component's shim/fixup indirection: see `wrapImports`) is wrapped with a function that sees the same core arguments
 * (pointers and lengths) and checks them against the same limits as the direct
 * lowering before the trampoline runs; an argument over its limit is replaced by an
 * empty one (pointer 0, length 0), so jco decodes nothing, and the refusal is
 * handed to the host function, which answers with the same `err` the direct
 * lowering gives. A log message's length is cut to `LOG_DECODE_BYTES`. The header
 * strings (their lengths live in guest memory, read by jco) are bounded by a
 * decoding budget: while a guarded trampoline runs, jco's `TextDecoder` refuses to
 * decode more than the header limit and reports the overflow instead.
 *
 * A host function reached from jco WITHOUT a guard (a jco whose trampolines carry
 * no mark) traps: such a module is refused rather than served unbounded.
 */
import {
  type ArgumentRefusal,
  ARGUMENT_BYTE_LIMITS,
  bytesOver,
  checkArgumentBytes,
  checkHeaderCount,
  LOG_DECODE_BYTES,
} from "./argument-limits.js";
import { HOST_IMPORT_MODULE, type HostFunctionName, type HostFunctions, type HostResult } from "./host-lowering.js";

/** jco's marks on its lowered host imports, by the world's function name. */
const TRAMPOLINE_MARKS: Readonly<Record<string, HostFunctionName>> = Object.freeze({
  "host#httpRequest": "http-request",
  "host#readFile": "read-file",
  "host#writeFile": "write-file",
  "host#getEnv": "get-env",
  "host#log": "log",
});

/** Message of the trap when a host function is reached through an unguarded jco trampoline. */
export const UNGUARDED_TRAMPOLINE_MESSAGE =
  "HOST_LOWERING_UNSUPPORTED: host import called through a jco trampoline without argument limits (unknown jco glue shape)";

type CoreFn = (...args: number[]) => unknown;

const HOST_FUNCTION_NAMES: ReadonlySet<string> = new Set(Object.values(TRAMPOLINE_MARKS));

function isHostFunctionName(name: string): name is HostFunctionName {
  return HOST_FUNCTION_NAMES.has(name);
}

/** What one guarded trampoline call found, read by the host function jco calls next. */
interface GuardCall {
  fn: HostFunctionName;
  refusal: ArgumentRefusal | undefined;
  /** The guest's length of a log message whose decoded length was cut. */
  logBytes: number | undefined;
  /** Bytes the decoder may still decode in this call (Infinity: no budget). */
  budget: number;
  /** Bytes jco asked to decode in this call. */
  requested: number;
  /** Bytes of method, url and body (checked from the ABI); the rest of `requested` is headers. */
  fixedBytes: number;
  overflow: boolean;
}

/** One worker's guard over jco's trampolines and its UTF-8 decoder. */
export class JcoGuard {
  private call: GuardCall | undefined;
  /** Trampolines wrapped so far (a glue that marks none is served by the direct lowering only). */
  wrapped = 0;

  /**
   * Replaces the global `TextDecoder` the glue's `instantiate` creates its UTF-8
   * decoder from with one that honours the budget of the guarded call in flight
   * (no budget outside one: export results, UTF-16 and the like decode as usual).
   */
  installDecoder(target: { TextDecoder: typeof TextDecoder } = globalThis): void {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const guard = this;
    const Base = target.TextDecoder;
    class BudgetedTextDecoder extends Base {
      override decode(input?: AllowSharedBufferSource, options?: TextDecodeOptions): string {
        const call = guard.call;
        if (call !== undefined && call.budget !== Number.POSITIVE_INFINITY) {
          const n = input === undefined ? 0 : input.byteLength;
          call.requested += n;
          if (call.overflow || call.requested > call.budget) {
            call.overflow = true;
            return "";
          }
        }
        return super.decode(input, options);
      }
    }
    target.TextDecoder = BudgetedTextDecoder;
  }

  /**
   * Records the functions an instance exports: a module that imports a host
   * function from another core instance (wit-component's indirection "shim", whose
   * exports `"0"`, `"1"`, … call through a table) is given that instance's export,
   * and jco later hands the trampoline that fills the table slot to the "fixup"
   * module under the same key.
   */
  noteInstance(instance: WebAssembly.Instance): void {
    for (const [key, value] of Object.entries(instance.exports)) {
      if (typeof value === "function") this.exportKeys.set(value, key);
    }
  }

  private readonly exportKeys = new WeakMap<object, string>();
  /** Shim export keys by the host function the guest imports through them. */
  private readonly shimKeys = new Map<string, HostFunctionName>();

  /**
   * `imports` (for a module the direct lowering does not serve) with every jco
   * host trampoline wrapped, found three ways: a JS function imported as
   * `host.<name>` (the lowering itself), a function jco marked with `fnName`, and
   * a JS function given under the key of a shim export that a module imports as
   * `host.<name>` (the trampoline the fixup module puts in the shim's table).
   */
  wrapImports(imports: WebAssembly.Imports): WebAssembly.Imports {
    const host = imports[HOST_IMPORT_MODULE];
    if (host) {
      for (const [name, value] of Object.entries(host)) {
        const key = typeof value === "function" ? this.exportKeys.get(value) : undefined;
        if (key !== undefined && isHostFunctionName(name)) this.shimKeys.set(key, name);
      }
    }
    const out: WebAssembly.Imports = {};
    for (const [moduleName, values] of Object.entries(imports)) {
      const copy: WebAssembly.ModuleImports = {};
      let changed = false;
      for (const [name, value] of Object.entries(values)) {
        let fn: HostFunctionName | undefined;
        if (typeof value === "function" && !this.exportKeys.has(value)) {
          fn =
            TRAMPOLINE_MARKS[String((value as { fnName?: unknown }).fnName)] ??
            (moduleName === HOST_IMPORT_MODULE && isHostFunctionName(name) ? name : undefined) ??
            this.shimKeys.get(name);
        }
        if (fn) {
          copy[name] = this.wrap(fn, value as CoreFn);
          changed = true;
        } else copy[name] = value;
      }
      out[moduleName] = changed ? copy : values;
    }
    return out;
  }

  /**
   * Wraps one trampoline. Core signatures (wit-component): http-request (method
   * ptr/len, url ptr/len, headers ptr/len, body tag/ptr/len, retptr), read-file and
   * get-env (ptr, len, retptr), write-file (path ptr/len, content ptr/len, retptr),
   * log (level, ptr, len).
   */
  private wrap(fn: HostFunctionName, trampoline: CoreFn): CoreFn {
    this.wrapped++;
    return (...args: number[]): unknown => {
      const a = args.map((v) => v >>> 0);
      const call: GuardCall = {
        fn,
        refusal: undefined,
        logBytes: undefined,
        budget: Number.POSITIVE_INFINITY,
        requested: 0,
        fixedBytes: 0,
        overflow: false,
      };
      switch (fn) {
        case "http-request": {
          const hasBody = args[6] === 1;
          call.refusal =
            checkArgumentBytes("method", a[1] ?? 0) ??
            checkArgumentBytes("url", a[3] ?? 0) ??
            checkHeaderCount(a[5] ?? 0) ??
            (hasBody ? checkArgumentBytes("body", a[8] ?? 0) : undefined);
          if (call.refusal) {
            // Nothing is decoded: empty method, url, no headers, no body.
            args = [0, 0, 0, 0, 0, 0, 0, 0, 0, args[9] ?? 0];
          } else {
            call.fixedBytes = (a[1] ?? 0) + (a[3] ?? 0) + (hasBody ? (a[8] ?? 0) : 0);
            call.budget = call.fixedBytes + ARGUMENT_BYTE_LIMITS.headers;
          }
          break;
        }
        case "read-file":
        case "get-env":
          call.refusal = checkArgumentBytes(fn === "read-file" ? "path" : "name", a[1] ?? 0);
          if (call.refusal) args = [0, 0, args[2] ?? 0];
          break;
        case "write-file":
          call.refusal = checkArgumentBytes("path", a[1] ?? 0) ?? checkArgumentBytes("content", a[3] ?? 0);
          if (call.refusal) args = [0, 0, 0, 0, args[4] ?? 0];
          break;
        case "log":
          if ((a[2] ?? 0) > LOG_DECODE_BYTES) {
            call.logBytes = a[2];
            args = [args[0] ?? 0, args[1] ?? 0, LOG_DECODE_BYTES];
          }
          break;
      }
      const outer = this.call;
      this.call = call;
      try {
        return trampoline(...args);
      } finally {
        this.call = outer;
      }
    };
  }

  /** The guarded call in flight for `fn`; traps when there is none (see {@link UNGUARDED_TRAMPOLINE_MESSAGE}). */
  private current(fn: HostFunctionName): GuardCall {
    const call = this.call;
    if (call === undefined || call.fn !== fn) throw new Error(UNGUARDED_TRAMPOLINE_MESSAGE);
    return call;
  }

  /**
   * The host functions jco's (guarded) trampolines call: each one first applies
   * what its guard found, and checks the decoded strings again (cheap: a string
   * within its limit by its UTF-16 length is not measured).
   */
  hostFunctions(host: HostFunctions): HostFunctions {
    const refuse = (fn: HostFunctionName, refusal: ArgumentRefusal): { tag: "err"; val: string } => ({
      tag: "err",
      val: host.refuse(fn, refusal),
    });
    const decoded = (argument: "method" | "url" | "body" | "path" | "content" | "name", s: string | undefined): ArgumentRefusal | undefined => {
      if (s === undefined) return undefined;
      const n = bytesOver(s, ARGUMENT_BYTE_LIMITS[argument]);
      return n > 0 ? checkArgumentBytes(argument, n) : undefined;
    };
    return {
      httpRequest: (method, url, headers, body): HostResult<string> => {
        const call = this.current("http-request");
        if (call.refusal) return refuse("http-request", call.refusal);
        if (call.overflow) {
          const size = call.requested - call.fixedBytes;
          return refuse("http-request", { argument: "headers", size, limit: ARGUMENT_BYTE_LIMITS.headers, unit: "bytes" });
        }
        const again = decoded("method", method) ?? decoded("url", url) ?? checkHeaderCount(headers.length) ?? decoded("body", body);
        if (again) return refuse("http-request", again);
        return host.httpRequest(method, url, headers, body);
      },
      readFile: (path): HostResult<string> => {
        const call = this.current("read-file");
        const refusal = call.refusal ?? decoded("path", path);
        return refusal ? refuse("read-file", refusal) : host.readFile(path);
      },
      writeFile: (path, content): HostResult<void> => {
        const call = this.current("write-file");
        const refusal = call.refusal ?? decoded("path", path) ?? decoded("content", content);
        return refusal ? refuse("write-file", refusal) : host.writeFile(path, content);
      },
      getEnv: (name): string | undefined => {
        const call = this.current("get-env");
        const refusal = call.refusal ?? decoded("name", name);
        if (refusal) {
          host.refuse("get-env", refusal);
          return undefined;
        }
        return host.getEnv(name);
      },
      log: (level, message): void => {
        const call = this.current("log");
        if (call.logBytes !== undefined) return host.log(level, message, call.logBytes);
        // A UTF-16 unit is at least one byte: 4100 units hold every character T35 keeps and the next.
        if (message.length > LOG_DECODE_BYTES) return host.log(level, message.slice(0, LOG_DECODE_BYTES), Buffer.byteLength(message, "utf8"));
        host.log(level, message);
      },
      refuse: (fn, refusal) => host.refuse(fn, refusal),
    };
  }
}
