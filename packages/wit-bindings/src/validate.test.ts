import { subscribe, unsubscribe } from "node:diagnostics_channel";
import {
  buildFixture,
  buildFixtureCoreModule,
  buildJsExamplePlugin,
  componentFromWat,
  fixtureNames,
  type FixtureName,
} from "@clawft/wasm-fixtures";
import { beforeAll, describe, expect, it } from "vitest";
import { assertPluginComponent, validatePluginComponent, witSource, WitOptionsError, WitValidationError, type WitErrorCode } from "./index.js";
import { ClawftError } from "@clawft/sandbox-policy";

const bytes = new Map<FixtureName, Uint8Array>();
let jsPlugin: Uint8Array;

beforeAll(async () => {
  for (const name of fixtureNames) bytes.set(name, await buildFixture(name));
  jsPlugin = await buildJsExamplePlugin();
}, 120_000);

const GOOD = [
  "tool-basic",
  "host-calls",
  "infinite-loop",
  "memory-hog",
  "memory-grow-handled",
  "deep-recursion",
  "trap",
  "stateful",
  "table-hog",
  "fuel-burner",
  "slow-host-call",
  "empty-tool",
  "oversized",
  "hostile-results",
  "init-error-huge",
  "memory-multiplier",
  "hostile-args",
  "hostile-args-jco",
] as const satisfies readonly FixtureName[];

const BAD: Record<Exclude<FixtureName, (typeof GOOD)[number]>, { code: WitErrorCode; item?: string; message: string }> = {
  "nested-types": {
    code: "WIT_TOO_COMPLEX",
    message: "component too complex: expanded type size 8191 exceeds 4096 (maxTypeSize)",
  },
  "extra-export": {
    code: "WIT_UNKNOWN_EXPORT",
    item: "admin",
    message:
      "unknown export: admin is an interface (a clawft plugin exports only the plugin interface of clawft:plugin@0.1.0 and componentize-qjs's init: func(shim: string, script: string, entry-path: option<string>, disable-gc: bool) -> result<_, string>)",
  },
  "wasi-import": {
    code: "WIT_FORBIDDEN_IMPORT",
    item: "wasi:cli/environment@0.2.3",
    message: "forbidden import: wasi:cli/environment@0.2.3 (a WASI interface; clawft plugins get only host)",
  },
  "wrong-export-type": {
    code: "WIT_WRONG_EXPORT_TYPE",
    item: "plugin.execute-tool",
    message:
      "wrong export type: plugin.execute-tool is func(tool-name: string) -> string, expected func(tool-name: string, params-json: string) -> result<string, string>",
  },
  "missing-export": {
    code: "WIT_MISSING_EXPORT",
    item: "plugin.describe",
    message: "missing export: plugin.describe: func() -> string",
  },
  "extra-import": {
    code: "WIT_FORBIDDEN_IMPORT",
    item: "shell",
    message: "forbidden import: shell (only the host interface of clawft:plugin@0.1.0 may be imported)",
  },
  "wrong-import-type": {
    code: "WIT_FORBIDDEN_IMPORT",
    item: "host.get-env",
    message: "forbidden import: host.get-env is func(name: string) -> result<string, string>, expected func(name: string) -> option<string>",
  },
};

