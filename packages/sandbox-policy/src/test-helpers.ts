/** Helpers for this package's manifest tests (not exported by the package). */
import { expect } from "vitest";
import { ClawftError } from "./errors.js";
import { ManifestError, parseManifest } from "./manifest.js";

/** The smallest valid manifest: every other field takes its default. */
export const minimal = { id: "com.example.weather", name: "Weather", version: "1.0.0", capabilities: ["tool"] };

/** The issues of a manifest that must be refused, after checking the error's class, code and message. */
export function issuesOf(input: unknown): string[] {
  try {
    parseManifest(input);
  } catch (e) {
    expect(ManifestError.isInstance(e)).toBe(true);
    expect(ClawftError.isInstance(e)).toBe(true);
    const err = e as ManifestError;
    expect(err.code).toBe("MANIFEST_INVALID");
    expect(err.message.startsWith("invalid plugin manifest: ")).toBe(true);
    return [...err.issues];
  }
  throw new Error("expected a ManifestError");
}
