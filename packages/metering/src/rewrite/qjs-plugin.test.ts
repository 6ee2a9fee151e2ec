/**
 * The binary rewriter on a real plugin: the componentize-qjs example plugin
 * from @clawft/wasm-fixtures (QuickJS compiled by clang, ~770 KB main core
 * module, extended-const initialisers), every core module of the component
 * metered by both engines.
 */
import { setFlagsFromString } from "node:v8";
import { buildJsExamplePlugin } from "@clawft/wasm-fixtures";
import { describe, expect, it } from "vitest";
import { meterWithBinaryen } from "../../test/reference/binaryen-meter.js";
import { meterModule } from "../index.js";

// Node 20 validates extended-const only behind a flag (the host turns it on the same way); newer V8s have it on and no such flag.
if (Number(process.versions.node.split(".")[0]) < 22) setFlagsFromString("--experimental-wasm-extended-const");

/** The core modules of a component (section 1), also inside nested components (section 4). */
function coreModules(component: Uint8Array, out: Uint8Array[] = []): Uint8Array[] {
  let pos = 8;
  const u32 = (): number => {
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      const b = component[pos++] as number;
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
    }
  };
  while (pos < component.length) {
    const id = component[pos++] as number;
    const size = u32();
    if (id === 1) out.push(component.subarray(pos, pos + size));
    if (id === 4) coreModules(component.subarray(pos, pos + size), out);
    pos += size;
  }
  return out;
}

describe("a componentize-qjs plugin", () => {
  it("every core module is metered into a valid module, with the binaryen engine's region counts (within the documented differences)", { timeout: 180_000 }, async () => {
    const modules = coreModules(await buildJsExamplePlugin());
    const largest = Math.max(...modules.map((m) => m.length));
    expect(largest).toBeGreaterThan(500_000);
    for (const input of modules) {
      const fresh = meterModule(input);
      expect(WebAssembly.validate(fresh.bytes as Uint8Array<ArrayBuffer>)).toBe(true);
      const reference = meterWithBinaryen(input);
      expect(fresh.meta.imports).toEqual(reference.meta.imports);
      const a = fresh.meta.stats;
      const b = reference.meta.stats;
      expect([a.functions, a.leafFunctions, a.loops, a.memoryGrows, a.tableGrows]).toEqual([b.functions, b.leafFunctions, b.loops, b.memoryGrows, b.tableGrows]);
      // Region boundaries differ slightly where binaryen's IR groups code differently (README); the total static cost barely moves.
      expect(Math.abs(a.staticCost - b.staticCost)).toBeLessThanOrEqual(Math.ceil(b.staticCost * 0.01));
      if (input.length === largest) expect(a.functions).toBeGreaterThan(1000);
    }
  });
});
