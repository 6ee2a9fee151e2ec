import { describe, expect, it } from "vitest";
import { main } from "../examples/custom-host.js";

describe("examples/custom-host.ts", () => {
  it("runs: a host composed from the individual packages enforces each piece's settings", async () => {
    const lines: string[] = [];
    const events = await main((l) => lines.push(l));
    const text = lines.join("\n");
    expect(text).toContain('read config: {"mode":"demo"}');
    expect(text).toContain("write config: path is read-only");
    expect(text).toContain("http: network access not permitted");
    expect(text).toContain("env: some:hello from a fixed environment");
    expect(text).toContain("note on disk: written through the custom fs");
    expect(events.map((e) => e.function)).toEqual(["read-file", "write-file", "write-file", "http-request", "get-env", "log"]);
  });
});
