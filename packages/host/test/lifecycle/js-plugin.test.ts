/**
 * The lifecycle of a JS plugin ("runtime": "js", issue 16): its `main` is what is size-checked,
 * signed, pinned at install and verified at every open; it installs with the default limits.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { gzipSync } from "node:zlib";
import { createTempDir, startLoopbackServer, type TempDir } from "@clawft/test-utils";
import { bundleJsExamplePlugin, jsExampleManifest } from "@clawft/wasm-fixtures";
import { LifecycleError, PluginManager, pluginDataFolder, runInstalledTool, signPluginFolder, type LifecycleConsentRequest } from "@clawft/host";
import { newKeyPair } from "./helpers.js";

let tmp: TempDir;
let dataDir: string;

beforeEach(async () => {
  tmp = await createTempDir("clawft-js-lifecycle-");
  dataDir = join(tmp.path, "data");
});
afterEach(async () => {
  await tmp.cleanup();
});

const pluginJs = (greeting: string): string => `const host = require("host");
module.exports.plugin = {
  describe() {
    return JSON.stringify({ name: "greeter", version: "1.0.0", tools: [
      { name: "greet", description: "greets", parameters: { type: "object" } },
      { name: "log", description: "logs", parameters: { type: "object" } },
    ] });
  },
  executeTool(name, paramsJson) {
    const params = JSON.parse(paramsJson);
    if (name === "log") { host.log(2, "logged " + params.text); return "logged"; }
    return JSON.stringify({ greeting: ${JSON.stringify(greeting)} + ", " + params.name });
  },
};
`;

async function jsPluginFolder(name: string, id: string, js: string): Promise<string> {
  const dir = join(tmp.path, name);
  await mkdir(join(dir, "dist"), { recursive: true });
  await writeFile(
    join(dir, "clawft.plugin.json"),
    JSON.stringify({ id, name: "Greeter", version: "1.0.0", capabilities: ["tool"], runtime: "js", main: "dist/plugin.js", description: "Greets people." }),
  );
  await writeFile(join(dir, "dist", "plugin.js"), js);
  return dir;
}

async function refusal(promise: Promise<unknown>): Promise<LifecycleError> {
  const error = await promise.then(
    () => {
      throw new Error("expected a refusal");
    },
    (e: unknown) => e,
  );
  expect(LifecycleError.isInstance(error), String(error)).toBe(true);
  return error as LifecycleError;
}

describe("JS plugins: install, sign, verify, run", () => {
  it("T84 a signed js plugin installs with the default limits and runs each tool; its signature and pin cover main", async () => {
    const signer = newKeyPair();
    const folder = await jsPluginFolder("greeter", "com.example.greeter", pluginJs("Hello"));
    await signPluginFolder(folder, signer.privateKey);
    const warnings: string[] = [];
    const m = new PluginManager({ dataDir, trustedKeys: [signer.publicPem], logger: { warn: (w) => warnings.push(w) } });
    const { plugin } = await m.install(folder);
    expect(plugin.wasmModule).toBe("dist/plugin.js");
    expect(warnings.filter((w) => w.includes("unknown key"))).toEqual([]);
    const opened = await m.open(plugin.id);
    expect(await runInstalledTool(m, opened, "greet", JSON.stringify({ name: "Ada" }))).toBe(JSON.stringify({ greeting: "Hello, Ada" }));
    expect(await runInstalledTool(m, opened, "log", JSON.stringify({ text: "x" }), undefined)).toBe("logged");

    // The installed JS changed after install: refused at open (sha256 pinned at install).
    const installed = join(dataDir, "plugins", plugin.id, "package", "dist", "plugin.js");
    await writeFile(installed, (await readFile(installed, "utf8")).replace("Hello", "Pwned"));
    const changed = await refusal(m.open(plugin.id));
    expect(changed.code).toBe("PLUGIN_INTEGRITY_MISMATCH");
    expect(changed.message).toBe(`integrity check failed: dist/plugin.js of ${plugin.id} changed since it was installed (sha256 mismatch); reinstall it`);
  });

  it("T84 a js plugin whose main changed after it was signed is refused at install; another plugin installs and runs", async () => {
    const signer = newKeyPair();
    const folder = await jsPluginFolder("tampered", "com.example.tampered", pluginJs("Hello"));
    await signPluginFolder(folder, signer.privateKey);
    await writeFile(join(folder, "dist", "plugin.js"), pluginJs("Pwned"));
    const m = new PluginManager({ dataDir, trustedKeys: [signer.publicPem], logger: { warn: () => undefined } });
    const error = await refusal(m.install(folder));
    expect(error.code).toBe("PLUGIN_SIGNATURE_INVALID");
    expect(error.message.startsWith("invalid plugin signature")).toBe(true);
    expect(await m.list()).toEqual([]);
    const other = await jsPluginFolder("other", "com.example.other", pluginJs("Hi"));
    await signPluginFolder(other, signer.privateKey);
    const { plugin } = await m.install(other);
    expect(await runInstalledTool(m, await m.open(plugin.id), "greet", JSON.stringify({ name: "Bo" }))).toBe(JSON.stringify({ greeting: "Hi, Bo" }));
  });

  it("a js plugin whose main is over the default size limit, or not UTF-8, is refused at install", async () => {
    const m = new PluginManager({ dataDir, logger: { warn: () => undefined } });
    const big = await jsPluginFolder("big", "com.example.big", `${pluginJs("Hello")}//${"x".repeat(310 * 1024)}`);
    const tooLarge = await refusal(m.install(big));
    expect(tooLarge.code).toBe("PLUGIN_TOO_LARGE");
    const binary = await jsPluginFolder("binary", "com.example.binary", "");
    await writeFile(join(binary, "dist", "plugin.js"), Buffer.from([0x66, 0xff, 0x00]));
    const notText = await refusal(m.install(binary));
    expect(notText.code).toBe("PLUGIN_INVALID_MANIFEST");
    expect(notText.message).toBe("invalid plugin manifest: main dist/plugin.js is not UTF-8 text");
  });
});

describe("the example JS plugin (examples/js-plugin)", () => {
  it("installs with the default limits (its JS is a few KB) after consent, and each tool runs", async () => {
    const js = await bundleJsExamplePlugin();
    expect(Buffer.byteLength(js)).toBeLessThan(300 * 1024);
    expect(gzipSync(js).byteLength).toBeLessThan(120 * 1024);
    const dir = join(tmp.path, "example");
    await mkdir(join(dir, "dist"), { recursive: true });
    const manifest = await jsExampleManifest();
    await writeFile(join(dir, "clawft.plugin.json"), JSON.stringify(manifest));
    await writeFile(join(dir, "dist", "plugin.js"), js);
    const requests: LifecycleConsentRequest[] = [];
    const m = new PluginManager({
      dataDir,
      logger: { warn: () => undefined },
      approve: (r) => {
        requests.push(r);
        return true;
      },
    });
    const { plugin } = await m.install(dir);
    expect(requests.map((r) => r.description)).toEqual([manifest.description]);
    const opened = await m.open(plugin.id);
    const run = (tool: string, params: unknown) => runInstalledTool(m, opened, tool, JSON.stringify(params));
    // Its relative grant `notes` is the folder <dataDir>/data/<id>/notes.
    const note = join(pluginDataFolder(dataDir, plugin.id), "notes", "a.txt");
    expect(JSON.parse(await run("write-note", { path: note, text: "first line\nsecond" }))).toEqual({ path: note, written: true });
    expect(await readFile(note, "utf8")).toBe("first line\nsecond\n"); // write-note ends the note with a newline
    expect(JSON.parse(await run("read-file", { path: note }))).toMatchObject({ lines: 3, firstLine: "first line" });
    expect(await run("greet", { name: "Ada" })).toBe("Hello, Ada!");
    // summarize-json: a loopback address is refused before any connection (the SSRF rule).
    const server = await startLoopbackServer((_req, res) => {
      res.end("{}");
    });
    try {
      await expect(run("summarize-json", { url: `${server.url}/x.json` })).rejects.toThrow(/^request to private\/reserved IP denied/);
      expect(server.connectionCount).toBe(0);
    } finally {
      await server.close();
    }
  });
});
