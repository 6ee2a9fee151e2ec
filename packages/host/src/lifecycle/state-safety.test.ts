import { chmod, chown, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTempDir, type TempDir } from "@clawft/test-utils";
import { readJsonFile } from "./fs-util.js";
import { checkStateFile, checkStateFolder, unsafeStateReason } from "./state-safety.js";

let tmp: TempDir;
beforeEach(async () => {
  tmp = await createTempDir("clawft-safety-unit-");
});
afterEach(async () => {
  await tmp.cleanup();
});

const uid = process.getuid?.() ?? 0;

describe("state safety (T70, T75)", () => {
  it("T75 unsafeStateReason refuses group/other-writable modes and other owners, accepts 0700/0600/0755", () => {
    expect(unsafeStateReason({ uid, mode: 0o40700 }, "d")).toBeUndefined();
    expect(unsafeStateReason({ uid, mode: 0o100600 }, "f")).toBeUndefined();
    expect(unsafeStateReason({ uid, mode: 0o40755 }, "d")).toBeUndefined();
    expect(unsafeStateReason({ uid, mode: 0o40770 }, "d")).toMatch(/^d is writable by its group \(mode 0770\)/);
    expect(unsafeStateReason({ uid, mode: 0o100602 }, "f")).toMatch(/^f is writable by others \(mode 0602\)/);
    expect(unsafeStateReason({ uid: uid + 12345, mode: 0o100600 }, "f")).toMatch(/^f is owned by another user \(uid /);
  });

  it("T70 a symlinked state folder is refused; a missing one is created 0700 only when asked", async () => {
    const real = join(tmp.path, "real");
    await mkdir(real, { mode: 0o700 });
    await symlink(real, join(tmp.path, "link"));
    await expect(checkStateFolder(join(tmp.path, "link"), "state folder", true)).rejects.toMatchObject({
      code: "PLUGIN_STATE_UNSAFE",
      message: expect.stringMatching(/is a symlink/),
    });
    expect(await checkStateFolder(join(tmp.path, "missing"), "state folder", false)).toBe(false);
    expect(await checkStateFolder(join(tmp.path, "made"), "state folder", true)).toBe(true);
    await writeFile(join(tmp.path, "file"), "x");
    await expect(checkStateFolder(join(tmp.path, "file"), "state folder", false)).rejects.toMatchObject({ code: "PLUGIN_STATE_UNSAFE" });
  });

  it("T75 state files writable by others, owned by another user, or symlinked are refused when checked and when read", async () => {
    expect(uid, "chown to another user needs root").toBe(0);
    const path = join(tmp.path, "approvals.json");
    await writeFile(path, "{}", { mode: 0o600 });
    await expect(checkStateFile(path)).resolves.toBeUndefined();
    expect(await readJsonFile(path)).toEqual({});
    await chmod(path, 0o622);
    await expect(checkStateFile(path)).rejects.toMatchObject({ code: "PLUGIN_STATE_UNSAFE" });
    await expect(readJsonFile(path)).rejects.toMatchObject({ code: "PLUGIN_STATE_UNSAFE" });
    await chmod(path, 0o600);
    await chown(path, 4242, 4242);
    await expect(readJsonFile(path)).rejects.toMatchObject({ code: "PLUGIN_STATE_UNSAFE", message: expect.stringMatching(/uid 4242/) });
    await chown(path, 0, 0);
    await symlink(path, join(tmp.path, "linked.json"));
    await expect(checkStateFile(join(tmp.path, "linked.json"))).rejects.toMatchObject({ code: "PLUGIN_STATE_UNSAFE" });
    await expect(readJsonFile(join(tmp.path, "linked.json"))).rejects.toMatchObject({ code: "PLUGIN_STATE_UNSAFE" });
  });
});

describe("the compile cache folder (T86)", () => {
  it("T86 the compile cache is created 0700 and refused when it is a symlink or writable by group/others", async () => {
    const { stat } = await import("node:fs/promises");
    const { compileCacheFolder } = await import("./run.js");
    const dataDir = join(tmp.path, "data");
    await mkdir(dataDir, { mode: 0o700 });
    const cache = compileCacheFolder(dataDir);
    expect(cache).toBe(join(dataDir, "cache"));
    await expect(checkStateFolder(cache, "compile cache", true)).resolves.toBe(true);
    expect((await stat(cache)).mode & 0o777).toBe(0o700);
    await chmod(cache, 0o775);
    await expect(checkStateFolder(cache, "compile cache", true)).rejects.toMatchObject({
      code: "PLUGIN_STATE_UNSAFE",
      message: expect.stringMatching(/compile cache .* is writable by its group/) as unknown,
    });
    const elsewhere = join(tmp.path, "elsewhere");
    await mkdir(elsewhere, { mode: 0o700 });
    const linked = compileCacheFolder(join(tmp.path, "data2"));
    await mkdir(join(tmp.path, "data2"), { mode: 0o700 });
    await symlink(elsewhere, linked);
    await expect(checkStateFolder(linked, "compile cache", true)).rejects.toMatchObject({ code: "PLUGIN_STATE_UNSAFE" });
  });
});
