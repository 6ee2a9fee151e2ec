import { buildFixture, buildFixtureCoreModule, buildJsExamplePlugin, fixtureNames } from "@clawft/wasm-fixtures";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { inspectComponent, pluginWorld, wasmKind, WitValidationError } from "./index.js";

describe("inspectComponent", () => {
  it("reads tool-basic: host imported with its five functions, plugin exported with three", async () => {
    const inspection = await inspectComponent(await buildFixture("tool-basic"));
    expect(inspection.imports).toHaveLength(1);
    const host = inspection.imports[0]!;
    expect(host).toMatchObject({ name: "host", kind: "interface", interface: "host", inline: true, wasi: false, package: undefined });
    expect(host.functions!.map((f) => f.signature)).toEqual([
      "func(method: string, url: string, headers: list<tuple<string, string>>, body: option<string>) -> result<string, string>",
      "func(path: string) -> result<string, string>",
      "func(path: string, content: string) -> result<_, string>",
      "func(name: string) -> option<string>",
      "func(level: u8, message: string)",
    ]);
    expect(host.functions!.map((f) => f.name)).toEqual(["http-request", "read-file", "write-file", "get-env", "log"]);
    expect(inspection.exports.map((e) => [e.name, e.kind])).toEqual([["plugin", "interface"]]);
    expect(inspection.exports[0]!.functions!.map((f) => `${f.name}: ${f.signature}`)).toEqual([
      "init: func() -> result<_, string>",
      "execute-tool: func(tool-name: string, params-json: string) -> result<string, string>",
      "describe: func() -> string",
    ]);
    expect(inspection.wit).toContain("world root");
  });

  it("matches the world parsed from witSource for every good fixture's host functions", async () => {
    const inspection = await inspectComponent(await buildFixture("host-calls"));
    expect(inspection.imports[0]!.functions!.map((f) => f.shape)).toEqual(pluginWorld.hostFunctions.map((f) => f.shape));
  });

  it("reads a named WASI import with its package (its functions are not printed by componentWit)", async () => {
    const inspection = await inspectComponent(await buildFixture("wasi-import"));
    expect(inspection.imports[0]).toEqual({
      name: "wasi:cli/environment@0.2.3",
      kind: "interface",
      interface: "wasi:cli/environment@0.2.3",
      package: "wasi:cli@0.2.3",
      inline: false,
      wasi: true,
      functions: undefined,
    });
  });

  it("reads the componentize-qjs plugin's top-level init function export", async () => {
    const inspection = await inspectComponent(await buildJsExamplePlugin());
    const init = inspection.exports.find((e) => e.name === "init")!;
    expect(init).toMatchObject({ kind: "function", interface: undefined, inline: false });
    expect(init.functions![0]!.signature).toBe(
      "func(shim: string, script: string, entry-path: option<string>, disable-gc: bool) -> result<_, string>",
    );
  }, 60_000);

  it("every fixture can be inspected (but the type bomb, refused before jco decodes it)", async () => {
    for (const name of fixtureNames) {
      if (name === "nested-types") {
        await expect(inspectComponent(await buildFixture(name))).rejects.toMatchObject({ code: "WIT_TOO_COMPLEX" });
        continue;
      }
      const inspection = await inspectComponent(await buildFixture(name));
      expect(inspection.imports.length, name).toBeGreaterThan(0);
    }
  });

  it("throws WIT_NOT_A_COMPONENT for a core module", async () => {
    const error = await inspectComponent(await buildFixtureCoreModule("trap")).catch((e: unknown) => e);
    expect(WitValidationError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: "WIT_NOT_A_COMPONENT" });
  });

  it("property: arbitrary bytes, with or without a component preamble, give an inspection or a WitValidationError, never anything else", async () => {
    const preamble = [0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0];
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.uint8Array({ maxLength: 256 }), async (withPreamble, tail) => {
        const input = withPreamble ? new Uint8Array([...preamble, ...tail]) : tail;
        try {
          await inspectComponent(input);
        } catch (error) {
          expect(WitValidationError.isInstance(error)).toBe(true);
          expect(["WIT_NOT_A_COMPONENT", "WIT_INVALID_COMPONENT"]).toContain((error as WitValidationError).code);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe("wasmKind", () => {
  it("tells a component from a core module from anything else", () => {
    expect(wasmKind(new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]))).toBe("component");
    expect(wasmKind(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]))).toBe("module");
    expect(wasmKind(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0]))).toBe("unknown");
    expect(wasmKind(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]))).toBe("unknown");
    expect(wasmKind(new Uint8Array())).toBe("unknown");
  });
});
