import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { AuditEvent } from "@clawft/sandbox-policy";
import { createTempDir, type TempDir } from "@clawft/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createJsonlAuditSink, emitAudit, JSONL_AUDIT_DEFAULT_MAX_BYTES, JSONL_AUDIT_DEFAULT_MAX_FILES } from "./audit.js";

function event(i: number, path = `/tmp/file-${i}`): AuditEvent {
  return { pluginId: "com.example.rotate", function: "read-file", args: { path }, result: "ok", durationMs: 0, timestamp: i };
}

describe("createJsonlAuditSink rotation", () => {
  let dir: TempDir;
  beforeEach(async () => {
    dir = await createTempDir("clawft-audit-unit-");
  });
  afterEach(async () => {
    await dir.cleanup();
  });

  it("T53 the file is rotated at maxBytes, at most maxFiles files are kept (oldest dropped), each 0600", async () => {
    const file = join(dir.path, "audit.jsonl");
    const lineBytes = Buffer.byteLength(JSON.stringify(event(100)) + "\n");
    const sink = createJsonlAuditSink(file, { maxBytes: lineBytes * 10, maxFiles: 3 });
    for (let i = 100; i < 200; i++) sink(event(i));
    sink.close();
    expect((await readdir(dir.path)).sort()).toEqual(["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2"]);
    const timestamps: number[] = [];
    for (const name of ["audit.jsonl.2", "audit.jsonl.1", "audit.jsonl"]) {
      const st = await stat(join(dir.path, name));
      expect(st.mode & 0o777).toBe(0o600);
      expect(st.size).toBeLessThanOrEqual(lineBytes * 10);
      const lines = (await readFile(join(dir.path, name), "utf8")).trim().split("\n");
      for (const l of lines) timestamps.push((JSON.parse(l) as AuditEvent).timestamp ?? -1);
    }
    // The newest 30 events survive, in order, none torn.
    expect(timestamps).toEqual(Array.from({ length: 30 }, (_, k) => 170 + k));
  });

  it("T53 an existing file's size counts; maxFiles 1 keeps only the current file; defaults are 16 MiB and 3; bad options are refused by name", async () => {
    const file = join(dir.path, "one.jsonl");
    await writeFile(file, "x".repeat(500) + "\n", { mode: 0o600 });
    const sink = createJsonlAuditSink(file, { maxBytes: 600, maxFiles: 1 });
    sink(event(1));
    sink.close();
    expect(await readdir(dir.path)).toEqual(["one.jsonl"]);
    expect((await readFile(file, "utf8")).startsWith('{"pluginId"')).toBe(true);
    expect(JSONL_AUDIT_DEFAULT_MAX_BYTES).toBe(16 * 1024 * 1024);
    expect(JSONL_AUDIT_DEFAULT_MAX_FILES).toBe(3);
    expect(() => createJsonlAuditSink(file, { maxBytes: 0 })).toThrow(/^maxBytes must be an integer >= 1/);
    expect(() => createJsonlAuditSink(file, { maxFiles: 0 })).toThrow(/^maxFiles must be an integer from 1/);
    expect(() => createJsonlAuditSink(file, { maxFiles: 1.5 })).toThrow(/^maxFiles/);
  });

  it("T50 emitAudit cuts every string before the sink sees it (a 1 MiB path of control bytes stays a short line)", async () => {
    const file = join(dir.path, "cut.jsonl");
    const sink = createJsonlAuditSink(file);
    emitAudit(sink, event(1, "\u0001".repeat(1024 * 1024)));
    sink.close();
    const text = await readFile(file, "utf8");
    expect(text.length).toBeLessThan(3000);
    const parsed = JSON.parse(text) as AuditEvent;
    expect(parsed.args.pathBytes).toBe(1024 * 1024);
    expect(String(parsed.args.path).endsWith("... [truncated]")).toBe(true);
  });
});
