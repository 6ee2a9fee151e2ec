/**
 * The five `host` imports of the fixed WIT world (`wit/plugin.wit`), lowered to
 * core WebAssembly functions by hand: strings and lists are read from the guest's
 * memory, answers are written back through its `cabi_realloc`, exactly as the
 * component model's canonical ABI lays them out.
 *
 * Why not jco's trampolines: jco 1.35's generated glue runs its component-model
 * task bookkeeping (task creation, subtask lookup, global task metadata, generic
 * lift/lower wrappers) on every import call. That alone costs 3–5 µs per call,
 * as much as the whole round trip to the main thread. The world is fixed, so the
 * five lowerings are small and checked here once.
 *
 * Every pointer and length comes from the guest and is treated as hostile: an
 * access outside the guest's memory or a misaligned pointer throws (the guest
 * call traps), never reads or writes anything but the guest's own memory.
 */

import {
  type ArgumentRefusal,
  checkArgumentBytes,
  checkHeaderCount,
  LOG_DECODE_BYTES,
  MAX_LIFTED_HEADERS,
} from "./argument-limits.js";

/** A `result<T, string>` as the import implementations return it (jco's shape). */
export type HostResult<T> = { tag: "ok"; val: T } | { tag: "err"; val: string };

/** What the direct lowering calls: the same functions the jco glue would call. */
export interface HostFunctions {
  httpRequest(method: string, url: string, headers: Array<[string, string]>, body: string | undefined): HostResult<string>;
  readFile(path: string): HostResult<string>;
  writeFile(path: string, content: string): HostResult<void>;
  getEnv(name: string): string | undefined;
  /**
   * `message` is at most `LOG_DECODE_BYTES` of the guest's bytes; `originalBytes`
   * is the guest's length when it was cut.
   */
  log(level: number, message: string, originalBytes?: number): void;
  /**
   * An argument over its limit, refused from its length alone (nothing decoded):
   * returns the err text for the guest (ignored for get-env, which answers none).
   */
  refuse(fn: HostFunctionName, refusal: ArgumentRefusal): string;
}

/** Host function names of the world, as core imports name them. */
export type HostFunctionName = "http-request" | "read-file" | "write-file" | "get-env" | "log";

/** The core import module name of the world's `host` interface. */
export const HOST_IMPORT_MODULE = "host";

/**
 * The world's host functions by core import name. Their flattened core
 * signatures: http-request (method ptr/len, url ptr/len, headers ptr/len, body
 * discriminant/ptr/len, return pointer), read-file (path ptr/len, return
 * pointer), write-file (path ptr/len, content ptr/len, return pointer), get-env
 * (name ptr/len, return pointer), log (level, message ptr/len).
 */
const HOST_FUNCTION_NAMES: ReadonlySet<string> = new Set(["http-request", "read-file", "write-file", "get-env", "log"]);

export { MAX_LIFTED_HEADERS };

/** Thrown when the guest hands the host a bad pointer, length or variant: the guest call traps. */
export class GuestAbiError extends Error {
  constructor(fn: string, what: string) {
    super(`host call ${fn}: ${what}`);
    this.name = "GuestAbiError";
  }
}

type Realloc = (oldPtr: number, oldLen: number, align: number, newLen: number) => number;

/**
 * Where a module's strings live for the direct lowering: its own exported
 * `memory`, or else its single imported memory (componentize-qjs puts the host
 * imports in a small bindings module that imports the main module's memory).
 * Undefined when the module does not call the host, imports a host function the
 * world does not have, or lacks an exported `cabi_realloc`: jco's trampolines
 * then serve it.
 */
