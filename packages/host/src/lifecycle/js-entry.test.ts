import { generateKeyPairSync } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createTempDir } from "@clawft/test-utils";
import type { LifecycleError } from "./errors.js";
import { readManifest } from "./manifest.js";
import { signPluginFolder } from "./sign.js";
import { checkSignature, parsePublicKey } from "./signature.js";

const jsManifest = { id: "com.example.js", name: "JS", version: "1.0.0", capabilities: ["tool"], runtime: "js", main: "./dist/plugin.js" };

describe("the entry file of a js plugin", () => {
  it("T84 is main, normalised: what the lifecycle pins, size-checks and signs", () => {
    const summary = readManifest(Buffer.from(JSON.stringify(jsManifest)));
    expect(summary.runtime).toBe("js");
    expect(summary.entryField).toBe("main");
    expect(summary.wasmModule).toBe("dist/plugin.js");
    const component = readManifest(Buffer.from(JSON.stringify({ ...jsManifest, runtime: undefined, main: undefined, wasm_module: "p.wasm" })));
    expect([component.runtime, component.entryField, component.wasmModule]).toEqual(["component", "wasm_module", "p.wasm"]);
  });

  it("T84 a js manifest without main cannot be installed (PLUGIN_INVALID_MANIFEST naming main)", () => {
    const error = (() => {
      try {
        readManifest(Buffer.from(JSON.stringify({ ...jsManifest, main: undefined })));
      } catch (e) {
        return e as LifecycleError;
      }
      throw new Error("expected a refusal");
    })();
    expect(error.code).toBe("PLUGIN_INVALID_MANIFEST");
    expect(error.message).toBe("invalid plugin manifest: main: required to install a plugin");
  });

  it("T84 signPluginFolder signs the bytes of main: the signature verifies them and fails on one changed byte", async () => {
    await using dir = await createTempDir("clawft-js-sign-");
    await mkdir(join(dir.path, "dist"));
    const js = Buffer.from('module.exports.plugin = { describe() { return "{}"; }, executeTool() { return "ok"; } };');
    await writeFile(join(dir.path, "dist", "plugin.js"), js);
    const manifestBytes = Buffer.from(JSON.stringify(jsManifest));
    await writeFile(join(dir.path, "clawft.plugin.json"), manifestBytes);
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const { path, keyId } = await signPluginFolder(dir.path, privateKey);
    const key = parsePublicKey(publicKey.export({ type: "spki", format: "pem" }).toString());
    expect(keyId).toBe(key.id);
    const sig = await readFile(path);
    const trusted = [{ id: key.id, raw: key.raw }];
    expect(checkSignature(sig, manifestBytes, js, trusted)).toEqual({ status: "trusted", keyId: key.id });
    const changed = Buffer.from(js);
    changed[changed.length - 3] = 0x58;
    expect(() => checkSignature(sig, manifestBytes, changed, trusted)).toThrow(/^invalid plugin signature/);
  });
});
