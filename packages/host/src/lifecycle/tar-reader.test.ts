import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { create as tarCreate, Header } from "tar";
import { describe, expect, it } from "vitest";
import { createTempDir } from "@clawft/test-utils";
import { readTarStream, TarFormatError, type TarEntry } from "./tar-reader.js";

/** Reads every entry, data included, as plain values. */
function entriesOf(stream: Buffer) {
  const out: { path: string; type: string; size: number; text: string }[] = [];
  readTarStream(stream, (e: TarEntry) => out.push({ path: e.path, type: e.type, size: e.size, text: e.data().toString("utf8") }));
  return out;
}

function header(path: string, size: number, type: "File" | "ExtendedHeader" = "File"): Buffer {
  const block = Buffer.alloc(512);
  new Header({ path, type, size, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 }).encode(block, 0);
  return block;
}

describe("readTarStream (the runtime tar reader, checked against the tar package's own output)", () => {
  it("reads what tar writes: files, folders, a ustar prefix path and a pax long path", async () => {
    const dir = await createTempDir("tar-reader-");
    try {
      const longFolder = `${"d".repeat(120)}/${"e".repeat(60)}`;
      const longName = "f".repeat(140);
      await mkdir(join(dir.path, "src", "package", longFolder), { recursive: true });
      await writeFile(join(dir.path, "src", "package", "a.txt"), "alpha");
      await writeFile(join(dir.path, "src", "package", longFolder, "b.txt"), "beta");
      await writeFile(join(dir.path, "src", "package", longName), "gamma");
      const file = join(dir.path, "out.tar");
      await tarCreate({ cwd: join(dir.path, "src"), file, portable: true }, ["package"]);
      const got = entriesOf(await readFile(file));
      const files = Object.fromEntries(got.filter((e) => e.type === "0").map((e) => [e.path, e.text]));
      expect(files).toEqual({
        "package/a.txt": "alpha",
        [`package/${longFolder}/b.txt`]: "beta",
        [`package/${longName}`]: "gamma",
      });
      expect(got.some((e) => e.type === "5" && e.path === "package/")).toBe(true);
    } finally {
      await dir.cleanup();
    }
  });

  it("refuses a header whose checksum does not match", () => {
    const block = header("a.txt", 0);
    block[0] = "b".charCodeAt(0);
    expect(() => entriesOf(Buffer.concat([block, Buffer.alloc(1024)]))).toThrow(/^bad header checksum at byte 0$/);
  });

  it("refuses a stream without its end-of-archive marker, and an entry whose data is cut", () => {
    const data = Buffer.alloc(512, 0x61);
    expect(() => entriesOf(Buffer.concat([header("a.txt", 512), data]))).toThrow(TarFormatError);
    expect(() => entriesOf(Buffer.concat([header("a.txt", 2048), data]))).toThrow(/^truncated entry at byte 0$/);
  });

  it("tells the declared size before any data is read, so a caller can refuse a huge entry from its header", () => {
    const sizes: number[] = [];
    expect(() =>
      readTarStream(Buffer.concat([header("a.txt", 2 ** 40), Buffer.alloc(1024)]), (e) => {
        sizes.push(e.size);
        throw new RangeError("too large");
      }),
    ).toThrow(RangeError);
    expect(sizes).toEqual([2 ** 40]);
  });

  it("refuses a pax record that is malformed, and an extended header that names no entry", () => {
    const record = Buffer.from("99 path=x\n");
    const pax = Buffer.concat([header("PaxHeader", record.length, "ExtendedHeader"), record, Buffer.alloc(512 - record.length)]);
    expect(() => entriesOf(Buffer.concat([pax, header("a.txt", 0), Buffer.alloc(1024)]))).toThrow(/^bad pax header$/);
    const good = Buffer.from("14 path=x.txt\n");
    const named = Buffer.concat([header("PaxHeader", good.length, "ExtendedHeader"), good, Buffer.alloc(512 - good.length)]);
    expect(entriesOf(Buffer.concat([named, header("a.txt", 0), Buffer.alloc(1024)]))[0]?.path).toBe("x.txt");
    expect(() => entriesOf(Buffer.concat([named, Buffer.alloc(1024)]))).toThrow(/^extended header names no entry$/);
  });
});
