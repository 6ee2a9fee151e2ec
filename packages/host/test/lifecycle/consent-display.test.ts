import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTempDir, startLoopbackServer, type LoopbackServer, type TempDir } from "@clawft/test-utils";
import { buildFixture } from "@clawft/wasm-fixtures";
import {
  createHost,
  formatConsentRequest,
  LifecycleError,
  PluginError,
  PluginManager,
  pluginDataFolder,
  runInstalledTool,
  type LifecycleConsentRequest,
} from "@clawft/host";
import { manifestFor, pluginFiles, writePluginFolder } from "./helpers.js";

/**
 * Consent shows exactly what is granted (issue 14, items 1, 7, 8): filesystem grants are
 * normalised and checked at parse and shown as the folder they become (T63), permission lines
 * are never cut (T64), manifest text is escaped (T65), network entries with a port are refused
 * (T66) and a manifest with a BOM is one text from install to run (T67). Real plugin folders,
 * real components (`host-calls` fixture), real data directories.
 */

let tmp: TempDir;
let dataDir: string;
let hostCalls: Buffer;
const quiet = { warn: () => {} };

beforeAll(async () => {
  hostCalls = Buffer.from(await buildFixture("host-calls"));
});
beforeEach(async () => {
  tmp = await createTempDir("clawft-consent-display-");
  dataDir = join(tmp.path, "data");
});
afterEach(async () => {
  await tmp.cleanup();
});

function folder(name: string, overrides: Record<string, unknown>, options: { bom?: boolean } = {}): Promise<string> {
  const files = pluginFiles({
    manifest: manifestFor({ tools: ["read", "write", "http", "env", "log"], ...overrides }),
    module: hostCalls,
  });
  if (options.bom) files.manifest = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), files.manifest]);
  return writePluginFolder(join(tmp.path, "src", name), files);
}

/** A manager whose approve callback records the prompt text the CLI would print, and says yes. */
function recordingManager(): { manager: PluginManager; prompts: string[]; requests: LifecycleConsentRequest[] } {
  const prompts: string[] = [];
  const requests: LifecycleConsentRequest[] = [];
  const manager = new PluginManager({
    dataDir,
    logger: quiet,
    approve: (r) => {
      requests.push(r);
      prompts.push(formatConsentRequest(r));
      return true;
    },
  });
  return { manager, prompts, requests };
}

async function invalidManifest(promise: Promise<unknown>): Promise<LifecycleError> {
  const error = await promise.then(
    () => {
      throw new Error("expected PLUGIN_INVALID_MANIFEST, but the call succeeded");
    },
    (e: unknown) => e,
  );
  expect(LifecycleError.isInstance(error), String(error)).toBe(true);
  expect((error as LifecycleError).code).toBe("PLUGIN_INVALID_MANIFEST");
  expect((error as LifecycleError).message.startsWith("invalid plugin manifest: ")).toBe(true);
  return error as LifecycleError;
}

/** Installs and runs a second, well-formed plugin: a refusal of one plugin leaves others working. */
async function anotherPluginStillWorks(manager: PluginManager): Promise<void> {
  const other = await folder("other", { id: "com.example.other", permissions: { filesystem: ["notes"] } });
  await manager.install(other);
  const opened = await manager.open("com.example.other");
  expect(await runInstalledTool(manager, opened, "write", JSON.stringify(["n.txt", "other"]))).toBe("ok");
  expect(await readFile(join(pluginDataFolder(dataDir, "com.example.other"), "notes", "n.txt"), "utf8")).toBe("other");
}

