import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditEvent, type Plugin } from "@clawft/host";
import { fixture, manifest, testHost, type TestHost } from "./helpers.js";

const SECRET_VALUE = "sk-live-should-never-leak-1234";

let t: TestHost;
let plugin: Plugin;
const saved: Record<string, string | undefined> = {};

function setEnv(name: string, value: string | undefined): void {
  if (!(name in saved)) saved[name] = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

beforeAll(async () => {
  setEnv("CLAWFT_T23_VAR", "value of t23");
  setEnv("CLAWFT_T24_UNSET", undefined);
  setEnv("CLAWFT_NOT_LISTED", "not for plugins");
  setEnv("OPENAI_API_KEY", SECRET_VALUE);
  t = testHost();
  const env_vars = ["CLAWFT_T23_VAR", "CLAWFT_T24_UNSET"];
  plugin = await t.host.load({
    manifest: manifest("test.env", { env_vars }),
    wasm: await fixture("host-calls"),
    approvals: { env_vars },
  });
});

afterAll(async () => {
  await t.host.close();
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

async function env(p: Plugin, name: string, th: TestHost = t): Promise<{ value: unknown; event: AuditEvent }> {
  const before = th.events.length;
  const value = await p.executeTool("env", [name]);
  expect(th.events.length).toBe(before + 1);
  const event = th.events[before] as AuditEvent;
  expect(event.function).toBe("get-env");
  expect(event.args.name).toBe(name);
  expect(JSON.stringify(event)).not.toContain(SECRET_VALUE);
  expect(JSON.stringify(event)).not.toContain("value of t23");
  return { value, event };
}

describe("get-env through a real component", () => {
  it("T23 a listed variable that is set reads its value (the audit never holds it)", async () => {
    const r = await env(plugin, "CLAWFT_T23_VAR");
    expect(r.value).toBe("some:value of t23");
    expect(r.event).toMatchObject({ result: "ok", args: { set: true } });
  });

  it("T24 a listed variable that is not set reads none", async () => {
    const r = await env(plugin, "CLAWFT_T24_UNSET");
    expect(r.value).toBe("none");
    expect(r.event).toMatchObject({ result: "ok", args: { set: false } });
  });

  it("T25 a variable that is not listed reads none, never an error", async () => {
    const r = await env(plugin, "CLAWFT_NOT_LISTED");
    expect(r.value).toBe("none");
    expect(r.event).toMatchObject({ result: "refused", code: "ENV_NOT_LISTED" });
  });

  it("T26 OPENAI_API_KEY without listing it reads none", async () => {
    const r = await env(plugin, "OPENAI_API_KEY");
    expect(r.value).toBe("none");
    expect(r.event.result).toBe("refused");
  });

  it("T27 a plugin with an empty list reads none for anything", async () => {
    const p = await t.host.load({ manifest: manifest("test.env.none"), wasm: await fixture("host-calls") });
    for (const name of ["CLAWFT_T23_VAR", "OPENAI_API_KEY", "PATH", "HOME"]) {
      const r = await env(p, name);
      expect(r.value).toBe("none");
      expect(r.event.result).toBe("refused");
    }
    await p.close();
  });

  it("a secret-looking name (…_TOKEN) is readable only when listed and approved", async () => {
    setEnv("CLAWFT_API_TOKEN", SECRET_VALUE);
    const env_vars = ["CLAWFT_API_TOKEN"];
    const approved = await t.host.load({
      manifest: manifest("test.env.token", { env_vars }),
      wasm: await fixture("host-calls"),
      approvals: { env_vars },
    });
    const r = await env(approved, "CLAWFT_API_TOKEN");
    expect(r.value).toBe(`some:${SECRET_VALUE}`);
    await approved.close();
  });

  it("a custom environment can be supplied (sandbox.env) instead of process.env", async () => {
    const custom = testHost({ sandbox: { env: { ONLY_HERE: "custom value" } } });
    const env_vars = ["ONLY_HERE", "CLAWFT_T23_VAR"];
    const p = await custom.host.load({
      manifest: manifest("test.env.custom", { env_vars }),
      wasm: await fixture("host-calls"),
      approvals: { env_vars },
    });
    expect((await env(p, "ONLY_HERE", custom)).value).toBe("some:custom value");
    expect((await env(p, "CLAWFT_T23_VAR", custom)).value).toBe("none");
    await custom.host.close();
  });
});

describe("log through a real component", () => {
  it("T33 100 messages inside a minute are all written", async () => {
    const th = testHost();
    const p = await th.host.load({ manifest: manifest("test.log100"), wasm: await fixture("host-calls") });
    await expect(p.executeTool("log-many", [100])).resolves.toBe("ok");
    const lines = th.logger.lines.filter((l) => l.pluginId === "test.log100");
    expect(lines.length).toBe(100);
    expect(lines[0]).toMatchObject({ level: "info", message: "log message 1" });
    expect(lines[99]?.message).toBe("log message 100");
    expect(th.events.filter((e) => e.function === "log" && e.result === "ok").length).toBe(100);
    expect(p.usage.hostCalls).toBe(100);
    await th.host.close();
    expect(th.logger.lines.filter((l) => l.level === "warn").length).toBe(0);
  });

  it("T34 the 101st is dropped silently; one throttle warning gives the dropped count", async () => {
    const th = testHost();
    const p = await th.host.load({ manifest: manifest("test.log101"), wasm: await fixture("host-calls") });
    await expect(p.executeTool("log-many", [101])).resolves.toBe("ok");
    await expect(p.executeTool("log", [2, "one more"])).resolves.toBe("ok");
    const info = th.logger.lines.filter((l) => l.level === "info");
    expect(info.length).toBe(100);
    expect(info.some((l) => l.message === "log message 101" || l.message === "one more")).toBe(false);
    // T51: the dropped calls are not audited one by one...
    expect(th.events.filter((e) => e.function === "log").length).toBe(100);
    await p.close();
    // ...but summarised once when the window (here: the plugin) ends.
    expect(th.events.filter((e) => e.code === "RATE_LIMITED")).toEqual([
      expect.objectContaining({ function: "log", result: "refused", args: { dropped: 2, limit: 100, windowMs: 60_000 } }),
    ]);
    const warns = th.logger.lines.filter((l) => l.level === "warn");
    expect(warns.length).toBe(1);
    expect(warns[0]?.message.startsWith("log rate limit exceeded")).toBe(true);
    expect(warns[0]?.message).toContain("2 messages dropped");
    expect(warns[0]?.pluginId).toBe("test.log101");
    await th.host.close();
  });

  it("T35 a message over 4 KiB is cut to 4096 bytes ending `... [truncated]`, never mid-character", async () => {
    const th = testHost();
    const p = await th.host.load({ manifest: manifest("test.logbig"), wasm: await fixture("host-calls") });
    await expect(p.executeTool("log-big", [])).resolves.toBe(5100);
    const line = th.logger.lines.at(-1);
    expect(line?.message.endsWith("... [truncated]")).toBe(true);
    const kept = (line?.message ?? "").slice(0, -"... [truncated]".length);
    expect(Buffer.byteLength(kept)).toBeLessThanOrEqual(4096);
    expect(kept).toBe("€".repeat(1365));
    expect(th.events.at(-1)).toMatchObject({ function: "log", result: "ok", args: { bytes: 5100 } });
    await th.host.close();
  });

  it("log levels map 0 error, 1 warn, 2 info, 3 debug, 4+ trace", async () => {
    const th = testHost();
    const p = await th.host.load({ manifest: manifest("test.loglevels"), wasm: await fixture("host-calls") });
    for (const level of [0, 1, 2, 3, 4, 200]) await p.executeTool("log", [level, `level ${level}`]);
    expect(th.logger.lines.map((l) => l.level)).toEqual(["error", "warn", "info", "debug", "trace", "trace"]);
    await th.host.close();
  });

  it("T44 plugin A over its log limit leaves plugin B's log budget intact", async () => {
    const th = testHost();
    const wasm = await fixture("host-calls");
    const a = await th.host.load({ manifest: manifest("test.log.a"), wasm });
    const b = await th.host.load({ manifest: manifest("test.log.b"), wasm });
    await a.executeTool("log-many", [150]);
    await b.executeTool("log-many", [100]);
    expect(th.logger.lines.filter((l) => l.pluginId === "test.log.a" && l.level === "info").length).toBe(100);
    expect(th.logger.lines.filter((l) => l.pluginId === "test.log.b" && l.level === "info").length).toBe(100);
    await th.host.close();
  });
});
