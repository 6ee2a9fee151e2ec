import { posix } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { normalizeEntryPath } from "./archive.js";
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
