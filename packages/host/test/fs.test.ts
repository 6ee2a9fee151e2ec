import { mkdir, readFile, readdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditEvent, type Plugin } from "@clawft/host";
import { createTempDir, type TempDir } from "@clawft/test-utils";
import { fixture, manifest, rejection, testHost, type TestHost } from "./helpers.js";

const MiB = 1024 * 1024;
const CANARY = "CANARY-outside-the-sandbox-7f3a";

let t: TestHost;
let root: TempDir;
let outside: TempDir;
let plugin: Plugin;

beforeAll(async () => {
  root = await createTempDir("clawft-host-fs-");
  outside = await createTempDir("clawft-host-outside-");
  await writeFile(join(outside.path, "secret.txt"), CANARY);
  await writeFile(join(root.path, "hello.txt"), "hello from inside ✓");
  await symlink(join(outside.path, "secret.txt"), join(root.path, "escape-link"));
  await symlink(outside.path, join(root.path, "escape-dir"));
  t = testHost();
  const filesystem = [root.path];
  plugin = await t.host.load({
    // The read tool returns the file as its result: T20 returns a whole 8 MiB file, so the
    // result limit is raised above its 1 MiB default (T54).
    manifest: manifest("test.fs", { filesystem, resources: { max_result_bytes: 9 * 1024 * 1024 } }),
    wasm: await fixture("host-calls"),
    approvals: { filesystem },
  });
});

afterAll(async () => {
  await t.host.close();
  await root.cleanup();
  await outside.cleanup();
});

async function call(p: Plugin, tool: "read" | "write", params: unknown[]) {
  const before = t.events.length;
  let value: unknown;
  let error: (Error & { code?: string }) | undefined;
  try {
    value = await p.executeTool(tool, params);
  } catch (e) {
    error = e as Error & { code?: string };
  }
  expect(t.events.length).toBe(before + 1);
  const event = t.events[before] as AuditEvent;
  expect(event.function).toBe(tool === "read" ? "read-file" : "write-file");
  expect(JSON.stringify(event)).not.toContain(CANARY);
  return { value, error, event };
}

function expectRefused(r: { error?: Error & { code?: string }; event: AuditEvent }, message: string, code: string) {
  expect(r.error?.code).toBe("PLUGIN_TOOL_ERROR");
  expect(r.error?.message.startsWith(message)).toBe(true);
  expect(r.error?.message).not.toContain(CANARY);
  expect(r.event.result).toBe("refused");
  expect(r.event.code).toBe(code);
}