describe("T63 filesystem grants: checked at parse, shown as the folder they become", () => {
  it("T63 a grant with the `..` trick is refused at install with the field named; nothing is asked or installed", async () => {
    const trick = `/home/alice/.local/share/weather-plugin/cache/${"c".repeat(300)}/../../../../../../../..`;
    const { manager, requests } = recordingManager();
    const src = await folder("trick", { permissions: { filesystem: ["cache", trick] } });
    const error = await invalidManifest(manager.install(src));
    expect(error.message).toBe(
      'invalid plugin manifest: permissions.filesystem[1]: must not contain a ".." segment: write the folder it stands for',
    );
    expect(requests).toEqual([]);
    expect(await manager.list()).toEqual([]);
    for (const bad of ["./cache", "cache//x", "cache/.", "cache\u202e", "cache\r\n  + nothing"]) {
      const e = await invalidManifest(manager.install(await folder("bad", { permissions: { filesystem: [bad] } })));
      expect(e.message).toMatch(/^invalid plugin manifest: permissions\.filesystem\[0\]: must not contain /);
    }
    expect(requests).toEqual([]);
    await anotherPluginStillWorks(manager);
  });

  it("T63 the prompt shows a relative grant as the absolute folder it becomes, and the plugin writes exactly there", async () => {
    const { manager, prompts, requests } = recordingManager();
    await manager.install(await folder("rel", { permissions: { filesystem: ["cache/"] } }));
    const folderShown = join(pluginDataFolder(dataDir, "com.example.weather"), "cache");
    expect(requests[0]?.dataFolder).toBe(pluginDataFolder(dataDir, "com.example.weather"));
    expect(requests[0]?.permissions.filesystem).toEqual(["cache"]); // the one normalised form
    expect(prompts[0]).toBe(
      [`Plugin com.example.weather 1.0.0 "Weather" asks for:`, `  + filesystem: ${folderShown} (manifest: cache)`].join("\n"),
    );
    const [approval] = await manager.permissions("com.example.weather");
    expect(approval?.permissions.filesystem).toEqual(["cache"]);

    const opened = await manager.open("com.example.weather");
    expect(await runInstalledTool(manager, opened, "write", JSON.stringify(["a.txt", "here"]))).toBe("ok");
    expect(await readFile(join(folderShown, "a.txt"), "utf8")).toBe("here");
    // The plugin's next call still works, and so does another plugin's.
    expect(await runInstalledTool(manager, await manager.open("com.example.weather"), "read", JSON.stringify(["a.txt"]))).toBe(
      "here",
    );
    await anotherPluginStillWorks(manager);
  });

  it("T63 the host refuses the `..` trick at load too, and names the absolute folder in a consent error", async () => {
    const host = createHost({ logger: { error() {}, warn() {}, info() {}, debug() {}, trace() {} } });
    try {
      const bad = manifestFor({ permissions: { filesystem: ["/tmp/x/../../etc"] } });
      const refused = await host.load({ manifest: bad, wasm: hostCalls }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(PluginError.isInstance(refused)).toBe(true);
      expect((refused as PluginError).code).toBe("PLUGIN_INVALID_MANIFEST");
      expect((refused as Error).message).toBe(
        'invalid plugin manifest: permissions.filesystem[0]: must not contain a ".." segment: write the folder it stands for',
      );
      const base = join(tmp.path, "base");
      const unapproved = await host
        .load({ manifest: manifestFor({ permissions: { filesystem: ["cache"] } }), wasm: hostCalls, baseDir: base })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect((unapproved as PluginError).code).toBe("PLUGIN_CONSENT_DENIED");
      expect((unapproved as Error).message).toContain(`filesystem ${join(base, "cache")}`);
      const ok = await host.load({
        manifest: manifestFor({ permissions: { filesystem: ["cache"] } }),
        wasm: hostCalls,
        baseDir: base,
        approvals: { filesystem: ["cache/"] },
      });
      expect(await ok.executeTool("write", ["b.txt", "x"])).toBe("ok");
      expect(await ok.executeTool("read", ["b.txt"])).toBe("x");
    } finally {
      await host.close();
    }
  });
});

describe("T64 permission lines are never cut", () => {
  it("T64 a 1024-character grant is shown whole in the prompt; a 1025-character one is refused at install", async () => {
    const { manager, prompts } = recordingManager();
    const long = `/srv/${"d".repeat(1024 - "/srv/".length - "/end".length)}/end`;
    expect(long).toHaveLength(1024);
    const tooLong = `${long}x`;
    const e = await invalidManifest(manager.install(await folder("too-long", { permissions: { filesystem: [tooLong] } })));
    expect(e.message).toBe(
      "invalid plugin manifest: permissions.filesystem[0]: must be at most 1024 characters (a grant too long to show in full is refused)",
    );
    expect(e.message).not.toContain(tooLong.slice(0, 100));
    expect(prompts).toEqual([]);

    const hosts = Array.from({ length: 20 }, (_, i) => `h${i}.${"a".repeat(40)}.example`);
    await manager.install(await folder("long", { permissions: { filesystem: [long], network: hosts } }));
    const prompt = prompts[0] ?? "";
    expect(prompt.split("\n")).toContain(`  + filesystem: ${long}`);
    expect(prompt).not.toContain("…");
    for (const h of hosts) expect(prompt).toContain(`  + network: ${h}`);
    const many = Array.from({ length: 65 }, (_, i) => `/srv/d${i}`);
    const e2 = await invalidManifest(manager.install(await folder("many", { version: "1.1.0", permissions: { filesystem: many } })));
    expect(e2.message).toBe(
      "invalid plugin manifest: permissions.filesystem: must have at most 64 entries (each is shown in full at consent)",
    );
    await anotherPluginStillWorks(manager);
  });
});

describe("T65 manifest text shown to a person is escaped", () => {
  it("T65 control and bidi characters in name and description are escaped in the prompt: one line each, nothing hidden", async () => {
    const { manager, prompts } = recordingManager();
    const name = "Weather\r  + nothing else\u001b[2K\u202egnp.exe";
    const description = "Fine.\n  + (no other permissions)\u001b]0;owned\u0007\u2066x\u2069";
    await manager.install(
      await folder("text", { name, description, permissions: { env_vars: ["WEATHER_KEY"], shell: true } }),
    );
    const prompt = prompts[0] ?? "";
    expect(prompt.split("\n")).toEqual([
      'Plugin com.example.weather 1.0.0 "Weather\\r  + nothing else\\x1b[2K\\u202egnp.exe" asks for:',
      "  + shell: run shell commands (shell: true)",
      "  + env: WEATHER_KEY",
      "Why (from its manifest): Fine.\\n  + (no other permissions)\\x1b]0;owned\\x07\\u2066x\\u2069",
    ]);
    expect(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/.test(prompt)).toBe(false);
    // An env var name with a bidi override cannot even be asked for.
    const e = await invalidManifest(
      manager.install(await folder("env", { version: "1.1.0", permissions: { env_vars: ["KEY\u202eTERCES_"] } })),
    );
    expect(e.message).toBe(
      "invalid plugin manifest: permissions.env_vars[0]: must not contain control, line-separator or bidi characters (found \\u202e)",
    );
    const opened = await manager.open("com.example.weather");
    expect(await runInstalledTool(manager, opened, "env", JSON.stringify(["WEATHER_KEY"]))).toMatch(/^(none|some:)/);
    await anotherPluginStillWorks(manager);
  });
});

describe("T66 network entries with a port are refused (a port would not be enforced)", () => {
  let a: LoopbackServer;
  let b: LoopbackServer;
  beforeAll(async () => {
    a = await startLoopbackServer();
    b = await startLoopbackServer();
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  it("T66 a host entry allows every port (as the prompt says); an entry with a port is refused at load", async () => {
    const host = createHost({
      allowPrivateCidrs: ["127.0.0.1/32"],
      logger: { error() {}, warn() {}, info() {}, debug() {}, trace() {} },
    });
    try {
      const withPort = manifestFor({ id: "com.example.port", permissions: { network: [`127.0.0.1:${a.port}`] } });
      const refused = await host.load({ manifest: withPort, wasm: hostCalls, approvals: { network: [`127.0.0.1:${a.port}`] } }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(PluginError.isInstance(refused)).toBe(true);
      expect((refused as PluginError).code).toBe("PLUGIN_INVALID_MANIFEST");
      expect((refused as Error).message).toBe(
        "invalid plugin manifest: permissions.network[0]: must not name a port: an allowed host is reachable on every port; list the host alone",
      );
      const plugin = await host.load({
        manifest: manifestFor({ permissions: { network: ["127.0.0.1"] } }),
        wasm: hostCalls,
        approvals: { network: ["127.0.0.1"] },
      });
      const other = await host.load({
        manifest: manifestFor({ id: "com.example.other", permissions: { network: ["127.0.0.1"] } }),
        wasm: hostCalls,
        approvals: { network: ["127.0.0.1"] },
      });
      const beforeA = a.requests.length;
      const beforeB = b.requests.length;
      expect(await plugin.executeTool("http", ["GET", `http://127.0.0.1:${a.port}/a`])).toEqual({ ok: true });
      expect(await plugin.executeTool("http", ["GET", `http://127.0.0.1:${b.port}/b`])).toEqual({ ok: true });
      expect(await other.executeTool("http", ["GET", `http://127.0.0.1:${b.port}/c`])).toEqual({ ok: true });
      expect(a.requests.slice(beforeA).map((r) => r.url)).toEqual(["/a"]);
      expect(b.requests.slice(beforeB).map((r) => r.url)).toEqual(["/b", "/c"]);
    } finally {
      await host.close();
    }
  });

  it("T66 T41 an upgrade that adds a port to an approved host is refused at install; the installed version keeps working", async () => {
    const { manager, prompts } = recordingManager();
    await manager.install(await folder("v1", { version: "1.0.0", permissions: { network: ["api.weather.example"], filesystem: ["d"] } }));
    expect(prompts[0]).toContain("  + network: api.weather.example\n");
    const v2 = await folder("v2", { version: "1.1.0", permissions: { network: ["api.weather.example:8443"], filesystem: ["d"] } });
    const e = await invalidManifest(manager.install(v2));
    expect(e.message).toBe(
      "invalid plugin manifest: permissions.network[0]: must not name a port: an allowed host is reachable on every port; list the host alone",
    );
    expect(prompts).toHaveLength(1);
    expect((await manager.info("com.example.weather")).version).toBe("1.0.0");
    const opened = await manager.open("com.example.weather");
    expect(await runInstalledTool(manager, opened, "write", JSON.stringify(["v.txt", "1"]))).toBe("ok");
    await anotherPluginStillWorks(manager);
  });
});

describe("T67 a manifest with a BOM is one text from install to run", () => {
  it("T67 a manifest saved with a UTF-8 BOM installs, opens and runs (manager and host parse the same text)", async () => {
    const { manager, prompts } = recordingManager();
    const src = await folder("bom", { permissions: { filesystem: ["cache"] } }, { bom: true });
    expect((await readFile(join(src, "clawft.plugin.json")))[0]).toBe(0xef);
    const result = await manager.install(src);
    expect(result.plugin.id).toBe("com.example.weather");
    expect(prompts).toHaveLength(1);
    const opened = await manager.open("com.example.weather");
    expect(opened.manifestBytes[0]).toBe(0xef); // the signed bytes are kept as they are
    expect(await runInstalledTool(manager, opened, "write", JSON.stringify(["bom.txt", "ran"]))).toBe("ok");
    expect(await runInstalledTool(manager, await manager.open("com.example.weather"), "read", JSON.stringify(["bom.txt"]))).toBe("ran");

    // The host's own folder loader reads the same file the same way.
    const host = createHost({ logger: { error() {}, warn() {}, info() {}, debug() {}, trace() {} } });
    try {
      const plugin = await host.loadFromDirectory(src, { approvals: { filesystem: ["cache"] } });
      expect(await plugin.executeTool("write", ["x.txt", "y"])).toBe("ok");
      expect(await readFile(join(src, "cache", "x.txt"), "utf8")).toBe("y");
    } finally {
      await host.close();
    }
    // Two BOMs are not JSON: refused at install, never at run.
    const two = await folder("bom2", { version: "1.1.0" });
    const text = await readFile(join(two, "clawft.plugin.json"));
    await writeFile(join(two, "clawft.plugin.json"), Buffer.concat([Buffer.from("\ufeff\ufeff"), text]));
    const e = await invalidManifest(manager.install(two));
    expect(e.message).toMatch(/^invalid plugin manifest: \(root\): invalid JSON: /);
    await anotherPluginStillWorks(manager);
  });
});