function directLoweringShape(module: WebAssembly.Module): { memoryImport: WebAssembly.ModuleImportDescriptor | undefined } | undefined {
  const exports = WebAssembly.Module.exports(module);
  if (!exports.some((e) => e.name === "cabi_realloc" && e.kind === "function")) return undefined;
  const exportsMemory = exports.some((e) => e.name === "memory" && e.kind === "memory");
  let importsHost = false;
  const memoryImports: WebAssembly.ModuleImportDescriptor[] = [];
  for (const i of WebAssembly.Module.imports(module)) {
    if (i.kind === "memory") memoryImports.push(i);
    if (i.module !== HOST_IMPORT_MODULE) continue;
    if (i.kind !== "function" || !HOST_FUNCTION_NAMES.has(i.name)) return undefined;
    importsHost = true;
  }
  if (!importsHost) return undefined;
  if (exportsMemory) return { memoryImport: undefined };
  if (memoryImports.length === 1) return { memoryImport: memoryImports[0] };
  return undefined;
}

/** True when {@link lowerHostImports} can serve `module`'s host imports itself. */
export function canLowerDirectly(module: WebAssembly.Module): boolean {
  return directLoweringShape(module) !== undefined;
}

/**
 * One guest instance's view of its memory: refreshed whenever the memory grew
 * (a grow detaches the old ArrayBuffer), so a stale view is never used.
 */
class GuestMemory {
  private memory: WebAssembly.Memory | undefined;
  private realloc: Realloc | undefined;
  private buffer: ArrayBuffer | undefined;
  private bytes: Buffer = Buffer.alloc(0);
  private view: DataView = new DataView(new ArrayBuffer(0));

  attach(memory: WebAssembly.Memory, realloc: Realloc): void {
    this.memory = memory;
    this.realloc = realloc;
  }

  private refresh(fn: string): void {
    const memory = this.memory;
    if (!memory) throw new GuestAbiError(fn, "called before the guest finished instantiating");
    if (memory.buffer !== this.buffer) {
      this.buffer = memory.buffer;
      this.bytes = Buffer.from(this.buffer);
      this.view = new DataView(this.buffer);
    }
  }

  /** Reads a UTF-8 string (invalid sequences become U+FFFD, as jco's decoder does). */
  string(fn: string, ptr: number, len: number): string {
    this.refresh(fn);
    const start = ptr >>> 0;
    const end = start + (len >>> 0);
    if (end > this.bytes.length) throw new GuestAbiError(fn, "string outside the guest's memory");
    return start === end ? "" : this.bytes.toString("utf8", start, end);
  }

  /** Checks that `len` bytes at `ptr` lie inside the memory, without reading them. */
  range(fn: string, ptr: number, len: number): void {
    this.refresh(fn);
    if ((ptr >>> 0) + (len >>> 0) > this.bytes.length) throw new GuestAbiError(fn, "string outside the guest's memory");
  }

  u32(fn: string, ptr: number): number {
    this.refresh(fn);
    const p = ptr >>> 0;
    if (p + 4 > this.bytes.length) throw new GuestAbiError(fn, "pointer outside the guest's memory");
    return this.view.getUint32(p, true);
  }

  /** Checks that a return area of `size` bytes at `ptr` is aligned and inside the memory. */
  returnArea(fn: string, ptr: number, size: number): number {
    this.refresh(fn);
    const p = ptr >>> 0;
    if (p % 4 !== 0) throw new GuestAbiError(fn, "return pointer is not aligned to 4");
    if (p + size > this.bytes.length) throw new GuestAbiError(fn, "return pointer outside the guest's memory");
    return p;
  }

  /** Copies `s` into memory the guest allocates with its `cabi_realloc`; returns [ptr, len]. */
  allocString(fn: string, s: string): [number, number] {
    if (s.length === 0) return [1, 0];
    const len = Buffer.byteLength(s, "utf8");
    const realloc = this.realloc;
    if (!realloc) throw new GuestAbiError(fn, "called before the guest finished instantiating");
    // The guest's allocator is guest code (metered); it may grow the memory.
    const ptr = realloc(0, 0, 1, len) >>> 0;
    this.refresh(fn);
    if (ptr + len > this.bytes.length) throw new GuestAbiError(fn, "cabi_realloc returned memory outside the guest's memory");
    this.bytes.write(s, ptr, len, "utf8");
    return [ptr, len];
  }

