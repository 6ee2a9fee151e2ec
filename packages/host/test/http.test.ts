import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PluginError, type AuditEvent, type Plugin } from "@clawft/host";
import { connectionAttempts, clearConnectionAttempts, startLoopbackServer, type LoopbackServer } from "@clawft/test-utils";
import { fixture, manifest, rejection, testHost, type TestHost } from "./helpers.js";

/** Names the tests use, all answered with loopback by the injected resolver. */
const NAMES = new Set(["api.test", "other.test", "sub.example.test", "example.test", "slow.test"]);
const resolve = async (hostname: string): Promise<string[]> => {
  if (NAMES.has(hostname)) return ["127.0.0.1"];
  throw new Error(`test resolver: unknown name ${hostname}`);
};

let server: LoopbackServer;
let t: TestHost; // operator opted in to 127.0.0.1/32 (to reach the loopback server by name)
let strict: TestHost; // default operator settings: every private address refused
let plugin: Plugin;
let strictPlugin: Plugin;
let url: (host: string, path?: string) => string;

beforeAll(async () => {
  server = await startLoopbackServer((req, res) => {
    if (req.url?.startsWith("/missing")) {
      res.statusCode = 404;
      res.end("no such thing here");
      return;
    }
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ ok: true, path: req.url, method: req.method, bytes: req.body.length }));
  });
  url = (host, path = "/hello") => `http://${host}:${server.port}${path}`;
  t = testHost({ resolve, allowPrivateCidrs: ["127.0.0.1/32"] });
  strict = testHost({ resolve });
  const wasm = await fixture("host-calls");
  const network = ["api.test", "*.example.test"];
  plugin = await t.host.load({ manifest: manifest("test.http", { network }), wasm, approvals: { network } });
  strictPlugin = await strict.host.load({
    manifest: manifest("test.http.strict", { network: ["*"] }),
    wasm,
    approvals: { network: ["*"] },
  });
});

afterAll(async () => {
  await t.host.close();
  await strict.host.close();
  await server.close();
});

/** Runs one call and returns its outcome and the single audit event it produced. */
async function call(
  th: TestHost,
  p: Plugin,
  params: unknown[],
): Promise<{ value?: unknown; error?: Error & { code?: string }; event: AuditEvent }> {
  const before = th.events.length;
  let value: unknown;
  let error: (Error & { code?: string }) | undefined;
  try {
    value = await p.executeTool("http", params);
  } catch (e) {
    error = e as Error & { code?: string };
  }
  expect(th.events.length).toBe(before + 1); // exactly one audit event per host call (T42)
  const event = th.events[before] as AuditEvent;
  expect(event.pluginId).toBe(p.id);
  expect(event.function).toBe("http-request");
  return { value, error, event };
}

function expectRefused(
  r: { error?: Error & { code?: string }; event: AuditEvent },
  message: string,
  code: string,
): void {
  expect(PluginError.isInstance(r.error)).toBe(true);
  expect(r.error?.code).toBe("PLUGIN_TOOL_ERROR");
  expect(r.error?.message.startsWith(message)).toBe(true);
  expect(r.event.result).toBe("refused");
  expect(r.event.code).toBe(code);
}

