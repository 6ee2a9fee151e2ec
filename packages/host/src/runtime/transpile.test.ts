import { transpile } from "@bytecodealliance/jco";
import { buildFixture } from "@clawft/wasm-fixtures";
import { describe, expect, it } from "vitest";
import { transpileComponent } from "./transpile.js";

/** The options the host passed to jco 1.35's `transpile` before it moved to jco-transpile's generator. */
const JCO_135_OPTIONS = { name: "plugin", instantiation: "async", noTypescript: true, base64Cutoff: 0, wasiShim: false, quiet: true } as const;

describe("transpileComponent (jco-transpile's generator)", () => {
  // The glue patch (glue-loader.ts) and the argument guard (jco-guard.ts, T61) match
  // jco 1.35's glue text: the runtime generator must produce exactly that glue.
  for (const fixture of ["tool-basic", "host-calls", "hostile-args-jco", "nested-types", "wasi-import"] as const) {
    it(`T61 gives the glue and core modules jco 1.35's transpile gave for ${fixture}`, async () => {
      const wasm = await buildFixture(fixture);
      const ours = await transpileComponent(wasm);
      const theirs = await transpile(wasm, JCO_135_OPTIONS);
      const glue = (files: Record<string, Uint8Array>) => Buffer.from(files["plugin.js"] as Uint8Array).toString("utf8");
      expect(glue(ours.files)).toBe(glue(theirs.files as Record<string, Uint8Array>));
      const wasmNames = (files: Record<string, Uint8Array>) => Object.keys(files).filter((n) => n.endsWith(".wasm")).sort();
      expect(wasmNames(ours.files)).toEqual(wasmNames(theirs.files as Record<string, Uint8Array>));
      for (const name of wasmNames(ours.files)) {
        expect(Buffer.from(ours.files[name] as Uint8Array).equals(Buffer.from((theirs.files as Record<string, Uint8Array>)[name] as Uint8Array))).toBe(true);
      }
      expect(ours.imports).toEqual(theirs.imports);
    }, 60_000);
  }

  it("T61 refuses bytes that are not a component with the generator's error", async () => {
    await expect(transpileComponent(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]))).rejects.toThrow();
  });
});