describe("validatePluginComponent on every fixture", () => {
  it("covers every fixture exactly once", () => {
    expect([...GOOD, ...Object.keys(BAD)].sort()).toEqual([...fixtureNames].sort());
  });

  for (const name of GOOD) {
    it(`${name} fits the world`, async () => {
      const verdict = await validatePluginComponent(bytes.get(name)!);
      expect(verdict.errors).toEqual([]);
      expect(verdict.ok).toBe(true);
      expect(verdict.imports.map((i) => i.name)).toEqual(["host"]);
      expect(verdict.exports.map((e) => e.name)).toEqual(["plugin"]);
      expect(verdict.extraExports).toEqual([]);
      expect(verdict.wasiImports).toEqual([]);
    });
  }

  for (const [name, expected] of Object.entries(BAD) as Array<[FixtureName, (typeof BAD)[keyof typeof BAD]]>) {
    const id = expected.code === "WIT_TOO_COMPLEX" ? "T58 " : expected.code === "WIT_UNKNOWN_EXPORT" ? "T59 " : "";
    it(`${id}${name} is refused with ${expected.code}, naming ${expected.item ?? "the limit"}`, async () => {
      const verdict = await validatePluginComponent(bytes.get(name)!);
      expect(verdict.ok).toBe(false);
      expect(verdict.errors).toEqual([expected]);
      await expect(assertPluginComponent(bytes.get(name)!)).rejects.toMatchObject({
        code: expected.code,
        message: expected.message,
      });
    });
  }

  it("wasi-import: the wasi import is listed, and allowed (only listed) with allowWasiImports", async () => {
    const wasi = bytes.get("wasi-import")!;
    const refused = await validatePluginComponent(wasi);
    expect(refused.wasiImports).toEqual(["wasi:cli/environment@0.2.3"]);
    const allowed = await validatePluginComponent(wasi, { allowWasiImports: true });
    expect(allowed.ok).toBe(true);
    expect(allowed.errors).toEqual([]);
    expect(allowed.wasiImports).toEqual(["wasi:cli/environment@0.2.3"]);
  });
});

describe("a subset of host", () => {
  // wit-component drops the host functions a core module does not import
  const module = (imports: string) => `(module
    ${imports}
    (memory 1)
    (func $realloc (param i32 i32 i32 i32) (result i32) (i32.const 1024))
    (func $init (result i32) (i32.const 0))
    (func $run (param i32 i32 i32 i32) (result i32) (i32.const 0))
    (func $describe (result i32) (i32.const 0))
    (export "memory" (memory 0))
    (export "cabi_realloc" (func $realloc))
    (export "plugin#init" (func $init))
    (export "plugin#execute-tool" (func $run))
    (export "plugin#describe" (func $describe)))`;

  it("a plugin importing only host.log fits the world", async () => {
    const component = await componentFromWat(module(`(import "host" "log" (func (param i32 i32 i32)))`), witSource, "plugin");
    const verdict = await validatePluginComponent(component);
    expect(verdict.ok).toBe(true);
    expect(verdict.imports[0]!.functions!.map((f) => f.name)).toEqual(["log"]);
  });

  it("a plugin importing nothing fits the world", async () => {
    const verdict = await validatePluginComponent(await componentFromWat(module(""), witSource, "plugin"));
    expect(verdict.ok).toBe(true);
    expect(verdict.imports).toEqual([]);
  });
});

describe("world-level functions", () => {
  it("an imported function (not an interface) is forbidden; a plugin exported as a function is the wrong type", async () => {
    const wit = `package evil:plugin;
      world plugin {
        import run-shell: func(command: string);
        export plugin: func() -> string;
      }`;
    const component = await componentFromWat(
      `(module
        (import "$root" "run-shell" (func (param i32 i32)))
        (memory 1)
        (func $realloc (param i32 i32 i32 i32) (result i32) (i32.const 1024))
        (func $plugin (result i32) (i32.const 0))
        (export "memory" (memory 0))
        (export "cabi_realloc" (func $realloc))
        (export "plugin" (func $plugin)))`,
      wit,
      "plugin",
    );
    const verdict = await validatePluginComponent(component);
    expect(verdict.errors).toEqual([
      {
        code: "WIT_WRONG_EXPORT_TYPE",
        message: "wrong export type: plugin must be the inline interface of the world, found a function",
        item: "plugin",
      },
      {
        code: "WIT_FORBIDDEN_IMPORT",
        message: "forbidden import: run-shell (only the host interface of clawft:plugin@0.1.0 may be imported)",
        item: "run-shell",
      },
    ]);
    expect(verdict.imports[0]).toMatchObject({ name: "run-shell", kind: "function" });
  });
});

