import { describe, expect, it } from "vitest";
import { JS_ENGINE_EXPORT, validatePluginComponent, WitOptionsError } from "./index.js";

/** A minimal plugin component, with the JS engine's `load-plugin-source` export when `engineExport`. */
async function component(engineExport: boolean, signature = `(param "source" string) (param "file-name" string) (result $unit)`): Promise<Uint8Array> {
  const { parse } = await import("@bytecodealliance/jco");
  return parse(`(component
    (core module $main
      (memory (export "memory") 1)
      (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 64))
      (func (export "init") (result i32) (i32.const 0))
      (func (export "load") (param i32 i32 i32 i32) (result i32) (i32.const 0))
      (func (export "run") (param i32 i32 i32 i32) (result i32) (i32.const 0))
      (func (export "describe") (result i32) (i32.const 0)))
    (core instance $main (instantiate $main))
    (alias core export $main "memory" (core memory $mem))
    (alias core export $main "realloc" (core func $realloc))
    (type $unit (result (error string)))
    (type $text (result string (error string)))
    (func $init (result $unit) (canon lift (core func $main "init") (memory $mem)))
    (func $run (param "tool-name" string) (param "params-json" string) (result $text) (canon lift (core func $main "run") (memory $mem) (realloc $realloc)))
    (func $describe (result string) (canon lift (core func $main "describe") (memory $mem)))
    (instance $plugin (export "init" (func $init)) (export "execute-tool" (func $run)) (export "describe" (func $describe)))
    (export "plugin" (instance $plugin))
    ${engineExport ? `(func $load ${signature} (canon lift (core func $main "load") (memory $mem) (realloc $realloc)))
    (export "load-plugin-source" (func $load))` : ""})`);
}

describe("validatePluginComponent: the JS engine's export (jsEngine)", () => {
  it("T81 load-plugin-source is an unknown export of a plugin's own component (WIT_UNKNOWN_EXPORT)", async () => {
    const verdict = await validatePluginComponent(await component(true));
    expect(verdict.ok).toBe(false);
    expect(verdict.errors.map((e) => e.code)).toEqual(["WIT_UNKNOWN_EXPORT"]);
    expect(verdict.errors[0]?.message).toMatch(/^unknown export: load-plugin-source is func\(source: string, file-name: string\) -> result<_, string>/);
  });

  it("T81 with jsEngine: true it is allowed with its exact type, listed in extraExports, and required", async () => {
    const engine = await validatePluginComponent(await component(true), { jsEngine: true });
    expect(engine.errors).toEqual([]);
    expect(engine.extraExports).toEqual([JS_ENGINE_EXPORT.name]);
    const missing = await validatePluginComponent(await component(false), { jsEngine: true });
    expect(missing.errors).toEqual([
      {
        code: "WIT_MISSING_EXPORT",
        item: "load-plugin-source",
        message: "missing export: load-plugin-source: func(source: string, file-name: string) -> result<_, string> (a clawft JS engine's)",
      },
    ]);
    const wrongType = await validatePluginComponent(await component(true, `(param "source" string) (param "file-name" string) (result string)`), {
      jsEngine: true,
    });
    expect(wrongType.errors.map((e) => e.code)).toEqual(["WIT_UNKNOWN_EXPORT"]);
  });

  it("refuses a jsEngine option that is not a boolean, naming it", async () => {
    await expect(validatePluginComponent(await component(false), { jsEngine: "yes" as never })).rejects.toThrow(WitOptionsError);
    await expect(validatePluginComponent(await component(false), { jsEngine: "yes" as never })).rejects.toThrow("jsEngine must be a boolean");
  });
});
