import { describe, expect, it } from "vitest";
import { AUDIT_STRING_MAX_BYTES, boundAuditEvent, type AuditEvent } from "./audit.js";
import { TRUNCATION_SUFFIX } from "./log.js";

function event(args: AuditEvent["args"], extra: Partial<AuditEvent> = {}): AuditEvent {
  return { pluginId: "com.example.audit", function: "read-file", args, result: "refused", durationMs: 0, ...extra };
}

describe("boundAuditEvent", () => {
  it("T50 every string in an event is cut to 256 bytes, the original byte length recorded next to it", () => {
    const path = "/tmp/" + "\u0001".repeat(1_000_000);
    const bounded = boundAuditEvent(event({ path, bytes: 3 }, { code: "X".repeat(5000), pluginId: "p".repeat(300) }));
    expect(AUDIT_STRING_MAX_BYTES).toBe(256);
    expect(bounded.args.path).toBe(path.slice(0, 256) + TRUNCATION_SUFFIX);
    expect(bounded.args.pathBytes).toBe(1_000_005);
    expect(bounded.args.bytes).toBe(3);
    expect(bounded.code).toBe("X".repeat(256) + TRUNCATION_SUFFIX);
    expect(bounded.pluginId).toBe("p".repeat(256) + TRUNCATION_SUFFIX);
    // The whole JSON line stays small even when every control byte is escaped to 6.
    expect(JSON.stringify(bounded).length).toBeLessThan(3000);
  });

  it("T50 a cut never splits a character and counts UTF-8 bytes; a length already in the summary is kept", () => {
    const euro = "\u20ac".repeat(100); // 300 bytes
    const bounded = boundAuditEvent(event({ method: euro, methodBytes: 12345, name: "\u{1F600}".repeat(70) }));
    expect(bounded.args.method).toBe("\u20ac".repeat(85) + TRUNCATION_SUFFIX);
    expect(bounded.args.methodBytes).toBe(12345);
    expect(bounded.args.name).toBe("\u{1F600}".repeat(64) + TRUNCATION_SUFFIX);
    expect(bounded.args.nameBytes).toBe(280);
  });

  it("T50 an event with short strings is returned unchanged (same object)", () => {
    const e = event({ path: "/tmp/a.txt", bytes: 5 }, { code: "FS_OUTSIDE_SANDBOX" });
    expect(boundAuditEvent(e)).toBe(e);
  });
});
