import { generateKeyPairSync } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTempDir, type TempDir } from "@clawft/test-utils";
import { LifecycleError } from "./errors.js";
import { keyScopeMatches, parseKeyScope, TrustedKeyStore } from "./keys.js";

let tmp: TempDir;
beforeEach(async () => {
  tmp = await createTempDir("clawft-keys-unit-");
});
afterEach(async () => {
  await tmp.cleanup();
});

function rawKey(): string {
  const { publicKey } = generateKeyPairSync("ed25519");
  return Buffer.from(publicKey.export({ type: "spki", format: "der" }).subarray(12)).toString("base64");
}

describe("key scopes (T76)", () => {
  it("T76 com.example.* matches ids under com.example. only; an exact id matches itself; * matches all", () => {
    expect(keyScopeMatches(["com.example.*"], "com.example.weather")).toBe(true);
    expect(keyScopeMatches(["com.example.*"], "com.example.a.b")).toBe(true);
    expect(keyScopeMatches(["com.example.*"], "com.example")).toBe(false);
    expect(keyScopeMatches(["com.example.*"], "com.examplexyz.tool")).toBe(false);
    expect(keyScopeMatches(["com.example.*"], "org.victim.tool")).toBe(false);
    expect(keyScopeMatches(["org.victim.tool"], "org.victim.tool")).toBe(true);
    expect(keyScopeMatches(["org.victim.tool"], "org.victim.tool2")).toBe(false);
    expect(keyScopeMatches(["*"], "anything")).toBe(true);
    expect(keyScopeMatches(undefined, "anything")).toBe(true);
    expect(keyScopeMatches(["a.*", "b.c"], "b.c")).toBe(true);
  });

  it("T76 refuses patterns that are not an id, an id prefix with .* or *", () => {
    for (const bad of ["", "com.*.tool", "*.example", "com.example*", ".*", "com..example.*", "com/example.*"]) {
      let error: unknown;
      try {
        parseKeyScope(bad);
      } catch (e) {
        error = e;
      }
      expect(LifecycleError.isInstance(error) && error.code, bad).toBe("PLUGIN_KEY_INVALID");
    }
    expect(parseKeyScope("com.example.*")).toBe("com.example.*");
  });

  it("T76 trustedFor returns only the keys whose scope covers the id; the scope is stored and re-validated", async () => {
    const path = join(tmp.path, "trusted-keys.json");
    const store = new TrustedKeyStore(path);
    const scoped = await store.add(rawKey(), "example", ["com.example.*"]);
    const everywhere = await store.add(rawKey(), "all");
    expect((await store.trustedFor("com.example.weather")).map((k) => k.id).sort()).toEqual([scoped.id, everywhere.id].sort());
    expect((await store.trustedFor("org.victim.tool")).map((k) => k.id)).toEqual([everywhere.id]);
    const file = JSON.parse(await readFile(path, "utf8")) as { keys: { scope?: string[] }[] };
    expect(file.keys.map((k) => k.scope ?? null)).toEqual([["com.example.*"], null]);
    await expect(store.add(rawKey(), undefined, [])).rejects.toMatchObject({ code: "PLUGIN_KEY_INVALID" });
  });
});
