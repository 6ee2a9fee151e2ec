import { execFileSync } from "node:child_process";
import { readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTempDir, type TempDir } from "@clawft/test-utils";
import { LifecycleError, PluginManager, type LifecycleConsentRequest } from "@clawft/host";
import { manifestFor, newKeyPair, pluginFiles, tree, writePluginFolder } from "./helpers.js";

let tmp: TempDir;
let dataDir: string;

beforeEach(async () => {
  tmp = await createTempDir("clawft-consent-");
  dataDir = join(tmp.path, "data");
});
afterEach(async () => {
  await tmp.cleanup();
});

const quiet = { warn: () => {} };

function folderWith(name: string, manifest: Record<string, unknown>): Promise<string> {
  return writePluginFolder(join(tmp.path, "src", name), pluginFiles({ manifest: manifestFor(manifest) }));
}

async function refusal(promise: Promise<unknown>): Promise<LifecycleError> {
  const error = await promise.then(
    () => {
      throw new Error("expected PLUGIN_CONSENT_DENIED, but the call succeeded");
    },
    (e: unknown) => e,
  );
  expect(LifecycleError.isInstance(error), String(error)).toBe(true);
  expect((error as LifecycleError).code).toBe("PLUGIN_CONSENT_DENIED");
  expect((error as LifecycleError).message.startsWith("consent denied")).toBe(true);
  return error as LifecycleError;
}