describe("extra functions in the plugin interface", () => {
  it("T59 are refused (WIT_UNKNOWN_EXPORT) and listed as plugin.<name>", async () => {
    const wit = witSource.replace("describe: func() -> string;", "describe: func() -> string;\n    version: func() -> u32;");
    expect(wit).toContain("version: func() -> u32;");
    const component = await componentFromWat(
      `(module
        (memory 1)
        (func $realloc (param i32 i32 i32 i32) (result i32) (i32.const 1024))
        (func $init (result i32) (i32.const 0))
        (func $run (param i32 i32 i32 i32) (result i32) (i32.const 0))
        (func $describe (result i32) (i32.const 0))
        (func $version (result i32) (i32.const 1))
        (export "memory" (memory 0))
        (export "cabi_realloc" (func $realloc))
        (export "plugin#init" (func $init))
        (export "plugin#execute-tool" (func $run))
        (export "plugin#describe" (func $describe))
        (export "plugin#version" (func $version)))`,
      wit,
      "plugin",
    );
    const verdict = await validatePluginComponent(component);
    expect(verdict.ok).toBe(false);
    expect(verdict.errors).toEqual([
      { code: "WIT_UNKNOWN_EXPORT", item: "plugin.version", message: "unknown export: plugin.version is not a function of the plugin interface" },
    ]);
    expect(verdict.extraExports).toEqual(["plugin.version"]);
  });
});

describe("core host imports must come from the component's own host import", () => {
  /** A component whose main module imports `host` functions wired to a stub of its own; `declare` lists what its own host import declares. */
  const unwired = async (declare: string[]): Promise<Uint8Array> => {
    const { parse } = await import("@bytecodealliance/jco");
    const hostType = declare.includes("log") ? `(type $host (instance (export "log" (func (param "level" u8) (param "message" string)))))
      (import "host" (instance $host (type $host)))` : "";
    return parse(`(component ${hostType}
      (core module $stub (func (export "log") (param i32 i32 i32)) (func (export "get-env") (param i32 i32 i32)))
      (core instance $stub (instantiate $stub))
      (core module $main
        (import "host" "log" (func (param i32 i32 i32)))
        (import "host" "get-env" (func (param i32 i32 i32)))
        (memory (export "memory") 1)
        (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 64))
        (func (export "init") (result i32) (i32.const 0))
        (func (export "run") (param i32 i32 i32 i32) (result i32) (i32.const 0))
        (func (export "describe") (result i32) (i32.const 0)))
      (core instance $main (instantiate $main (with "host" (instance $stub))))
      (alias core export $main "memory" (core memory $mem))
      (alias core export $main "realloc" (core func $realloc))
      (type $unit (result (error string)))
      (type $text (result string (error string)))
      (func $init (result $unit) (canon lift (core func $main "init") (memory $mem)))
      (func $run (param "tool-name" string) (param "params-json" string) (result $text) (canon lift (core func $main "run") (memory $mem) (realloc $realloc)))
      (func $describe (result string) (canon lift (core func $main "describe") (memory $mem)))
      (instance $plugin (export "init" (func $init)) (export "execute-tool" (func $run)) (export "describe" (func $describe)))
      (export "plugin" (instance $plugin)))`);
  };

  it("T60 a component that imports nothing but whose core module imports host/log and host/get-env is WIT_UNWIRED_HOST_IMPORT", async () => {
    const verdict = await validatePluginComponent(await unwired([]));
    expect(verdict.imports).toEqual([]);
    expect(verdict.hostFunctions).toEqual([]);
    expect(verdict.errors).toEqual([
      {
        code: "WIT_UNWIRED_HOST_IMPORT",
        item: "host/get-env",
        message: "host import not wired: core imports host/get-env, host/log are not lowered from the component's host import (it declares none)",
      },
    ]);
  });

  it("T60 a component that declares only host.log but whose core module also imports host/get-env is refused, naming get-env", async () => {
    const verdict = await validatePluginComponent(await unwired(["log"]));
    expect(verdict.hostFunctions).toEqual(["log"]);
    expect(verdict.errors.map((e) => e.message)).toEqual([
      "host import not wired: core imports host/get-env are not lowered from the component's host import (it declares host.log)",
    ]);
  });

  it("every WAT fixture's and the JS example's core host imports are declared (hostFunctions)", async () => {
    expect((await validatePluginComponent(bytes.get("host-calls")!)).hostFunctions).toEqual(["http-request", "read-file", "write-file", "get-env", "log"]);
    expect((await validatePluginComponent(jsPlugin)).hostFunctions).toEqual(["http-request", "read-file", "write-file", "get-env", "log"]);
  });
});