  /**
   * Writes a `result<string, string>` / `option<string>` (tag byte, then ptr and
   * len at +4 and +8). The string is copied first: the allocator may grow the
   * memory, and the return area is re-checked after it.
   */
  writeTaggedString(fn: string, retptr: number, tag: number, s: string | undefined): void {
    let ptr = 0;
    let len = 0;
    if (s !== undefined) [ptr, len] = this.allocString(fn, s);
    const p = this.returnArea(fn, retptr, 12);
    this.view.setUint8(p, tag);
    if (s !== undefined) {
      this.view.setUint32(p + 4, ptr, true);
      this.view.setUint32(p + 8, len, true);
    }
  }
}

/**
 * Returns `imports` with the `host` functions jco would have supplied replaced by
 * direct lowerings that call `fns`, and an `attach` to call with the instance right
 * after instantiation (an import called before that traps with a clear message).
 * Undefined when `module` cannot be served directly (see {@link canLowerDirectly}):
 * keep jco's imports then.
 *
 * Only functions in `declared` (the component's own `host` import) are replaced;
 * any other `host` entry keeps what jco wired (the component's own function). Stops:
 * a component that imports nothing, or only `log`, whose core module imports
 * `host`/`get-env` wired to a stub of its own — binding by core import name alone
 * would hand it the real function.
 */
export function lowerHostImports(
  module: WebAssembly.Module,
  imports: WebAssembly.Imports,
  fns: HostFunctions,
  declared: ReadonlySet<string>,
): { imports: WebAssembly.Imports; attach(instance: WebAssembly.Instance): void } | undefined {
  const shape = directLoweringShape(module);
  const jcoHost = imports[HOST_IMPORT_MODULE];
  if (!shape || !jcoHost) return undefined;
  const lowered = directHostFunctions(fns);
  const host: WebAssembly.ModuleImports = {};
  for (const name of Object.keys(jcoHost)) {
    const f = declared.has(name) ? lowered.functions[name] : undefined;
    host[name] = f ?? (jcoHost[name] as WebAssembly.ImportValue);
  }
  let imported: WebAssembly.Memory | undefined;
  if (shape.memoryImport) {
    const value = imports[shape.memoryImport.module]?.[shape.memoryImport.name];
    if (!(value instanceof WebAssembly.Memory)) return undefined;
    imported = value;
  }
  return {
    imports: { ...imports, [HOST_IMPORT_MODULE]: host },
    attach(instance) {
      const memory = imported ?? instance.exports.memory;
      const realloc = instance.exports.cabi_realloc;
      if (!(memory instanceof WebAssembly.Memory) || typeof realloc !== "function") {
        throw new Error("internal: the instance lacks the memory or cabi_realloc the direct host lowering needs");
      }
      lowered.memory.attach(memory, realloc as Realloc);
    },
  };
}

