import { buildFixture } from "@clawft/wasm-fixtures";
import { beforeAll, describe, expect, it } from "vitest";
import type { ArgumentRefusal } from "./argument-limits.js";
import { canLowerDirectly, HOST_IMPORT_MODULE, type HostFunctionName, type HostFunctions } from "./host-lowering.js";
import { JcoGuard, UNGUARDED_TRAMPOLINE_MESSAGE } from "./jco-guard.js";
import { transpileComponent } from "./transpile.js";

type Exports = { plugin: { executeTool(tool: string, params: string): string; init(): void } };
type Instantiate = (
  getCoreModule: (name: string) => Promise<WebAssembly.Module>,
  imports: unknown,
  instantiateCore: (m: WebAssembly.Module, i?: WebAssembly.Imports) => WebAssembly.Instance,
) => Promise<Exports>;

const MiB = 1024 * 1024;

interface Recorder {
  calls: Array<[string, ...unknown[]]>;
  host: HostFunctions;
}

function recorder(): Recorder {
  const calls: Array<[string, ...unknown[]]> = [];
  return {
    calls,
    host: {
      httpRequest: (...a) => (calls.push(["httpRequest", ...a]), { tag: "ok", val: "response" }),
      readFile: (...a) => (calls.push(["readFile", ...a]), { tag: "ok", val: "contents" }),
      writeFile: (...a) => (calls.push(["writeFile", ...a]), { tag: "ok", val: undefined }),
      getEnv: (...a) => (calls.push(["getEnv", ...a]), "v"),
      log: (...a) => void calls.push(["log", ...a]),
      refuse: (fn: HostFunctionName, r: ArgumentRefusal) => (calls.push(["refuse", fn, r]), `argument too large: ${r.argument}`),
    },
  };
}

/** The hostile-args-jco component, instantiated in this thread through jco's glue with a guard (as the worker does). */
async function instantiateGuarded(rec: Recorder): Promise<{ guard: JcoGuard; plugin: Exports["plugin"]; fallbackModules: number }> {
  const wasm = await buildFixture("hostile-args-jco");
  const out = await transpileComponent(wasm);
  const files = out.files as Record<string, Uint8Array>;
  const glueText = Buffer.from(files["plugin.js"] as Uint8Array).toString("utf8");
  const glue = (await import(`data:text/javascript;base64,${Buffer.from(glueText).toString("base64")}`)) as { instantiate: Instantiate };
  const guard = new JcoGuard();
  const target = { TextDecoder: globalThis.TextDecoder };
  guard.installDecoder(target);
  const saved = globalThis.TextDecoder;
  // The glue makes its decoder when instantiate runs: give it the guarded one, then restore.
  globalThis.TextDecoder = target.TextDecoder;
  let fallbackModules = 0;
  try {
    const exports = await glue.instantiate(
      (name) => WebAssembly.compile(files[name] as Uint8Array<ArrayBuffer>),
      { host: guard.hostFunctions(rec.host) },
      (module, imports = {}) => {
        if (WebAssembly.Module.imports(module).some((i) => i.module === HOST_IMPORT_MODULE) && !canLowerDirectly(module)) fallbackModules++;
        const instance = new WebAssembly.Instance(module, guard.wrapImports(imports));
        guard.noteInstance(instance);
        return instance;
      },
    );
    exports.plugin.init();
    return { guard, plugin: exports.plugin, fallbackModules };
  } finally {
    globalThis.TextDecoder = saved;
  }
}

function errOf(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return (e as { payload?: unknown }).payload ?? e;
  }
  throw new Error("expected an err");
}

describe("JcoGuard over jco's trampolines (the fallback path)", () => {
  let rec: Recorder;
  let plugin: Exports["plugin"];
  let guard: JcoGuard;
  let fallbackModules = 0;
  beforeAll(async () => {
    rec = recorder();
    ({ guard, plugin, fallbackModules } = await instantiateGuarded(rec));
  });

  it("T61 the fixture really goes through jco: its host-calling module cannot be lowered directly; all five trampolines are wrapped", () => {
    expect(fallbackModules).toBe(1);
    expect(guard.wrapped).toBe(5);
  });

  it("T61 arguments over their limits are refused from the core lengths before jco decodes them: the host function is never reached", () => {
    rec.calls.length = 0;
    expect(errOf(() => plugin.executeTool("call", JSON.stringify([3, 30 * MiB, 256])))).toBe("argument too large: path");
    expect(errOf(() => plugin.executeTool("call", JSON.stringify([0, 17, 71])))).toBe("argument too large: method");
    expect(errOf(() => plugin.executeTool("call", JSON.stringify([2, 2000, 1])))).toBe("argument too large: headers");
    // 600 entries naming one 2 KiB string: the lengths live in guest memory, read by jco; the decoder budget stops it.
    expect(errOf(() => plugin.executeTool("call", JSON.stringify([2, 600, 2048])))).toBe("argument too large: headers");
    expect(errOf(() => plugin.executeTool("call", JSON.stringify([5, 5 * MiB, 256])))).toBe("argument too large: content");
    expect(plugin.executeTool("call", JSON.stringify([6, 5000, 65]))).toBe("none");
    expect(rec.calls).toEqual([
      ["refuse", "read-file", { argument: "path", size: 30 * MiB, limit: 4096, unit: "bytes" }],
      ["refuse", "http-request", { argument: "method", size: 17, limit: 16, unit: "bytes" }],
      ["refuse", "http-request", { argument: "headers", size: 2000, limit: 1024, unit: "entries" }],
      ["refuse", "http-request", { argument: "headers", size: 1_228_800, limit: MiB, unit: "bytes" }],
      ["refuse", "write-file", { argument: "content", size: 5 * MiB, limit: 4 * MiB, unit: "bytes" }],
      ["refuse", "get-env", { argument: "name", size: 5000, limit: 1024, unit: "bytes" }],
    ]);
  });

  it("T61 arguments within their limits pass through unchanged; a long log is cut to 4100 bytes with its length", () => {
    rec.calls.length = 0;
    expect(plugin.executeTool("call", JSON.stringify([3, 4096, 97]))).toBe("contents");
    expect(plugin.executeTool("call", JSON.stringify([2, 100, 600]))).toBe("response");
    expect(plugin.executeTool("call", JSON.stringify([7, 50_000, 255]))).toBe("ok");
    expect(rec.calls.map((c) => c[0])).toEqual(["readFile", "httpRequest", "log"]);
    expect((rec.calls[0]?.[1] as string).length).toBe(4096);
    expect((rec.calls[1]?.[3] as unknown[]).length).toBe(100);
    expect(rec.calls[2]?.slice(1)).toEqual([2, "\ufffd".repeat(4100), 50_000]);
    // The decoder budget only applies inside a guarded call: plain decoding is untouched.
    expect(new globalThis.TextDecoder().decode(new Uint8Array(3 * MiB)).length).toBe(3 * MiB);
  });

  it("T61 a host function reached without a guard (an unmarked jco trampoline) traps instead of serving unbounded input", () => {
    const unguarded = new JcoGuard().hostFunctions(recorder().host);
    expect(() => unguarded.readFile("/x")).toThrow(UNGUARDED_TRAMPOLINE_MESSAGE);
    expect(() => unguarded.log(2, "x")).toThrow(UNGUARDED_TRAMPOLINE_MESSAGE);
  });
});
