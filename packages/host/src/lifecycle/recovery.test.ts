import { lstat, mkdir, readdir, readFile, rename, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTempDir, type TempDir } from "@clawft/test-utils";
import { PluginManager } from "./manager.js";

let tmp: TempDir;
let dataDir: string;
beforeEach(async () => {
  tmp = await createTempDir("clawft-recovery-unit-");
  dataDir = join(tmp.path, "data");
});
afterEach(async () => {
  await tmp.cleanup();
});

const quiet = { warn: () => {} };

async function pluginFolder(version: string, permissions: Record<string, unknown> = {}): Promise<string> {
  const dir = join(tmp.path, `src-${version}-${Math.random().toString(16).slice(2)}`);
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, "clawft.plugin.json"),
    JSON.stringify({
      id: "com.example.weather",
      name: "Weather",
      version,
      capabilities: ["tool"],
      wasm_module: "plugin.wasm",
      tools: ["forecast"],
      permissions: { network: [], filesystem: [], env_vars: [], shell: false, ...permissions },
    }),
  );
  const module = Buffer.alloc(64);
  Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]).copy(module);
  module.write(version, 16);
  await writeFile(join(dir, "plugin.wasm"), module);
  return dir;
}

describe("PluginManager start-up recovery (T72)", () => {
  it("T72 an installed version left aside by a crash between the two renames is put back; a finished upgrade's aside and staging are deleted", async () => {
    const m = new PluginManager({ dataDir, logger: quiet, approve: () => true });
    await m.install(await pluginFolder("1.0.0", { network: ["api.weather.example"] }));
    // The state a SIGKILL between the two renames leaves: plugins/<id> moved aside, the new
    // version still staged.
    await mkdir(join(dataDir, "tmp", "install-0123456789abcdef", "package"), { recursive: true });
    await rename(join(dataDir, "plugins", "com.example.weather"), join(dataDir, "tmp", "old-fedcba9876543210-com.example.weather"));
    const warnings: string[] = [];
    const after = new PluginManager({ dataDir, logger: { warn: (w) => warnings.push(w) } });
    expect((await after.list()).map((p) => [p.id, p.version])).toEqual([["com.example.weather", "1.0.0"]]);
    expect(warnings).toEqual(["plugin com.example.weather: an interrupted upgrade was rolled back to the installed version"]);
    expect(await readdir(join(dataDir, "tmp"))).toEqual([]);
    // The rolled-back version keeps its approval and opens without a prompt.
    expect((await after.open("com.example.weather")).approvals.network).toEqual(["api.weather.example"]);

    // After a completed swap, the aside copy is stale: deleted, the new version stays.
    await m.install(await pluginFolder("2.0.0", { network: ["api.weather.example"] }));
    await mkdir(join(dataDir, "tmp", "old-00000000000000aa-com.example.weather", "package"), { recursive: true });
    expect((await after.list()).map((p) => p.version)).toEqual(["2.0.0"]);
    expect(await readdir(join(dataDir, "tmp"))).toEqual([]);
  });

  it("T72 recovery leaves alone what it did not create, and never follows a symlink", async () => {
    const m = new PluginManager({ dataDir, logger: quiet });
    await mkdir(join(dataDir, "tmp", "install-draft"), { recursive: true });
    await writeFile(join(dataDir, "tmp", "notes.txt"), "mine");
    const outside = join(tmp.path, "outside");
    await mkdir(outside);
    await writeFile(join(outside, "precious"), "keep");
    await symlink(outside, join(dataDir, "tmp", "install-0123456789abcdef"));
    await m.revoke("com.example.nothing");
    expect((await readdir(join(dataDir, "tmp"))).sort()).toEqual(["install-0123456789abcdef", "install-draft", "notes.txt"]);
    expect(await readFile(join(outside, "precious"), "utf8")).toBe("keep");
  });
});

describe("PluginManager.remove (T71)", () => {
  it("T71 remove deletes data/<id> and every approval of the id; keepData keeps the folder", async () => {
    const m = new PluginManager({ dataDir, logger: quiet, approve: () => true });
    await m.install(await pluginFolder("1.0.0", { network: ["api.weather.example"] }));
    await mkdir(join(dataDir, "data", "com.example.weather"), { recursive: true });
    await writeFile(join(dataDir, "data", "com.example.weather", "cache.json"), "{}");
    expect(await m.remove("com.example.weather", { keepData: true })).toEqual({
      id: "com.example.weather",
      version: "1.0.0",
      dataDeleted: false,
      approvalsRevoked: 1,
    });
    expect(await readFile(join(dataDir, "data", "com.example.weather", "cache.json"), "utf8")).toBe("{}");
    expect(await m.remove("com.example.weather")).toEqual({ id: "com.example.weather", dataDeleted: true, approvalsRevoked: 0 });
    await expect(lstat(join(dataDir, "data", "com.example.weather"))).rejects.toMatchObject({ code: "ENOENT" });
    await expect(m.remove("com.example.weather")).rejects.toMatchObject({ code: "PLUGIN_NOT_FOUND" });
    expect(await m.permissions("com.example.weather")).toEqual([]);
  });
});