/** The five lowered functions over one guest memory (attached after instantiation). */
function directHostFunctions(fns: HostFunctions): {
  functions: Record<string, (...args: number[]) => void>;
  memory: GuestMemory;
} {
  const mem = new GuestMemory();
  const functions: Record<string, (...args: number[]) => void> = {
    "http-request"(mPtr, mLen, uPtr, uLen, hPtr, hLen, bodyTag, bPtr, bLen, retptr) {
      const fn = "http-request";
      // A bad return pointer is found before the host acts (no request for a call that traps).
      mem.returnArea(fn, retptr as number, 12);
      const base = (hPtr as number) >>> 0;
      const count = (hLen as number) >>> 0;
      if (bodyTag !== 0 && bodyTag !== 1) throw new GuestAbiError(fn, "invalid option discriminant for the body");
      /**
       * Every length is checked before any string is decoded (T49): a 30 MiB URL or a
       * list of thousands of entries pointing at one large string is refused from its
       * size alone, so neither the worker nor the main thread builds it.
       */
      const refusal =
        checkArgumentBytes("method", (mLen as number) >>> 0) ??
        checkArgumentBytes("url", (uLen as number) >>> 0) ??
        checkHeaderCount(count) ??
        (bodyTag === 1 ? checkArgumentBytes("body", (bLen as number) >>> 0) : undefined);
      if (refusal) return refuse(fn, retptr as number, refusal);
      if (base % 4 !== 0) throw new GuestAbiError(fn, "header list is not aligned to 4");
      let total = 0;
      for (let i = 0; i < count; i++) total += mem.u32(fn, base + i * 16 + 4) + mem.u32(fn, base + i * 16 + 12);
      const headersRefusal = checkArgumentBytes("headers", total);
      if (headersRefusal) return refuse(fn, retptr as number, headersRefusal);
      const method = mem.string(fn, mPtr as number, mLen as number);
      const url = mem.string(fn, uPtr as number, uLen as number);
      const headers: Array<[string, string]> = [];
      for (let i = 0; i < count; i++) {
        const at = base + i * 16;
        headers.push([mem.string(fn, mem.u32(fn, at), mem.u32(fn, at + 4)), mem.string(fn, mem.u32(fn, at + 8), mem.u32(fn, at + 12))]);
      }
      let body: string | undefined;
      if (bodyTag === 1) body = mem.string(fn, bPtr as number, bLen as number);
      const r = fns.httpRequest(method, url, headers, body);
      mem.writeTaggedString(fn, retptr as number, r.tag === "ok" ? 0 : 1, r.val);
    },
    "read-file"(pPtr, pLen, retptr) {
      const fn = "read-file";
      mem.returnArea(fn, retptr as number, 12);
      const refusal = checkArgumentBytes("path", (pLen as number) >>> 0);
      if (refusal) return refuse(fn, retptr as number, refusal);
      const r = fns.readFile(mem.string(fn, pPtr as number, pLen as number));
      mem.writeTaggedString(fn, retptr as number, r.tag === "ok" ? 0 : 1, r.val);
    },
    "write-file"(pPtr, pLen, cPtr, cLen, retptr) {
      const fn = "write-file";
      mem.returnArea(fn, retptr as number, 12);
      const refusal = checkArgumentBytes("path", (pLen as number) >>> 0) ?? checkArgumentBytes("content", (cLen as number) >>> 0);
      if (refusal) return refuse(fn, retptr as number, refusal);
      const r = fns.writeFile(mem.string(fn, pPtr as number, pLen as number), mem.string(fn, cPtr as number, cLen as number));
      mem.writeTaggedString(fn, retptr as number, r.tag === "ok" ? 0 : 1, r.tag === "ok" ? undefined : r.val);
    },
    "get-env"(nPtr, nLen, retptr) {
      const fn = "get-env";
      mem.returnArea(fn, retptr as number, 12);
      const refusal = checkArgumentBytes("name", (nLen as number) >>> 0);
      if (refusal) {
        fns.refuse(fn, refusal);
        mem.writeTaggedString(fn, retptr as number, 0, undefined);
        return;
      }
      const value = fns.getEnv(mem.string(fn, nPtr as number, nLen as number));
      mem.writeTaggedString(fn, retptr as number, value === undefined ? 0 : 1, value);
    },
    log(level, mPtr, mLen) {
      const len = (mLen as number) >>> 0;
      // The whole message must lie in the guest's memory; only its first
      // LOG_DECODE_BYTES are decoded (T35 keeps 4096 bytes of it at most).
      mem.range("log", mPtr as number, len);
      // A u8 is lifted from the low 8 bits of its i32.
      if (len > LOG_DECODE_BYTES) fns.log((level as number) & 0xff, mem.string("log", mPtr as number, LOG_DECODE_BYTES), len);
      else fns.log((level as number) & 0xff, mem.string("log", mPtr as number, len));
    },
  };
  /** Answers `err` with the host's refusal text (result<_, string> and result<string, string> alike). */
  function refuse(fn: HostFunctionName, retptr: number, refusal: ArgumentRefusal): void {
    mem.writeTaggedString(fn, retptr, 1, fns.refuse(fn, refusal));
  }
  return { functions, memory: mem };
}
