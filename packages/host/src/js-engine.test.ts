import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { PluginError } from "./errors.js";
import { decodeJsPayload, loadJsEngine } from "./js-engine.js";

const bytes = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]);
const sha256 = createHash("sha256").update(bytes).digest("hex");

async function refusal(p: Promise<unknown>): Promise<PluginError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(PluginError.isInstance(error)).toBe(true);
  return error as PluginError;
}

describe("loadJsEngine", () => {
  it("returns a private, frozen copy of bytes that hash to their sha256 (given, or from a function)", async () => {
    const given = { bytes: bytes.slice(), sha256 };
    const engine = await loadJsEngine(given);
    expect(engine.sha256).toBe(sha256);
    expect(Object.isFrozen(engine)).toBe(true);
    given.bytes[0] = 0xff; // the caller's array changes nothing the host holds
    expect(engine.bytes[0]).toBe(0x00);
    expect((await loadJsEngine(async () => ({ bytes, sha256 }))).sha256).toBe(sha256);
  });

  it("T83 refuses bytes that do not hash to the recorded sha256 (PLUGIN_JS_ENGINE_TAMPERED), naming both digests", async () => {
    const tampered = bytes.slice();
    tampered[7] = 0x01;
    const error = await refusal(loadJsEngine({ bytes: tampered, sha256 }));
    expect(error.code).toBe("PLUGIN_JS_ENGINE_TAMPERED");
    expect(error.message).toBe(`js engine tampered: its sha256 is ${createHash("sha256").update(tampered).digest("hex")}, expected ${sha256}`);
  });

  it("T83 refuses an engine that is not { bytes, sha256 in hex }, or whose function throws (PLUGIN_JS_ENGINE_MISSING)", async () => {
    for (const bad of [null, { bytes }, { bytes: "x", sha256 }, { bytes, sha256: sha256.toUpperCase() }, { bytes, sha256: "abc" }]) {
      const error = await refusal(loadJsEngine(bad as never));
      expect(error.code).toBe("PLUGIN_JS_ENGINE_MISSING");
      expect(error.message).toBe("js engine missing: expected { bytes: Uint8Array, sha256: <64 hex digits> }");
    }
    const thrown = await refusal(
      loadJsEngine(() => {
        throw new Error("disk gone");
      }),
    );
    expect(thrown.code).toBe("PLUGIN_JS_ENGINE_MISSING");
    expect(thrown.message).toBe("js engine missing: getting it failed: disk gone");
  });
});

describe("decodeJsPayload", () => {
  it("takes text as it is and UTF-8 bytes decoded; refuses bytes that are not UTF-8 (never repaired)", () => {
    expect(decodeJsPayload("héllo", "p").bytes).toEqual(new TextEncoder().encode("héllo"));
    expect(decodeJsPayload(new TextEncoder().encode("héllo"), "p").text).toBe("héllo");
    expect(() => decodeJsPayload(new Uint8Array([0xc3]), "p")).toThrow("js plugin is not UTF-8 text");
  });
});
