import { describe, expect, it } from "vitest";
import { formatLogLine } from "./options.js";

describe("formatLogLine (the default logger's line)", () => {
  it("T56 one line with the true prefix, whatever the message holds", () => {
    const line = formatLogLine("warn", "x\n[clawft error] other.plugin: forged\x1b]0;t\x07\u2067", "com.example.p");
    expect(line).toBe("[clawft warn] com.example.p: x\\n[clawft error] other.plugin: forged\\x1b]0;t\\x07\\u2067\n");
    expect(line.indexOf("\n")).toBe(line.length - 1);
  });

  it("T56 plain messages are written as they are", () => {
    expect(formatLogLine("info", "ready: 3 tools (é, 日本)", "p")).toBe("[clawft info] p: ready: 3 tools (é, 日本)\n");
  });
});
