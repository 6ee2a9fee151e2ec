import { execFileSync } from "node:child_process";
import diagnostics_channel from "node:diagnostics_channel";
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { SandboxError, type FsAuditEvent } from "@clawft/sandbox-policy";
import { createTempDir, type TempDir } from "@clawft/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FS_CHANNEL_NAME, SandboxedFileSystem } from "./index.js";

let dir: TempDir;
let inside: string;
let outside: string;

beforeEach(async () => {
  dir = await createTempDir("clawft-fs-");
  inside = join(dir.path, "app");
  outside = join(dir.path, "outside");
  mkdirSync(inside);
  mkdirSync(outside);
  writeFileSync(join(outside, "secret.txt"), "OUTSIDE-SECRET");
});

afterEach(async () => {
  await dir.cleanup();
});

/** Asserts that `p` rejects with a SandboxError of `code` whose message starts with `start`. */
async function expectRefusal(p: Promise<unknown>, code: string, start?: string): Promise<SandboxError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(caught, "expected a rejection").toBeDefined();
  expect(SandboxError.isInstance(caught)).toBe(true);
  const e = caught as SandboxError;
  expect(e.code).toBe(code);
  if (start !== undefined) expect(e.message.startsWith(start), `message was: ${e.message}`).toBe(true);
  expect(e.message).not.toContain("OUTSIDE-SECRET");
  return e;
}

function sandbox(extra: Partial<Parameters<typeof SandboxedFileSystem.create>[0]> = {}) {
  return SandboxedFileSystem.create({ allowedPaths: [inside], ...extra });
}