describe("http-request through a real component", () => {
  it("T01 a host listed in permissions.network succeeds (loopback server via operator override)", async () => {
    const before = server.requests.length;
    const r = await call(t, plugin, ["GET", url("api.test")]);
    expect(r.error).toBeUndefined();
    expect(r.value).toEqual({ ok: true, path: "/hello", method: "GET", bytes: 0 });
    expect(server.requests.length).toBe(before + 1);
    expect(r.event.result).toBe("ok");
    expect(r.event.args).toMatchObject({ method: "GET", url: url("api.test"), status: 200 });
    expect(r.event.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("T02 a host that is not listed is refused without a connection", async () => {
    const before = server.connectionCount;
    clearConnectionAttempts();
    const r = await call(t, plugin, ["GET", url("other.test")]);
    expectRefused(r, "host not in network allowlist", "HTTP_HOST_NOT_ALLOWED");
    expect(server.connectionCount).toBe(before);
    expect(connectionAttempts()).toEqual([]);
  });

  it("T03 a file:// URL is refused", async () => {
    const r = await call(t, plugin, ["GET", "file:///etc/passwd"]);
    expectRefused(r, "scheme not allowed: file", "HTTP_SCHEME_NOT_ALLOWED");
  });

  it("T04 a data: URL is refused", async () => {
    const r = await call(t, plugin, ["GET", "data:text/plain,hello"]);
    expectRefused(r, "scheme not allowed: data", "HTTP_SCHEME_NOT_ALLOWED");
  });

  it("T05 http://127.0.0.1/ is refused as a private address, before any connection", async () => {
    clearConnectionAttempts();
    const before = server.connectionCount;
    const r = await call(strict, strictPlugin, ["GET", `http://127.0.0.1:${server.port}/`]);
    expectRefused(r, "request to private/reserved IP denied", "HTTP_PRIVATE_IP");
    expect(server.connectionCount).toBe(before);
    expect(connectionAttempts()).toEqual([]);
  });

  it("T06 IPv4-mapped IPv6 [::ffff:127.0.0.1] is judged as the IPv4 it carries", async () => {
    clearConnectionAttempts();
    const before = server.connectionCount;
    const r = await call(strict, strictPlugin, ["GET", `http://[::ffff:127.0.0.1]:${server.port}/`]);
    expectRefused(r, "request to private/reserved IP denied", "HTTP_PRIVATE_IP");
    expect(server.connectionCount).toBe(before);
    expect(connectionAttempts()).toEqual([]);
  });

  it("T07 the cloud metadata address 169.254.169.254 is refused", async () => {
    clearConnectionAttempts();
    const r = await call(strict, strictPlugin, ["GET", "http://169.254.169.254/latest/meta-data/"]);
    expectRefused(r, "request to private/reserved IP denied", "HTTP_PRIVATE_IP");
    expect(connectionAttempts()).toEqual([]);
  });

  it("T08 http://10.0.0.1/ is refused", async () => {
    clearConnectionAttempts();
    const r = await call(strict, strictPlugin, ["GET", "http://10.0.0.1/"]);
    expectRefused(r, "request to private/reserved IP denied", "HTTP_PRIVATE_IP");
    expect(connectionAttempts()).toEqual([]);
  });

  it("T09 a plugin with an empty network list is refused for anything", async () => {
    const p = await t.host.load({ manifest: manifest("test.http.none"), wasm: await fixture("host-calls") });
    const before = server.connectionCount;
    const r = await call(t, p, ["GET", url("api.test")]);
    expectRefused(r, "network access not permitted", "HTTP_NOT_PERMITTED");
    expect(server.connectionCount).toBe(before);
    await p.close();
  });

  it("T10 the 11th request inside one minute is refused", async () => {
    const network = ["api.test"];
    const p = await t.host.load({
      manifest: manifest("test.http.rate", { network }),
      wasm: await fixture("host-calls"),
      approvals: { network },
    });
    const before = server.requests.length;
    for (let i = 0; i < 10; i++) {
      const r = await call(t, p, ["GET", url("api.test", `/n${i}`)]);
      expect(r.error).toBeUndefined();
    }
    const eventsBefore = t.events.length;
    const refused = await rejection(p.executeTool("http", ["GET", url("api.test", "/eleventh")]));
    expect(refused.code).toBe("PLUGIN_TOOL_ERROR");
    expect(refused.message.startsWith("rate limit exceeded: HTTP requests")).toBe(true);
    expect(server.requests.length).toBe(before + 10);
    expect(server.requests.some((q) => q.url === "/eleventh")).toBe(false);
    // T51: a rate-limited call is not audited alone; closing the plugin writes the window's summary.
    expect(t.events.length).toBe(eventsBefore);
    await p.close();
    expect(t.events.slice(eventsBefore)).toEqual([
      expect.objectContaining({ pluginId: p.id, function: "http-request", result: "refused", code: "RATE_LIMITED", args: { dropped: 1, limit: 10, windowMs: 60_000 } }),
    ]);
  });

  it("T11 a 2 MiB request body is refused", async () => {
    const before = server.requests.length;
    const r = await call(t, plugin, ["POST", url("api.test", "/upload"), "x".repeat(2 * 1024 * 1024)]);
    expectRefused(r, "request body too large", "HTTP_BODY_TOO_LARGE");
    expect(r.event.args.bodyBytes).toBe(2 * 1024 * 1024);
    expect(server.requests.length).toBe(before);
  });

  it("T12 *.example.test allows sub.example.test", async () => {
    const r = await call(t, plugin, ["GET", url("sub.example.test", "/wild")]);
    expect(r.error).toBeUndefined();
    expect(r.value).toMatchObject({ ok: true, path: "/wild" });
    expect(r.event.result).toBe("ok");
  });

  it("T13 *.example.test does not allow example.test itself", async () => {
    const before = server.connectionCount;
    const r = await call(t, plugin, ["GET", url("example.test")]);
    expectRefused(r, "host not in network allowlist", "HTTP_HOST_NOT_ALLOWED");
    expect(server.connectionCount).toBe(before);
  });

  it("a non-2xx status is an err `http status NNN: <start of body>`", async () => {
    const r = await call(t, plugin, ["GET", url("api.test", "/missing")]);
    expect(r.error?.code).toBe("PLUGIN_TOOL_ERROR");
    expect(r.error?.message).toBe("http status 404: no such thing here");
    expect(r.event).toMatchObject({ result: "error", code: "HTTP_STATUS" });
    expect(r.event.args.status).toBe(404);
  });

  it("a POST body and headers reach the server; the audit has sizes, never the body", async () => {
    const before = server.requests.length;
    const body = JSON.stringify({ secret: "s3cr3t-body" });
    const r = await call(t, plugin, ["POST", url("api.test", "/post"), body, "x-test", "yes"]);
    expect(r.value).toMatchObject({ method: "POST", bytes: body.length });
    const req = server.requests[before];
    expect(req?.headers["x-test"]).toBe("yes");
    expect(req?.body.toString()).toBe(body);
    expect(r.event.args).toMatchObject({ bodyBytes: body.length, headers: 1 });
    expect(JSON.stringify(r.event)).not.toContain("s3cr3t");
  });

  it("T42 the audit summary redacts URL query values and userinfo", async () => {
    const r = await call(t, plugin, ["GET", `http://user:pa55word@api.test:${server.port}/q?token=t0ps3cret&x=1`]);
    const text = JSON.stringify(r.event);
    expect(text).not.toContain("t0ps3cret");
    expect(text).not.toContain("pa55word");
    expect(String(r.event.args.url)).toContain("api.test");
  });

  it("T44 plugin A exhausting its HTTP rate limit leaves plugin B unaffected", async () => {
    const network = ["api.test"];
    const wasm = await fixture("host-calls");
    const a = await t.host.load({ manifest: manifest("test.http.a", { network }), wasm, approvals: { network } });
    const b = await t.host.load({ manifest: manifest("test.http.b", { network }), wasm, approvals: { network } });
    for (let i = 0; i < 10; i++) await a.executeTool("http", ["GET", url("api.test", "/a")]);
    const refused = await rejection(a.executeTool("http", ["GET", url("api.test", "/a")]));
    expect(refused.message.startsWith("rate limit exceeded: HTTP requests")).toBe(true);
    await expect(b.executeTool("http", ["GET", url("api.test", "/b")])).resolves.toMatchObject({ ok: true, path: "/b" });
    await a.close();
    await b.close();
  });
});
