import { describe, expect, it } from "vitest";
import { wat, instantiate, fn } from "../test/wat.js";

// Imports the package by its published name, so the `exports` map and the
// built files are what is tested (run after `build`, as turbo's test task does).
describe("published entries", () => {
  it("the main entry and the rewriter-free runtime entry hand out the same classes", async () => {
    const main = await import("@clawft/metering");
    const runtime = await import("@clawft/metering/runtime");
    expect(runtime.FuelMeter).toBe(main.FuelMeter);
    expect(runtime.ResourceExhaustedError).toBe(main.ResourceExhaustedError);
    expect(runtime.METERING_IMPORT_MODULE).toBe("clawft:metering");
    expect("meterModule" in runtime).toBe(false);
    const { bytes, meta } = main.meterModule(wat(`(module (func (export "spin") (loop $l (br $l))))`));
    const meter = new runtime.FuelMeter({ budget: 1000 });
    let error: unknown;
    try {
      fn<[], void>(instantiate(bytes, meter.importsFor(meta)), "spin")();
    } catch (e) {
      error = e;
    }
    expect(runtime.ResourceExhaustedError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: "RESOURCE_EXHAUSTED", kind: "fuel", limit: 1000 });
  });
});