describe("catalogue T14–T22", () => {
  it("T14 reads a file under an allowed path and gets its contents", async () => {
    writeFileSync(join(inside, "hello.txt"), "héllo wörld ✓");
    mkdirSync(join(inside, "sub"));
    writeFileSync(join(inside, "sub", "a.txt"), "nested");
    const fs = await sandbox();
    expect(await fs.readFile("hello.txt")).toBe("héllo wörld ✓");
    expect(await fs.readFile(join(inside, "hello.txt"))).toBe("héllo wörld ✓");
    expect(await fs.readFile("sub/a.txt")).toBe("nested");
    expect(await fs.readFile("./sub//../sub/./a.txt")).toBe("nested");
  });

  it("T15 reading a file outside (/etc/passwd) is refused: filesystem access denied", async () => {
    const fs = await sandbox();
    await expectRefusal(fs.readFile("/etc/passwd"), "FS_OUTSIDE_SANDBOX", "filesystem access denied");
    await expectRefusal(fs.readFile(join(outside, "secret.txt")), "FS_OUTSIDE_SANDBOX", "filesystem access denied");
  });

  it("T16 reading ../../etc/passwd from inside is refused: filesystem access denied", async () => {
    const fs = await sandbox();
    await expectRefusal(fs.readFile("../../etc/passwd"), "FS_OUTSIDE_SANDBOX", "filesystem access denied");
    await expectRefusal(fs.readFile("../outside/secret.txt"), "FS_OUTSIDE_SANDBOX", "filesystem access denied");
    await expectRefusal(fs.readFile("sub/../../outside/secret.txt"), "FS_OUTSIDE_SANDBOX", "filesystem access denied");
  });

  it("T17 reading through a symlink that points outside the sandbox is refused", async () => {
    symlinkSync(join(outside, "secret.txt"), join(inside, "link.txt"));
    symlinkSync(outside, join(inside, "linkdir"));
    symlinkSync("../outside/secret.txt", join(inside, "rel-link.txt"));
    const fs = await sandbox();
    for (const p of ["link.txt", "linkdir/secret.txt", "rel-link.txt"]) {
      await expectRefusal(fs.readFile(p), "FS_SYMLINK_ESCAPE", "symlink points outside sandbox");
    }
  });

  it("T18 writing a file under an allowed path succeeds, atomically (temp file + rename)", async () => {
    const fs = await sandbox();
    await fs.writeFile("out.txt", "first");
    expect(readFileSync(join(inside, "out.txt"), "utf8")).toBe("first");
    const inoBefore = statSync(join(inside, "out.txt")).ino;
    await fs.writeFile("out.txt", "second ✓");
    expect(readFileSync(join(inside, "out.txt"), "utf8")).toBe("second ✓");
    // A new inode proves the content was renamed into place, not rewritten in place.
    expect(statSync(join(inside, "out.txt")).ino).not.toBe(inoBefore);
    expect(readdirSync(inside).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  it("T19 writing outside is refused: filesystem access denied", async () => {
    const fs = await sandbox();
    await expectRefusal(fs.writeFile(join(outside, "x.txt"), "x"), "FS_OUTSIDE_SANDBOX", "filesystem access denied");
    await expectRefusal(fs.writeFile("../outside/x.txt", "x"), "FS_OUTSIDE_SANDBOX", "filesystem access denied");
    await expectRefusal(fs.writeFile("/tmp/clawft-should-not-exist.txt", "x"), "FS_OUTSIDE_SANDBOX", "filesystem access denied");
    expect(existsSync(join(outside, "x.txt"))).toBe(false);
    expect(existsSync("/tmp/clawft-should-not-exist.txt")).toBe(false);
  });

  it("T20 reading a file over 8 MiB is refused: file too large", async () => {
    writeFileSync(join(inside, "big.txt"), Buffer.alloc(8 * 1024 * 1024 + 1, 0x61));
    writeFileSync(join(inside, "limit.txt"), Buffer.alloc(8 * 1024 * 1024, 0x61));
    const fs = await sandbox();
    await expectRefusal(fs.readFile("big.txt"), "FS_TOO_LARGE", "file too large");
    expect((await fs.readFile("limit.txt")).length).toBe(8 * 1024 * 1024);
  });

  it("T21 with no filesystem permission, reading anything is refused: filesystem access not permitted", async () => {
    writeFileSync(join(inside, "a.txt"), "a");
    for (const fs of [await SandboxedFileSystem.create({ allowedPaths: [] }), await SandboxedFileSystem.create()]) {
      expect(fs.homeDir).toBeUndefined();
      await expectRefusal(fs.readFile(join(inside, "a.txt")), "FS_NOT_PERMITTED", "filesystem access not permitted");
      await expectRefusal(fs.readFile("a.txt"), "FS_NOT_PERMITTED", "filesystem access not permitted");
      await expectRefusal(fs.writeFile("a.txt", "x"), "FS_NOT_PERMITTED", "filesystem access not permitted");
      await expectRefusal(fs.exists("/"), "FS_NOT_PERMITTED", "filesystem access not permitted");
      await expectRefusal(fs.listDir("/"), "FS_NOT_PERMITTED", "filesystem access not permitted");
    }
  });

  it("T22 writing through a symlink that points outside is refused and nothing is written outside", async () => {
    symlinkSync(join(outside, "secret.txt"), join(inside, "link.txt"));
    symlinkSync(join(outside, "new.txt"), join(inside, "dangling.txt"));
    symlinkSync(outside, join(inside, "linkdir"));
    const fs = await sandbox();
    await expectRefusal(fs.writeFile("link.txt", "pwned"), "FS_SYMLINK_ESCAPE", "symlink points outside sandbox");
    await expectRefusal(fs.writeFile("dangling.txt", "pwned"), "FS_SYMLINK_ESCAPE", "symlink points outside sandbox");
    await expectRefusal(fs.writeFile("linkdir/new.txt", "pwned"), "FS_SYMLINK_ESCAPE", "symlink points outside sandbox");
    await expectRefusal(fs.appendFile("link.txt", "pwned"), "FS_SYMLINK_ESCAPE", "symlink points outside sandbox");
    await expectRefusal(fs.createDirAll("linkdir/made"), "FS_SYMLINK_ESCAPE", "symlink points outside sandbox");
    expect(readFileSync(join(outside, "secret.txt"), "utf8")).toBe("OUTSIDE-SECRET");
    expect(readdirSync(outside).sort()).toEqual(["secret.txt"]);
  });
});

describe("outside paths reveal nothing", () => {
  it("an outside path that is missing gets the same code and message as one that exists", async () => {
    const fs = await sandbox();
    const a = await expectRefusal(fs.readFile(join(outside, "secret.txt")), "FS_OUTSIDE_SANDBOX");
    const b = await expectRefusal(fs.readFile(join(outside, "missing.txt")), "FS_OUTSIDE_SANDBOX");
    expect(a.message).toBe(b.message);
    await expectRefusal(fs.exists(join(outside, "secret.txt")), "FS_OUTSIDE_SANDBOX", "filesystem access denied");
    await expectRefusal(fs.exists(join(outside, "missing.txt")), "FS_OUTSIDE_SANDBOX", "filesystem access denied");
  });

  it("a symlink to a missing outside target looks the same as one to an existing target", async () => {
    symlinkSync(join(outside, "secret.txt"), join(inside, "to-existing"));
    symlinkSync(join(outside, "missing.txt"), join(inside, "to-missing"));
    symlinkSync(outside, join(inside, "dirlink"));
    const fs = await sandbox();
    const pairs: [string, string][] = [
      ["to-existing", "to-missing"],
      ["dirlink/secret.txt", "dirlink/missing.txt"],
      ["dirlink/secret.txt/x", "dirlink/missing/x"],
    ];
    for (const [yes, no] of pairs) {
      const a = await expectRefusal(fs.readFile(yes), "FS_SYMLINK_ESCAPE", "symlink points outside sandbox");
      const b = await expectRefusal(fs.readFile(no), "FS_SYMLINK_ESCAPE", "symlink points outside sandbox");
      expect(a.message.replace(yes, "")).toBe(b.message.replace(no, ""));
      await expectRefusal(fs.exists(yes), "FS_SYMLINK_ESCAPE");
      await expectRefusal(fs.exists(no), "FS_SYMLINK_ESCAPE");
      await expectRefusal(fs.listDir(yes), "FS_SYMLINK_ESCAPE");
      await expectRefusal(fs.listDir(no), "FS_SYMLINK_ESCAPE");
    }
  });

  it("a sibling directory with a shared prefix (/data/app vs /data/app2) is outside", async () => {
    mkdirSync(`${inside}2`);
    writeFileSync(`${inside}2/x.txt`, "sibling");
    const fs = await sandbox();
    await expectRefusal(fs.readFile(`${inside}2/x.txt`), "FS_OUTSIDE_SANDBOX", "filesystem access denied");
    await expectRefusal(fs.readFile("../app2/x.txt"), "FS_OUTSIDE_SANDBOX", "filesystem access denied");
  });

  it("a case-changed spelling of the root is outside (no case folding)", async () => {
    writeFileSync(join(inside, "a.txt"), "a");
    const fs = await sandbox();
    await expectRefusal(fs.readFile(join(dir.path, "APP", "a.txt")), "FS_OUTSIDE_SANDBOX", "filesystem access denied");
  });
});

describe("symlinks inside the sandbox", () => {
  it("a symlink inside that points inside is followed for reads, writes and lists", async () => {
    mkdirSync(join(inside, "real"));
    writeFileSync(join(inside, "real", "f.txt"), "inside");
    symlinkSync(join(inside, "real"), join(inside, "alias"));
    symlinkSync("real/f.txt", join(inside, "f-link.txt"));
    const fs = await sandbox();
    expect(await fs.readFile("alias/f.txt")).toBe("inside");
    expect(await fs.readFile("f-link.txt")).toBe("inside");
    expect(await fs.listDir("alias")).toEqual(["f.txt"]);
    await fs.writeFile("alias/g.txt", "via alias");
    expect(readFileSync(join(inside, "real", "g.txt"), "utf8")).toBe("via alias");
    // Writing onto an inside-pointing symlink writes its target and keeps the link.
    await fs.writeFile("f-link.txt", "new");
    expect(readFileSync(join(inside, "real", "f.txt"), "utf8")).toBe("new");
    expect(await fs.exists("f-link.txt")).toBe(true);
  });

  it("a symlink loop is a clear error, not a hang", async () => {
    symlinkSync("b", join(inside, "a"));
    symlinkSync("a", join(inside, "b"));
    const fs = await sandbox();
    await expectRefusal(fs.readFile("a"), "FS_INVALID_PATH", "invalid path");
    await expectRefusal(fs.writeFile("a", "x"), "FS_INVALID_PATH", "invalid path");
  });

  it("a root given through a symlink and with a trailing slash works under both spellings", async () => {
    symlinkSync(inside, join(dir.path, "app-link"));
    writeFileSync(join(inside, "a.txt"), "a");
    const fs = await SandboxedFileSystem.create({ allowedPaths: [`${join(dir.path, "app-link")}/`] });
    expect(fs.homeDir).toBe(inside);
    expect(await fs.readFile(join(dir.path, "app-link", "a.txt"))).toBe("a");
    expect(await fs.readFile(join(inside, "a.txt"))).toBe("a");
    expect(await fs.readFile("a.txt")).toBe("a");
  });
});

describe("only regular files", () => {
  it("reading a FIFO is refused at once, without hanging", async () => {
    execFileSync("mkfifo", [join(inside, "pipe")]);
    const fs = await sandbox();
    await expectRefusal(fs.readFile("pipe"), "FS_NOT_A_FILE", "not a regular file");
    await expectRefusal(fs.writeFile("pipe", "x"), "FS_NOT_A_FILE", "not a regular file");
    await expectRefusal(fs.appendFile("pipe", "x"), "FS_NOT_A_FILE", "not a regular file");
  });

  it("a device is refused, and a symlink to one is an escape", async () => {
    symlinkSync("/dev/zero", join(inside, "zero"));
    const fs = await sandbox();
    await expectRefusal(fs.readFile("zero"), "FS_SYMLINK_ESCAPE", "symlink points outside sandbox");
    const devFs = await SandboxedFileSystem.create({ readOnlyPaths: ["/dev"] });
    await expectRefusal(devFs.readFile("/dev/zero"), "FS_NOT_A_FILE", "not a regular file");
    await expectRefusal(devFs.readFile("/dev/null"), "FS_NOT_A_FILE", "not a regular file");
  });

  it("a directory is not a file", async () => {
    mkdirSync(join(inside, "d"));
    const fs = await sandbox();
    await expectRefusal(fs.readFile("d"), "FS_NOT_A_FILE");
    await expectRefusal(fs.writeFile("d", "x"), "FS_NOT_A_FILE");
    await expectRefusal(fs.removeFile("d"), "FS_NOT_A_FILE");
    await expectRefusal(fs.writeFile(".", "x"), "FS_INVALID_PATH");
    await expectRefusal(fs.writeFile(inside, "x"), "FS_NOT_A_FILE");
  });

  it("a hard link (link count > 1) is refused for reads, writes and appends", async () => {
    writeFileSync(join(outside, "shadow"), "HARDLINKED-SECRET");
    linkSync(join(outside, "shadow"), join(inside, "hl"));
    const fs = await sandbox();
    await expectRefusal(fs.readFile("hl"), "FS_OUTSIDE_SANDBOX", "filesystem access denied");
    await expectRefusal(fs.writeFile("hl", "x"), "FS_OUTSIDE_SANDBOX", "filesystem access denied");
    await expectRefusal(fs.appendFile("hl", "x"), "FS_OUTSIDE_SANDBOX", "filesystem access denied");
    expect(readFileSync(join(outside, "shadow"), "utf8")).toBe("HARDLINKED-SECRET");
    // Removing the inside name only unlinks that name.
    await fs.removeFile("hl");
    expect(readFileSync(join(outside, "shadow"), "utf8")).toBe("HARDLINKED-SECRET");
  });
});

describe("size limits", () => {
  it("the read limit is checked while reading too (a file whose fstat size is 0 but has content)", async () => {
    // /proc files report size 0 and produce content when read: only the read-time check can catch them.
    const fs = await SandboxedFileSystem.create({ readOnlyPaths: ["/proc/self"], maxReadBytes: 16 });
    await expectRefusal(fs.readFile("status"), "FS_TOO_LARGE", "file too large");
    const big = await SandboxedFileSystem.create({ readOnlyPaths: ["/proc/self"] });
    expect(await big.readFile("status")).toMatch(/^Name:/);
  });

  it("the write limit counts UTF-8 bytes, not characters", async () => {
    const fs = await sandbox({ maxWriteBytes: 10 });
    await fs.writeFile("ok.txt", "aaaaaaaaaa");
    // 4 characters, 12 bytes.
    await expectRefusal(fs.writeFile("big.txt", "€€€€"), "FS_TOO_LARGE", "file too large");
    await expectRefusal(fs.appendFile("big.txt", "€€€€"), "FS_TOO_LARGE", "file too large");
    expect(existsSync(join(inside, "big.txt"))).toBe(false);
    await fs.writeFile("three.txt", "€€€");
    expect(readFileSync(join(inside, "three.txt"), "utf8")).toBe("€€€");
  });

  it("a custom read limit applies", async () => {
    writeFileSync(join(inside, "f.txt"), "0123456789");
    const fs = await sandbox({ maxReadBytes: 9 });
    await expectRefusal(fs.readFile("f.txt"), "FS_TOO_LARGE", "file too large");
  });
});

describe("strict UTF-8", () => {
  const cases: [string, number[]][] = [
    ["invalid byte", [0x61, 0xff, 0x62]],
    ["overlong form", [0xc0, 0xaf]],
    ["encoded surrogate", [0xed, 0xa0, 0x80]],
    ["cut-off last character", [0x61, 0xe2, 0x82]],
  ];
  for (const [name, bytes] of cases) {
    it(`a file with an ${name} fails FS_NOT_UTF8`, async () => {
      writeFileSync(join(inside, "bad.txt"), Buffer.from(bytes));
      const fs = await sandbox();
      await expectRefusal(fs.readFile("bad.txt"), "FS_NOT_UTF8", "file is not valid UTF-8");
    });
  }

  it("content with a lone surrogate cannot be written", async () => {
    const fs = await sandbox();
    await expectRefusal(fs.writeFile("x.txt", "a\uD800b"), "FS_NOT_UTF8");
  });

  it("a BOM and an empty file read back exactly", async () => {
    writeFileSync(join(inside, "bom.txt"), "\uFEFFx");
    writeFileSync(join(inside, "empty.txt"), "");
    const fs = await sandbox();
    expect(await fs.readFile("bom.txt")).toBe("\uFEFFx");
    expect(await fs.readFile("empty.txt")).toBe("");
  });
});

describe("bad inputs", () => {
  const bad: [string, unknown][] = [
    ["empty", ""],
    ["not a string", 42],
    ["undefined", undefined],
    ["an object", { toString: () => "a.txt" }],
    ["a NUL byte", "a.txt\0/../../etc/passwd"],
    ["a lone surrogate", "a\uDC00.txt"],
    ["a path over 4095 bytes", "a/".repeat(2100)],
    ["a component over 255 bytes", "x".repeat(256)],
  ];
  for (const [name, input] of bad) {
    it(`a path that is ${name} fails FS_INVALID_PATH for every operation`, async () => {
      const fs = await sandbox();
      const ops: ((p: string) => Promise<unknown>)[] = [
        (p) => fs.readFile(p),
        (p) => fs.writeFile(p, "x"),
        (p) => fs.appendFile(p, "x"),
        (p) => fs.exists(p),
        (p) => fs.listDir(p),
        (p) => fs.createDirAll(p),
        (p) => fs.removeFile(p),
      ];
      for (const op of ops) await expectRefusal(op(input as string), "FS_INVALID_PATH", "invalid path");
    });
  }

  it("a path too long once joined to the root is a clear error (ENAMETOOLONG never escapes raw)", async () => {
    const fs = await sandbox();
    const deep = Array.from({ length: 40 }, () => "d".repeat(101)).join("/");
    expect(Buffer.byteLength(deep)).toBeLessThanOrEqual(4095);
    await expectRefusal(fs.readFile(deep), "FS_INVALID_PATH", "invalid path");
    await expectRefusal(fs.createDirAll(deep), "FS_INVALID_PATH", "invalid path");
  });

  it("a trailing slash on a file operation is refused; on a directory operation it is fine", async () => {
    writeFileSync(join(inside, "f.txt"), "x");
    const fs = await sandbox();
    await expectRefusal(fs.readFile("f.txt/"), "FS_INVALID_PATH", "invalid path");
    await expectRefusal(fs.writeFile("new/", "x"), "FS_INVALID_PATH", "invalid path");
    expect(await fs.exists("f.txt/")).toBe(false);
    await fs.createDirAll("made/deeper/");
    expect(await fs.listDir("made/")).toEqual(["deeper"]);
    expect(await fs.exists("made/")).toBe(true);
  });

  it("bad options throw at create, naming the field", async () => {
    const cases: [unknown, RegExp][] = [
      [{ allowedPaths: "nope" }, /^allowedPaths must be an array/],
      [{ allowedPaths: ["relative/dir"] }, /^allowedPaths\[0\] must be an absolute path/],
      [{ allowedPaths: [inside, join(dir.path, "missing")] }, /^allowedPaths\[1\] does not exist/],
      [{ allowedPaths: [inside], readOnlyPaths: [join(outside, "secret.txt")] }, /^readOnlyPaths\[0\] must be a directory/],
      [{ allowedPaths: [""] }, /^allowedPaths\[0\] must be a non-empty string/],
      [{ allowedPaths: [inside], maxReadBytes: 0 }, /^maxReadBytes must be a positive integer/],
      [{ allowedPaths: [inside], maxWriteBytes: 1.5 }, /^maxWriteBytes must be a positive integer/],
      [{ allowedPaths: [inside], audit: "log" }, /^audit must be a function/],
    ];
    for (const [opts, re] of cases) {
      let caught: unknown;
      try {
        await SandboxedFileSystem.create(opts as Parameters<typeof SandboxedFileSystem.create>[0]);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(Error);
      expect((caught as { code: string }).code).toBe("FS_INVALID_OPTIONS");
      expect((caught as Error).message).toMatch(re);
    }
  });
});

describe("the other operations", () => {
  it("exists answers inside and never follows a way out", async () => {
    writeFileSync(join(inside, "f.txt"), "x");
    const fs = await sandbox();
    expect(await fs.exists("f.txt")).toBe(true);
    expect(await fs.exists(".")).toBe(true);
    expect(await fs.exists("nope.txt")).toBe(false);
    expect(await fs.exists("f.txt/child")).toBe(false);
  });

  it("listDir lists sorted names, and refuses files and missing paths", async () => {
    writeFileSync(join(inside, "b.txt"), "b");
    writeFileSync(join(inside, "a.txt"), "a");
    mkdirSync(join(inside, "c"));
    const fs = await sandbox();
    expect(await fs.listDir(".")).toEqual(["a.txt", "b.txt", "c"]);
    expect(await fs.listDir(inside)).toEqual(["a.txt", "b.txt", "c"]);
    await expectRefusal(fs.listDir("a.txt"), "FS_NOT_A_FILE");
    await expectRefusal(fs.listDir("missing"), "FS_NOT_FOUND", "file not found");
  });

  it("createDirAll creates missing parents, is idempotent and refuses a file in the way", async () => {
    writeFileSync(join(inside, "file"), "x");
    const fs = await sandbox();
    await fs.createDirAll("a/b/c");
    await fs.createDirAll("a/b/c");
    expect(statSync(join(inside, "a", "b", "c")).isDirectory()).toBe(true);
    await expectRefusal(fs.createDirAll("file/sub"), "FS_NOT_A_FILE");
    await expectRefusal(fs.createDirAll("../outside/x"), "FS_OUTSIDE_SANDBOX", "filesystem access denied");
  });

  it("createDirAll through a dangling symlink: outside target is an escape, inside target is not found", async () => {
    symlinkSync(join(outside, "nope"), join(inside, "out-dangling"));
    symlinkSync(join(inside, "nope"), join(inside, "in-dangling"));
    const fs = await sandbox();
    await expectRefusal(fs.createDirAll("out-dangling/x"), "FS_SYMLINK_ESCAPE", "symlink points outside sandbox");
    await expectRefusal(fs.createDirAll("out-dangling"), "FS_SYMLINK_ESCAPE", "symlink points outside sandbox");
    await expectRefusal(fs.createDirAll("in-dangling/x"), "FS_NOT_FOUND", "file not found");
    expect(readdirSync(outside)).toEqual(["secret.txt"]);
  });

  it("writing onto an inside symlink that points into a read-only path is refused", async () => {
    mkdirSync(join(inside, "ro"));
    writeFileSync(join(inside, "ro", "conf"), "conf");
    symlinkSync(join(inside, "ro", "conf"), join(inside, "conf-link"));
    const fs = await sandbox({ readOnlyPaths: [join(inside, "ro")] });
    await expectRefusal(fs.writeFile("conf-link", "x"), "FS_READ_ONLY", "path is read-only");
    expect(readFileSync(join(inside, "ro", "conf"), "utf8")).toBe("conf");
  });

  it("removeFile removes a file, a symlink itself (never its target), and refuses missing ones", async () => {
    writeFileSync(join(inside, "f.txt"), "x");
    symlinkSync(join(outside, "secret.txt"), join(inside, "link"));
    const fs = await sandbox();
    await fs.removeFile("f.txt");
    expect(existsSync(join(inside, "f.txt"))).toBe(false);
    await fs.removeFile("link");
    expect(readFileSync(join(outside, "secret.txt"), "utf8")).toBe("OUTSIDE-SECRET");
    await expectRefusal(fs.removeFile("f.txt"), "FS_NOT_FOUND", "file not found");
    await expectRefusal(fs.removeFile(join(outside, "secret.txt")), "FS_OUTSIDE_SANDBOX", "filesystem access denied");
  });

  it("appendFile appends and creates", async () => {
    const fs = await sandbox();
    await fs.appendFile("log.txt", "one\n");
    await fs.appendFile("log.txt", "two\n");
    await Promise.all(Array.from({ length: 20 }, (_, i) => fs.appendFile("log.txt", `n${i}\n`)));
    const lines = readFileSync(join(inside, "log.txt"), "utf8").trim().split("\n");
    expect(lines.slice(0, 2)).toEqual(["one", "two"]);
    expect(lines.length).toBe(22);
  });

  it("writing into a missing directory fails FS_NOT_FOUND", async () => {
    const fs = await sandbox();
    await expectRefusal(fs.writeFile("no/such/dir/f.txt", "x"), "FS_NOT_FOUND", "file not found");
    await expectRefusal(fs.readFile("missing.txt"), "FS_NOT_FOUND", "file not found");
  });
});

describe("writes", () => {
  it("keeps the mode of an existing file", async () => {
    writeFileSync(join(inside, "script.sh"), "old");
    chmodSync(join(inside, "script.sh"), 0o750);
    writeFileSync(join(inside, "private"), "old");
    chmodSync(join(inside, "private"), 0o600);
    const fs = await sandbox();
    await fs.writeFile("script.sh", "new");
    await fs.appendFile("private", "+more");
    expect(statSync(join(inside, "script.sh")).mode & 0o777).toBe(0o750);
    expect(statSync(join(inside, "private")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(inside, "private"), "utf8")).toBe("old+more");
  });

  it("removes the temp file when the write fails", async () => {
    const fs = await sandbox();
    // A directory where the file should go makes the final rename fail after the temp file is written.
    mkdirSync(join(inside, "target"));
    writeFileSync(join(inside, "target", "keep"), "k");
    await expectRefusal(fs.writeFile("target", "data"), "FS_NOT_A_FILE");
    expect(readdirSync(inside).sort()).toEqual(["target"]);
  });

  it("refuses writes under readOnlyPaths but allows reads there", async () => {
    mkdirSync(join(inside, "ro"));
    writeFileSync(join(inside, "ro", "conf.txt"), "conf");
    writeFileSync(join(outside, "shared.txt"), "shared");
    const fs = await sandbox({ readOnlyPaths: [join(inside, "ro"), outside] });
    expect(await fs.readFile("ro/conf.txt")).toBe("conf");
    expect(await fs.readFile(join(outside, "shared.txt"))).toBe("shared");
    await expectRefusal(fs.writeFile("ro/conf.txt", "x"), "FS_READ_ONLY", "path is read-only");
    await expectRefusal(fs.writeFile("ro/new.txt", "x"), "FS_READ_ONLY");
    await expectRefusal(fs.appendFile("ro/conf.txt", "x"), "FS_READ_ONLY");
    await expectRefusal(fs.removeFile("ro/conf.txt"), "FS_READ_ONLY");
    await expectRefusal(fs.createDirAll("ro/sub"), "FS_READ_ONLY");
    await expectRefusal(fs.writeFile(join(outside, "shared.txt"), "x"), "FS_READ_ONLY");
    // A symlink from the writable area into the read-only one does not make it writable.
    symlinkSync(join(inside, "ro"), join(inside, "ro-alias"));
    await expectRefusal(fs.writeFile("ro-alias/conf.txt", "x"), "FS_READ_ONLY");
    expect(readFileSync(join(inside, "ro", "conf.txt"), "utf8")).toBe("conf");
    expect(existsSync(join(inside, "ro", "sub"))).toBe(false);
  });
});

describe("audit", () => {
  it("emits one event per operation to the sink and to the clawft:fs channel", async () => {
    writeFileSync(join(inside, "a.txt"), "abc");
    const sink: FsAuditEvent[] = [];
    const fromChannel: FsAuditEvent[] = [];
    const listener = (m: unknown) => fromChannel.push(m as FsAuditEvent);
    diagnostics_channel.subscribe(FS_CHANNEL_NAME, listener);
    try {
      const fs = await sandbox({ audit: (e) => sink.push(e) });
      await fs.readFile("a.txt");
      await fs.writeFile("sub-missing/x.txt", "x").catch(() => undefined);
      await fs.readFile("/etc/passwd").catch(() => undefined);
      await fs.writeFile("b.txt", "héllo");
      await fs.exists("a.txt");
    } finally {
      diagnostics_channel.unsubscribe(FS_CHANNEL_NAME, listener);
    }
    expect(sink.length).toBe(5);
    expect(fromChannel).toEqual(sink);
    expect(sink[0]).toMatchObject({ op: "readFile", path: "a.txt", result: "ok", bytes: 3 });
    expect(sink[1]).toMatchObject({ op: "writeFile", path: "sub-missing/x.txt", result: "error", code: "FS_NOT_FOUND" });
    expect(sink[2]).toMatchObject({ op: "readFile", path: "(outside)", result: "refused", code: "FS_OUTSIDE_SANDBOX" });
    expect(sink[3]).toMatchObject({ op: "writeFile", path: "b.txt", result: "ok", bytes: 6 });
    expect(sink[4]).toMatchObject({ op: "exists", path: "a.txt", result: "ok" });
    for (const e of sink) expect(e.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("a throwing sink does not change the outcome", async () => {
    writeFileSync(join(inside, "a.txt"), "abc");
    const fs = await sandbox({
      audit: () => {
        throw new Error("sink broke");
      },
    });
    expect(await fs.readFile("a.txt")).toBe("abc");
  });

  it("two instances share nothing", async () => {
    const other = await createTempDir("clawft-fs-other-");
    try {
      writeFileSync(join(other.path, "o.txt"), "other");
      const a = await sandbox();
      const b = await SandboxedFileSystem.create({ allowedPaths: [other.path] });
      expect(await b.readFile("o.txt")).toBe("other");
      await expectRefusal(a.readFile(join(other.path, "o.txt")), "FS_OUTSIDE_SANDBOX", "filesystem access denied");
      expect(a.homeDir).toBe(inside);
      expect(b.homeDir).toBe(other.path);
    } finally {
      await other.cleanup();
    }
  });
});
