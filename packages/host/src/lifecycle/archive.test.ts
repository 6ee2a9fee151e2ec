import { posix } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ArchivePathSet, normalizeEntryPath } from "./archive.js";
import { LifecycleError } from "./errors.js";

describe("normalizeEntryPath", () => {
  it("keeps ordinary relative paths, normalised", () => {
    expect(normalizeEntryPath("package/clawft.plugin.json")).toBe("package/clawft.plugin.json");
    expect(normalizeEntryPath("./a//b/./c/")).toBe("a/b/c");
    expect(normalizeEntryPath("package/")).toBe("package");
  });

  it.each([
    "../x",
    "a/../../x",
    "a/..",
    "/etc/passwd",
    "C:/Windows/x",
    "C:x",
    "a\\..\\x",
    "\\\\server\\share",
    "a\u0000b",
    "a\nb",
    `${"a/".repeat(17)}x`,
  ])("refuses %j", (path) => {
    let error: unknown;
    try {
      normalizeEntryPath(path);
    } catch (e) {
      error = e;
    }
    expect(LifecycleError.isInstance(error)).toBe(true);
    expect((error as LifecycleError).code).toBe("PLUGIN_ARCHIVE_INVALID");
    expect((error as LifecycleError).message.startsWith("invalid plugin archive: ")).toBe(true);
  });

  it("never returns a path that leaves the target folder (property)", () => {
    const segment = fc.oneof(
      fc.constantFrom("..", ".", "", "a", "b.wasm", "..a", "a..", "...", "C:", "\\", "/"),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 12 }), fc.boolean(), (segments, leadingSlash) => {
        const path = `${leadingSlash ? "/" : ""}${segments.join("/")}`;
        let out: string;
        try {
          out = normalizeEntryPath(path);
        } catch (error) {
          expect(LifecycleError.isInstance(error)).toBe(true);
          return;
        }
        const target = posix.join("/base/target", out);
        expect(target === "/base/target" || target.startsWith("/base/target/")).toBe(true);
        expect(out.split("/")).not.toContain("..");
        expect(out.includes("\\")).toBe(false);
        expect(out.startsWith("/")).toBe(false);
        // Normalising is idempotent.
        if (out !== "") expect(normalizeEntryPath(out)).toBe(out);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("ArchivePathSet (T74)", () => {
  const conflictOf = (entries: [string, "file" | "directory"][]) => {
    const set = new ArchivePathSet();
    for (const [path, kind] of entries) {
      const conflict = set.add(path, kind);
      if (conflict) return conflict;
    }
    return undefined;
  };

  it("T74 refuses a/b then a, a then a/b, duplicates, file-vs-folder and case- or Unicode-only twins", () => {
    expect(conflictOf([["a/b", "file"], ["a", "file"]])).toBe('path is both a file and a directory: "a"');
    expect(conflictOf([["a", "file"], ["a/b", "file"]])).toBe('path is both a file and a directory: "a"');
    expect(conflictOf([["a", "file"], ["a", "file"]])).toBe('duplicate entry: "a"');
    expect(conflictOf([["a", "directory"], ["a", "file"]])).toBe('path is both a file and a directory: "a"');
    expect(conflictOf([["a", "file"], ["a", "directory"]])).toBe('path is both a file and a directory: "a"');
    expect(conflictOf([["x/README", "file"], ["x/readme", "file"]])).toBe(
      'paths differ only in case or Unicode form: "x/README" and "x/readme"',
    );
    expect(conflictOf([["Docs/a", "file"], ["docs/b", "file"]])).toBe('paths differ only in case or Unicode form: "Docs" and "docs"');
    expect(conflictOf([["caf\u00e9", "file"], ["cafe\u0301", "file"]])).toMatch(/^paths differ only in case or Unicode form/);
  });

  it("T74 accepts a folder named twice and files side by side", () => {
    expect(conflictOf([["a", "directory"], ["a", "directory"], ["a/b", "file"], ["a/c/d", "file"], ["a/c", "directory"]])).toBeUndefined();
  });

  it("T74 no sequence of adds ever yields two entries that would land on one path of a case-insensitive disk (property)", () => {
    const segment = fc.constantFrom("a", "A", "b", "B", "c");
    const path = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join("/"));
    fc.assert(
      fc.property(fc.array(fc.tuple(path, fc.constantFrom("file" as const, "directory" as const)), { maxLength: 8 }), (entries) => {
        const set = new ArchivePathSet();
        const accepted: [string, "file" | "directory"][] = [];
        for (const [p, kind] of entries) if (set.add(p, kind) === undefined) accepted.push([p, kind]);
        const files = accepted.filter(([, k]) => k === "file").map(([p]) => p.toLowerCase());
        expect(new Set(files).size).toBe(files.length);
        for (const f of files) for (const g of files) expect(g.startsWith(`${f}/`)).toBe(false);
      }),
    );
  });
});