describe("the componentize-qjs example plugin", () => {
  it("T59 fits the world; its extra top-level init export (componentize-qjs's exact type) is allowed and listed", async () => {
    const verdict = await validatePluginComponent(jsPlugin);
    expect(verdict.errors).toEqual([]);
    expect(verdict.ok).toBe(true);
    expect(verdict.extraExports).toEqual(["init"]);
    expect(verdict.imports.map((i) => i.name)).toEqual(["host"]);
    expect(verdict.wasiImports).toEqual([]);
  });
});

describe("the componentize-qjs plugin built without --stub-wasi", () => {
  it("lists its 18 real WASI imports and refuses each (WIT_FORBIDDEN_IMPORT) unless allowed", async () => {
    const withWasi = await buildJsExamplePlugin({ stubWasi: false });
    const verdict = await validatePluginComponent(withWasi);
    expect(verdict.ok).toBe(false);
    expect(verdict.wasiImports).toHaveLength(18);
    expect(verdict.wasiImports).toContain("wasi:filesystem/preopens@0.2.12");
    expect(verdict.errors.map((e) => e.item)).toEqual(verdict.wasiImports);
    expect(new Set(verdict.errors.map((e) => e.code))).toEqual(new Set(["WIT_FORBIDDEN_IMPORT"]));
    const allowed = await validatePluginComponent(withWasi, { allowWasiImports: true });
    expect(allowed.ok).toBe(true);
    expect(allowed.extraExports).toEqual(["init"]);
    const error = (await assertPluginComponent(withWasi).catch((e: unknown) => e)) as WitValidationError;
    expect(error.code).toBe("WIT_FORBIDDEN_IMPORT");
    expect(error.issues).toHaveLength(18);
    expect(error.message).toMatch(/^forbidden import: wasi:cli\/environment@0\.2\.12 .*\(and 17 more: wasi:cli\/exit@0\.2\.12, /);
  }, 120_000);
});

describe("not a component", () => {
  const cases: Array<[string, () => Promise<Uint8Array> | Uint8Array, WitErrorCode, string]> = [
    ["empty input", () => new Uint8Array(0), "WIT_NOT_A_COMPONENT", "not a WebAssembly component: empty input"],
    ["garbage", () => new TextEncoder().encode("#!/bin/sh\necho pwned\n"), "WIT_NOT_A_COMPONENT", "not a WebAssembly component: no component preamble"],
    ["a core module", () => buildFixtureCoreModule("tool-basic"), "WIT_NOT_A_COMPONENT", "not a WebAssembly component: this is a core WebAssembly module"],
    ["a truncated component", () => bytes.get("tool-basic")!.subarray(0, 100), "WIT_INVALID_COMPONENT", "invalid component: length past the end of its section"],
  ];
  for (const [label, make, code, start] of cases) {
    it(`${label} → ${code}`, async () => {
      const input = await make();
      const verdict = await validatePluginComponent(input);
      expect(verdict.ok).toBe(false);
      expect(verdict.errors).toHaveLength(1);
      expect(verdict.errors[0]!.code).toBe(code);
      expect(verdict.errors[0]!.message.startsWith(start)).toBe(true);
      expect(verdict.imports).toEqual([]);
      const error: unknown = await assertPluginComponent(input).catch((e: unknown) => e);
      expect(WitValidationError.isInstance(error)).toBe(true);
      expect(ClawftError.isInstance(error)).toBe(true);
      expect((error as WitValidationError).code).toBe(code);
    });
  }

  it("an empty component (preamble only) is a component without the plugin export", async () => {
    const verdict = await validatePluginComponent(new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]));
    expect(verdict.errors).toEqual([
      { code: "WIT_MISSING_EXPORT", message: "missing export: plugin (the clawft:plugin@0.1.0 plugin interface)", item: "plugin" },
    ]);
  });

  it("accepts an ArrayBuffer, and refuses what is not bytes", async () => {
    const ok = bytes.get("tool-basic")!;
    const copy = ok.buffer.slice(ok.byteOffset, ok.byteOffset + ok.byteLength) as ArrayBuffer;
    expect((await validatePluginComponent(copy)).ok).toBe(true);
    const verdict = await validatePluginComponent("not bytes" as unknown as Uint8Array);
    expect(verdict.errors[0]).toEqual({
      code: "WIT_NOT_A_COMPONENT",
      message: "not a WebAssembly component: expected a Uint8Array or ArrayBuffer",
    });
  });

  it("refuses input over maxBytes before decoding it (WIT_TOO_LARGE)", async () => {
    const verdict = await validatePluginComponent(bytes.get("tool-basic")!, { maxBytes: 1024 });
    expect(verdict.errors[0]!.code).toBe("WIT_TOO_LARGE");
    expect(verdict.errors[0]!.message).toMatch(/^component too large: \d+ bytes, the limit is 1024$/);
  });
});