describe("read-file / write-file through a real component", () => {
  it("T14 reads a file under an allowed path", async () => {
    const r = await call(plugin, "read", [join(root.path, "hello.txt")]);
    expect(r.value).toBe("hello from inside ✓");
    expect(r.event).toMatchObject({ result: "ok", args: { path: join(root.path, "hello.txt") } });
    expect(r.event.args.bytes).toBe(Buffer.byteLength("hello from inside ✓"));
    // A relative path resolves against the first grant.
    const rel = await call(plugin, "read", ["hello.txt"]);
    expect(rel.value).toBe("hello from inside ✓");
  });

  it("T15 reading /etc/passwd is refused", async () => {
    expectRefused(await call(plugin, "read", ["/etc/passwd"]), "filesystem access denied", "FS_OUTSIDE_SANDBOX");
  });

  it("T16 reading ../../etc/passwd from inside is refused", async () => {
    expectRefused(await call(plugin, "read", ["../../etc/passwd"]), "filesystem access denied", "FS_OUTSIDE_SANDBOX");
    expectRefused(
      await call(plugin, "read", [join(root.path, "../../etc/passwd")]),
      "filesystem access denied",
      "FS_OUTSIDE_SANDBOX",
    );
  });

  it("T17 reading through a symlink that points outside is refused (no outside data)", async () => {
    expectRefused(await call(plugin, "read", ["escape-link"]), "symlink points outside sandbox", "FS_SYMLINK_ESCAPE");
    expectRefused(
      await call(plugin, "read", ["escape-dir/secret.txt"]),
      "symlink points outside sandbox",
      "FS_SYMLINK_ESCAPE",
    );
  });

  it("T18 writes a file under an allowed path, atomically (no temp file left)", async () => {
    const r = await call(plugin, "write", ["out/../written.txt", "written by the plugin ✓"]);
    expect(r.value).toBe("ok");
    expect(r.event).toMatchObject({ result: "ok", args: { bytes: Buffer.byteLength("written by the plugin ✓") } });
    expect(JSON.stringify(r.event)).not.toContain("written by the plugin");
    expect(await readFile(join(root.path, "written.txt"), "utf8")).toBe("written by the plugin ✓");
    const names = await readdir(root.path);
    expect(names.filter((n) => n !== "hello.txt" && n !== "escape-link" && n !== "escape-dir" && n !== "written.txt" && n !== "big.txt" && n !== "huge.txt" && n !== "big-written.txt")).toEqual([]);
  });

  it("T19 writing outside is refused and nothing is created", async () => {
    expectRefused(
      await call(plugin, "write", [join(outside.path, "planted.txt"), "x"]),
      "filesystem access denied",
      "FS_OUTSIDE_SANDBOX",
    );
    expect(await readdir(outside.path)).toEqual(["secret.txt"]);
  });

  it("T20 reading a file over 8 MiB is refused; exactly 8 MiB comes through whole", async () => {
    await writeFile(join(root.path, "huge.txt"), "a".repeat(8 * MiB + 1));
    expectRefused(await call(plugin, "read", ["huge.txt"]), "file too large", "FS_TOO_LARGE");
    await writeFile(join(root.path, "big.txt"), "b".repeat(8 * MiB));
    const r = await call(plugin, "read", ["big.txt"]);
    expect(typeof r.value).toBe("string");
    expect((r.value as string).length).toBe(8 * MiB);
    expect(r.value).toBe("b".repeat(8 * MiB));
  });

  it("a 4 MiB write comes through whole (large payload across the worker wire)", async () => {
    const content = "é".repeat(2 * MiB); // 4 MiB of UTF-8
    const r = await call(plugin, "write", ["big-written.txt", content]);
    expect(r.value).toBe("ok");
    expect(await readFile(join(root.path, "big-written.txt"), "utf8")).toBe(content);
  });

  it("T21 a plugin without filesystem permission is refused for anything", async () => {
    const p = await t.host.load({ manifest: manifest("test.fs.none"), wasm: await fixture("host-calls") });
    expectRefused(
      await call(p, "read", [join(root.path, "hello.txt")]),
      "filesystem access not permitted",
      "FS_NOT_PERMITTED",
    );
    expectRefused(await call(p, "write", ["x.txt", "x"]), "filesystem access not permitted", "FS_NOT_PERMITTED");
    await p.close();
  });

  it("T22 writing through a symlink that points outside is refused; the outside file is unchanged", async () => {
    expectRefused(
      await call(plugin, "write", ["escape-link", "overwritten"]),
      "symlink points outside sandbox",
      "FS_SYMLINK_ESCAPE",
    );
    expectRefused(
      await call(plugin, "write", ["escape-dir/new.txt", "planted"]),
      "symlink points outside sandbox",
      "FS_SYMLINK_ESCAPE",
    );
    expect(await readFile(join(outside.path, "secret.txt"), "utf8")).toBe(CANARY);
    expect(await readdir(outside.path)).toEqual(["secret.txt"]);
  });

  it("relative filesystem grants resolve inside the plugin folder (loadFromDirectory)", async () => {
    const dir = await createTempDir("clawft-host-plugin-");
    try {
      await writeFile(join(dir.path, "plugin.wasm"), await fixture("host-calls"));
      const m = manifest("test.fs.dir", { filesystem: ["data"] });
      await writeFile(join(dir.path, "clawft.plugin.json"), JSON.stringify({ ...m, wasm_module: "plugin.wasm" }));
      const p = await t.host.loadFromDirectory(dir.path, { approvals: { filesystem: ["data"] } });
      await expect(p.executeTool("write", ["note.txt", "kept"])).resolves.toBe("ok");
      expect(await readFile(join(dir.path, "data", "note.txt"), "utf8")).toBe("kept");
      const err = await rejection(p.executeTool("read", ["../clawft.plugin.json"]));
      expect(err.message.startsWith("filesystem access denied")).toBe(true);
      await p.close();
      // A relative grant that climbs out of the plugin folder is refused at load.
      await writeFile(
        join(dir.path, "clawft.plugin.json"),
        JSON.stringify({ ...manifest("test.fs.dir2", { filesystem: ["../.."] }), wasm_module: "plugin.wasm" }),
      );
      const refused = await rejection(t.host.loadFromDirectory(dir.path, { approvals: { filesystem: ["../.."] } }));
      expect(refused.code).toBe("PLUGIN_INVALID_MANIFEST");
      // wasm_module must stay inside the folder.
      await mkdir(join(dir.path, "sub"));
      await writeFile(
        join(dir.path, "sub", "clawft.plugin.json"),
        JSON.stringify({ ...manifest("test.fs.dir3"), wasm_module: "../plugin.wasm" }),
      );
      const outsideModule = await rejection(t.host.loadFromDirectory(join(dir.path, "sub")));
      expect(outsideModule.code).toBe("PLUGIN_INVALID_MANIFEST");
    } finally {
      await dir.cleanup();
    }
  });
});
