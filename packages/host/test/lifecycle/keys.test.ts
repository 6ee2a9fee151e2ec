import { generateKeyPairSync } from "node:crypto";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTempDir, type TempDir } from "@clawft/test-utils";
import { LifecycleError, PluginManager, parsePublicKey } from "@clawft/host";
import { newKeyPair } from "./helpers.js";

let tmp: TempDir;
let dataDir: string;

beforeEach(async () => {
  tmp = await createTempDir("clawft-keys-");
  dataDir = join(tmp.path, "data");
});
afterEach(async () => {
  await tmp.cleanup();
});

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const e = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  return LifecycleError.isInstance(e) ? e.code : `not a LifecycleError: ${String(e)}`;
}

describe("trusted keys", () => {
  it("are added (PEM, base64, hex), listed and removed, in a 0600 file written atomically", async () => {
    const m = new PluginManager({ dataDir });
    const a = newKeyPair();
    const b = newKeyPair();
    const c = newKeyPair();
    const ka = await m.addKey(a.publicPem, "team a");
    const kb = await m.addKey(b.rawBase64);
    const kc = await m.addKey(Buffer.from(c.rawBase64, "base64").toString("hex"));
    expect(ka.id).toMatch(/^[0-9a-f]{64}$/);
    expect(ka.id).toBe(parsePublicKey(a.rawBase64).id);
    expect((await m.listKeys()).map((k) => [k.id, k.name ?? null])).toEqual([
      [ka.id, "team a"],
      [kb.id, null],
      [kc.id, null],
    ]);
    const file = join(dataDir, "trusted-keys.json");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readdir(dataDir)).filter((n) => n.endsWith(".tmp"))).toEqual([]);
    await m.removeKey(kb.id.slice(0, 8));
    expect((await m.listKeys()).map((k) => k.id)).toEqual([ka.id, kc.id]);
    expect(await codeOf(m.removeKey(kb.id))).toBe("PLUGIN_KEY_NOT_FOUND");
    expect(await codeOf(m.removeKey("abc"))).toBe("PLUGIN_KEY_NOT_FOUND");
  });

  it("keys given in the options are listed but not removable", async () => {
    const a = newKeyPair();
    const m = new PluginManager({ dataDir, trustedKeys: [a.publicPem] });
    const [listed] = await m.listKeys();
    expect(listed?.source).toBe("options");
    expect(await codeOf(m.removeKey(listed!.id))).toBe("PLUGIN_KEY_NOT_FOUND");
  });

  it("only Ed25519 keys are accepted (no algorithm confusion)", async () => {
    const m = new PluginManager({ dataDir });
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ type: "spki", format: "pem" }).toString();
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
    for (const bad of [rsa, ec, "", "hello", "AAAA", "00".repeat(31)]) {
      expect(await codeOf(m.addKey(bad))).toBe("PLUGIN_KEY_INVALID");
    }
    expect(await m.listKeys()).toEqual([]);
  });

  it("an edited keys file cannot make another key trusted under a known id", async () => {
    const m = new PluginManager({ dataDir });
    const a = newKeyPair();
    const b = newKeyPair();
    const ka = await m.addKey(a.publicPem);
    const file = join(dataDir, "trusted-keys.json");
    const stored = JSON.parse(await readFile(file, "utf8")) as { keys: { id: string; publicKey: string }[] };
    stored.keys[0]!.publicKey = b.rawBase64; // keep a's id, swap in b's key
    await writeFile(file, JSON.stringify(stored));
    const [listed] = await m.listKeys();
    expect(listed?.id).not.toBe(ka.id);
    expect(listed?.id).toBe(parsePublicKey(b.rawBase64).id);
  });

  it("a corrupt keys file is an error", async () => {
    const m = new PluginManager({ dataDir });
    await m.addKey(newKeyPair().publicPem);
    await writeFile(join(dataDir, "trusted-keys.json"), "{not json");
    expect(await codeOf(m.listKeys())).toBe("PLUGIN_STATE_CORRUPT");
  });
});