describe("options", () => {
  it("bad options throw naming the field", async () => {
    const good = bytes.get("tool-basic")!;
    await expect(validatePluginComponent(good, { maxBytes: 0 })).rejects.toThrow("maxBytes must be a positive integer");
    await expect(validatePluginComponent(good, { maxBytes: 1.5 })).rejects.toThrow("maxBytes must be a positive integer");
    await expect(validatePluginComponent(good, { allowWasiImports: "yes" as unknown as boolean })).rejects.toThrow(
      "allowWasiImports must be a boolean",
    );
    const error: unknown = await validatePluginComponent(good, { maxBytes: -1 }).catch((e: unknown) => e);
    expect(WitOptionsError.isInstance(error)).toBe(true);
    expect((error as WitOptionsError).code).toBe("WIT_INVALID_OPTIONS");
  });
});

describe("assertPluginComponent", () => {
  it("returns the verdict when ok", async () => {
    const verdict = await assertPluginComponent(bytes.get("tool-basic")!);
    expect(verdict.ok).toBe(true);
  });

  it("a single issue gives its message unchanged, with the issue in `issues`", async () => {
    const error = (await assertPluginComponent(bytes.get("wasi-import")!).catch((e: unknown) => e)) as WitValidationError;
    expect(error.issues).toEqual([BAD["wasi-import"]]);
    expect(error.message).toBe(BAD["wasi-import"].message);
  });
});

describe("observability", () => {
  it("publishes each verdict on the clawft:wit diagnostics channel", async () => {
    const seen: unknown[] = [];
    const listener = (message: unknown) => seen.push(message);
    subscribe("clawft:wit", listener);
    try {
      await validatePluginComponent(bytes.get("extra-import")!);
    } finally {
      unsubscribe("clawft:wit", listener);
    }
    expect(seen).toEqual([
      { ok: false, codes: ["WIT_FORBIDDEN_IMPORT"], imports: ["host", "shell"], exports: ["plugin"], wasiImports: [] },
    ]);
  });
});