describe("consent", () => {
  it("T39 a plugin that asks for shell: true is refused unless the user approves", async () => {
    const folder = await folderWith("shell", { permissions: { shell: true }, description: "Runs git for you." });
    const asked: LifecycleConsentRequest[] = [];
    const denying = new PluginManager({ dataDir, logger: quiet, approve: (r) => (asked.push(r), false) });
    await refusal(denying.install(folder));
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({
      pluginId: "com.example.weather",
      version: "1.0.0",
      reason: "install",
      description: "Runs git for you.",
      permissions: { shell: true, network: [], filesystem: [], env_vars: [] },
    });
    expect(await denying.list()).toEqual([]);
    expect(await tree(join(dataDir, "plugins"))).toEqual([]);
    expect(await denying.permissions("com.example.weather")).toEqual([]);

    const approving = new PluginManager({ dataDir, logger: quiet, approve: () => true });
    const result = await approving.install(folder);
    expect(result.newlyApproved.shell).toBe(true);
    const [approval] = await approving.permissions("com.example.weather");
    expect(approval?.permissions.shell).toBe(true);
  });

  it("T39 without an approve callback a permission request is refused (deny by default)", async () => {
    const folder = await folderWith("shell", { permissions: { shell: true } });
    const e = await refusal(new PluginManager({ dataDir, logger: quiet }).install(folder));
    expect(e.message).toContain("no approval callback");
  });

  it("T39 an approve callback that throws is a refusal, not a grant", async () => {
    const folder = await folderWith("shell", { permissions: { shell: true } });
    const m = new PluginManager({
      dataDir,
      logger: quiet,
      approve: () => {
        throw new Error("prompt crashed");
      },
    });
    await refusal(m.install(folder));
    expect(await m.list()).toEqual([]);
  });

  it("T40 a plugin that asks for env vars is asked about before its first run", async () => {
    const folder = await folderWith("env", { permissions: { env_vars: ["WEATHER_API_KEY"] } });
    const asked: LifecycleConsentRequest[] = [];
    const m = new PluginManager({ dataDir, logger: quiet, approve: (r) => (asked.push(r), true) });
    await m.install(folder);
    expect(asked.map((r) => [r.reason, r.permissions.env_vars])).toEqual([["install", ["WEATHER_API_KEY"]]]);
    // Approved: opening it for a run asks nothing more.
    const opened = await m.open("com.example.weather");
    expect(opened.approvals.env_vars).toEqual(["WEATHER_API_KEY"]);
    expect(asked).toHaveLength(1);

    // After revoke, the next run asks again before anything runs, and a refusal stops it.
    expect(await m.revoke("com.example.weather")).toBe(1);
    await refusal(m.open("com.example.weather", { approve: (r) => (asked.push(r), false) }));
    expect(asked.at(-1)).toMatchObject({ reason: "first-run", permissions: { env_vars: ["WEATHER_API_KEY"] } });
    const again = await m.open("com.example.weather", { approve: (r) => (asked.push(r), true) });
    expect(again.approvals.env_vars).toEqual(["WEATHER_API_KEY"]);
    expect(asked).toHaveLength(3);
  });

  it("T41 an upgrade that adds a network permission asks again, for the new permission only", async () => {
    const asked: LifecycleConsentRequest[] = [];
    const m = new PluginManager({ dataDir, logger: quiet, approve: (r) => (asked.push(r), true) });
    await m.install(
      await folderWith("v1", { version: "1.0.0", permissions: { network: ["api.weather.example"], env_vars: ["WEATHER_API_KEY"] } }),
    );
    const upgrade = await m.install(
      await folderWith("v2", {
        version: "1.1.0",
        permissions: { network: ["api.weather.example", "tiles.weather.example"], env_vars: ["WEATHER_API_KEY"] },
      }),
    );
    expect(asked).toHaveLength(2);
    expect(asked[1]).toMatchObject({
      reason: "upgrade",
      version: "1.1.0",
      previousVersion: "1.0.0",
      permissions: { network: ["tiles.weather.example"], filesystem: [], env_vars: [], shell: false },
      alreadyApproved: { network: ["api.weather.example"], env_vars: ["WEATHER_API_KEY"] },
    });
    expect(upgrade.newlyApproved.network).toEqual(["tiles.weather.example"]);
    const v11 = (await m.permissions("com.example.weather")).find((a) => a.version === "1.1.0");
    expect(v11?.permissions.network).toEqual(["api.weather.example", "tiles.weather.example"]);

    // An upgrade that adds nothing asks nothing.
    await m.install(
      await folderWith("v3", {
        version: "1.2.0",
        permissions: { network: ["tiles.weather.example"], env_vars: ["WEATHER_API_KEY"] },
      }),
    );
    expect(asked).toHaveLength(2);
  });

  it("T41 refusing an upgrade's new permission keeps the installed version and its approvals", async () => {
    const m = new PluginManager({ dataDir, logger: quiet, approve: () => true });
    await m.install(await folderWith("v1", { version: "1.0.0", permissions: { network: ["api.weather.example"] } }));
    const v2 = await folderWith("v2", { version: "2.0.0", permissions: { network: ["api.weather.example", "*"] } });
    const asked: LifecycleConsentRequest[] = [];
    await refusal(m.install(v2, { approve: (r) => (asked.push(r), false) }));
    expect(asked[0]?.permissions.network).toEqual(["*"]);
    expect((await m.info("com.example.weather")).version).toBe("1.0.0");
    expect((await m.open("com.example.weather")).approvals.network).toEqual(["api.weather.example"]);
  });

  it("approvals are stored per plugin id and version in a 0600 file written atomically", async () => {
    const m = new PluginManager({ dataDir, logger: quiet, approve: () => true });
    await m.install(await folderWith("v1", { permissions: { filesystem: ["data"], env_vars: ["A"] } }));
    const file = join(dataDir, "approvals.json");
    const stored = JSON.parse(await readFile(file, "utf8")) as {
      version: number;
      plugins: Record<string, Record<string, { permissions: unknown }>>;
    };
    expect(stored.version).toBe(2);
    expect(stored.plugins["com.example.weather"]?.["1.0.0"]?.permissions).toEqual({
      network: [],
      filesystem: ["data"],
      env_vars: ["A"],
      shell: false,
    });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readdir(dataDir)).filter((n) => n.endsWith(".tmp"))).toEqual([]);
    // A second manager (another process) reads the same approvals.
    const other = new PluginManager({ dataDir, logger: quiet });
    expect((await other.open("com.example.weather")).approvals.env_vars).toEqual(["A"]);
  });

  it("a corrupt approvals file is an error, never 'nothing approved' or 'everything approved'", async () => {
    const m = new PluginManager({ dataDir, logger: quiet, approve: () => true });
    await m.install(await folderWith("v1", { permissions: { env_vars: ["A"] } }));
    await writeFile(join(dataDir, "approvals.json"), '{"version":1,"plugins":{"com.example.weather":');
    const error = await m.open("com.example.weather").catch((e: unknown) => e);
    expect(LifecycleError.isInstance(error)).toBe(true);
    expect((error as LifecycleError).code).toBe("PLUGIN_STATE_CORRUPT");
    // A FIFO in its place is refused too, without hanging.
    await rm(join(dataDir, "approvals.json"));
    execFileSync("mkfifo", [join(dataDir, "approvals.json")]);
    const fifo = await m.open("com.example.weather").catch((e: unknown) => e);
    expect((fifo as LifecycleError).code).toBe("PLUGIN_STATE_CORRUPT");
  });

  it("revoke takes one version or all; lifecycle events go to the clawft:lifecycle channel", async () => {
    const events: { type: string; pluginId: string; version?: string }[] = [];
    const onEvent = (e: unknown) => events.push(e as (typeof events)[number]);
    subscribe("clawft:lifecycle", onEvent);
    try {
      const m = new PluginManager({ dataDir, logger: quiet, approve: () => true });
      await m.install(await folderWith("v1", { version: "1.0.0", permissions: { env_vars: ["A"] } }));
      await m.install(await folderWith("v2", { version: "1.1.0", permissions: { env_vars: ["A", "B"] } }));
      expect((await m.permissions("com.example.weather")).map((a) => a.version).sort()).toEqual(["1.0.0", "1.1.0"]);
      expect(await m.revoke("com.example.weather", "1.0.0")).toBe(1);
      expect((await m.permissions("com.example.weather")).map((a) => a.version)).toEqual(["1.1.0"]);
      expect(await m.revoke("com.example.weather")).toBe(1);
      expect(await m.revoke("com.example.weather")).toBe(0);
      expect(events.map((e) => [e.type, e.version ?? null])).toEqual([
        ["consent-granted", "1.0.0"],
        ["install", "1.0.0"],
        ["consent-granted", "1.1.0"],
        ["install", "1.1.0"],
        ["revoke", "1.0.0"],
        ["revoke", null],
        ["revoke", null],
      ]);
    } finally {
      unsubscribe("clawft:lifecycle", onEvent);
    }
  });

  it("a registry-signed plugin's consent is still asked (a signature is not consent)", async () => {
    const signer = newKeyPair();
    const files = pluginFiles({ manifest: manifestFor({ permissions: { shell: true } }), signWith: signer.privateKey });
    const folder = await writePluginFolder(join(tmp.path, "src", "signed"), files);
    const m = new PluginManager({ dataDir, logger: quiet, trustedKeys: [signer.publicPem] });
    await refusal(m.install(folder));
  });
});
