import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { HttpAuditEvent } from "@clawft/sandbox-policy";
import { ClawftError } from "@clawft/sandbox-policy";
import { clearConnectionAttempts, connectionAttempts, startLoopbackServer } from "@clawft/test-utils";
import { describe, expect, it } from "vitest";
import { HTTP_AUDIT_CHANNEL, MAX_URL_LENGTH, SandboxedHttpClient } from "./client.js";
import type { HttpClientOptions } from "./options.js";
import { PLUGIN, expectRefusal, tableResolver, testClient } from "./test-helpers.js";

const MiB = 1024 * 1024;

describe("response body limit", () => {
  it("cuts a 5 MiB response at the 4 MiB default without splitting a multi-byte character", async () => {
    // 4 MiB - 2 ASCII bytes, then 3-byte "€" characters: the first one straddles the limit.
    const head = Buffer.alloc(4 * MiB - 2, 0x61);
    const tail = Buffer.from("€".repeat(Math.ceil((MiB + 2) / 3)), "utf8");
    const payload = Buffer.concat([head, tail]).subarray(0, 5 * MiB);
    await using server = await startLoopbackServer((_req, res) => {
      res.setHeader("content-type", "text/plain; charset=utf-8");
      res.end(payload);
    });
    await using client = testClient();
    const res = await client.request({ method: "GET", url: `http://api.test:${server.port}/big` });
    expect(res.status).toBe(200);
    expect(res.truncated).toBe(true);
    expect(res.body.length).toBe(4 * MiB - 2);
    expect(Buffer.byteLength(res.body, "utf8")).toBe(4 * MiB - 2);
    expect(res.body.includes("\ufffd")).toBe(false);
    expect(res.body.endsWith("aa")).toBe(true);
  });

  it("an endless response is cut at the limit and its connection closed, not drained", async () => {
    let serverSawClose!: () => void;
    const closed = new Promise<void>((resolve) => (serverSawClose = resolve));
    await using server = await startLoopbackServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      const chunk = Buffer.alloc(16 * 1024, 0x78);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
      };
      res.on("drain", pump);
      res.on("close", () => serverSawClose());
      pump();
    });
    await using client = testClient({ maxResponseBytes: 100_000 });
    const res = await client.request({ method: "GET", url: `http://api.test:${server.port}/endless` });
    expect(res.truncated).toBe(true);
    expect(res.body.length).toBe(100_000);
    await closed; // the server's response ended because the client closed the connection
  });

  it("keeps whole characters up to exactly the limit", async () => {
    await using server = await startLoopbackServer((_req, res) => void res.end("é".repeat(10)));
    await using client = testClient({ maxResponseBytes: 7 });
    const res = await client.request({ method: "GET", url: `http://api.test:${server.port}/` });
    expect(res).toMatchObject({ truncated: true, body: "ééé" });
  });

  it("a body of exactly the limit is not truncated", async () => {
    await using server = await startLoopbackServer((_req, res) => void res.end("0123456789"));
    await using client = testClient({ maxResponseBytes: 10 });
    const res = await client.request({ method: "GET", url: `http://api.test:${server.port}/` });
    expect(res).toMatchObject({ truncated: false, body: "0123456789" });
  });

  it("invalid UTF-8 in a body becomes U+FFFD", async () => {
    await using server = await startLoopbackServer((_req, res) => void res.end(Buffer.from([0x6f, 0x6b, 0xff, 0xfe])));
    await using client = testClient();
    const res = await client.request({ method: "GET", url: `http://api.test:${server.port}/` });
    expect(res.body).toBe("ok\ufffd\ufffd");
  });
});

describe("total timeout", () => {
  it("a server that dribbles one byte every 50 ms is cut off at timeoutMs with HTTP_TIMEOUT", async () => {
    await using server = await startLoopbackServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      const timer = setInterval(() => res.write("x"), 50);
      res.on("close", () => clearInterval(timer));
    });
    await using client = testClient({ timeoutMs: 300 });
    await expectRefusal(client.request({ method: "GET", url: `http://api.test:${server.port}/` }), "HTTP_TIMEOUT", "request timed out");
    expect(server.requests).toHaveLength(1);
  });

  it("a server that never answers times out", async () => {
    await using server = await startLoopbackServer(() => new Promise<void>(() => {}));
    await using client = testClient({ timeoutMs: 300 });
    await expectRefusal(client.request({ method: "GET", url: `http://api.test:${server.port}/` }), "HTTP_TIMEOUT", "request timed out");
  });

  it("a resolver that never answers times out (DNS is inside the total time)", async () => {
    await using client = testClient({ timeoutMs: 200, resolve: () => new Promise<string[]>(() => {}) });
    await expectRefusal(client.request({ method: "GET", url: "http://api.test:9/" }), "HTTP_TIMEOUT", "request timed out");
  });
});

describe("request headers", () => {
  it("sends User-Agent clawft-plugin/<id>/<version> and the plugin's own headers", async () => {
    await using server = await startLoopbackServer();
    await using client = testClient();
    await client.request({
      method: "GET",
      url: `http://api.test:${server.port}/`,
      headers: [
        ["Accept", "application/json"],
        ["X-Tag", "a"],
        ["X-Tag", "b"],
      ],
    });
    const headers = server.requests[0]?.headers;
    expect(headers?.["user-agent"]).toBe("clawft-plugin/com.example.test/1.0.0");
    expect(headers?.accept).toBe("application/json");
    expect(headers?.["x-tag"]).toBe("a, b");
  });

  it("header injection with CR/LF is refused before any connection", async () => {
    await using server = await startLoopbackServer();
    await using client = testClient();
    clearConnectionAttempts();
    for (const headers of [
      [["X-A", "v\r\nHost: evil.test"]],
      [["X-A", "v\nX-Injected: 1"]],
      [["X-A\r\nX-B", "v"]],
      [["X-A", "v\0"]],
    ] as Array<Array<[string, string]>>) {
      await expectRefusal(
        client.request({ method: "GET", url: `http://api.test:${server.port}/`, headers }),
        "HTTP_BAD_HEADER",
        "invalid request header",
      );
    }
    expect(server.connectionCount).toBe(0);
    expect(connectionAttempts()).toEqual([]);
  });

  it("Host, hop-by-hop, framing, Proxy-* and User-Agent headers are refused", async () => {
    await using server = await startLoopbackServer();
    await using client = testClient();
    for (const name of [
      "Host",
      "Connection",
      "Keep-Alive",
      "Proxy-Authorization",
      "Proxy-Connection",
      "TE",
      "Trailer",
      "Transfer-Encoding",
      "Upgrade",
      "Content-Length",
      "Expect",
      "User-Agent",
    ]) {
      await expectRefusal(
        client.request({ method: "POST", url: `http://api.test:${server.port}/`, headers: [[name, "1"]], body: "x" }),
        "HTTP_BAD_HEADER",
        "invalid request header",
      );
    }
    expect(server.connectionCount).toBe(0);
  });
});

describe("methods and bodies", () => {
  it("CONNECT and TRACE are refused; lower-case methods are sent upper case", async () => {
    await using server = await startLoopbackServer();
    await using client = testClient();
    const url = `http://api.test:${server.port}/`;
    await expectRefusal(client.request({ method: "CONNECT", url }), "HTTP_METHOD_NOT_ALLOWED", "method not allowed");
    await expectRefusal(client.request({ method: "TRACE", url }), "HTTP_METHOD_NOT_ALLOWED", "method not allowed");
    expect(server.connectionCount).toBe(0);
    await client.request({ method: "delete", url });
    const head = await client.request({ method: "HEAD", url });
    expect(head).toMatchObject({ status: 200, body: "", truncated: false });
    expect(server.requests.map((r) => r.method)).toEqual(["DELETE", "HEAD"]);
  });

  it("sends a POST body as UTF-8 with its byte length", async () => {
    await using server = await startLoopbackServer((req, res) => void res.end(req.body));
    await using client = testClient();
    const res = await client.request({
      method: "POST",
      url: `http://api.test:${server.port}/echo`,
      headers: [["content-type", "text/plain; charset=utf-8"]],
      body: "héllo €",
    });
    expect(res.body).toBe("héllo €");
    expect(server.requests[0]?.headers["content-length"]).toBe(String(Buffer.byteLength("héllo €")));
  });

  it("the body limit counts UTF-8 bytes: 600k × é (1.2 MB) is refused, 600k × e is sent", async () => {
    await using server = await startLoopbackServer((req, res) => void res.end(String(req.body.length)));
    await using client = testClient();
    const url = `http://api.test:${server.port}/`;
    await expectRefusal(client.request({ method: "POST", url, body: "é".repeat(600_000) }), "HTTP_BODY_TOO_LARGE", "request body too large");
    expect(server.connectionCount).toBe(0);
    const res = await client.request({ method: "POST", url, body: "e".repeat(600_000) });
    expect(res.body).toBe("600000");
  });

  it("a body of exactly maxRequestBytes bytes is sent, one more byte is refused", async () => {
    await using server = await startLoopbackServer();
    await using client = testClient({ maxRequestBytes: 10 });
    const url = `http://api.test:${server.port}/`;
    expect((await client.request({ method: "PUT", url, body: "ééééé" })).status).toBe(200);
    await expectRefusal(client.request({ method: "PUT", url, body: "éééééa" }), "HTTP_BODY_TOO_LARGE", "request body too large");
  });

  it("maxRequestsPerMinute 0 refuses every request at the rate limit, with no connection", async () => {
    await using server = await startLoopbackServer();
    await using client = testClient({ maxRequestsPerMinute: 0 });
    await expectRefusal(
      client.request({ method: "GET", url: `http://api.test:${server.port}/` }),
      "HTTP_RATE_LIMITED",
      "rate limit exceeded: HTTP requests",
    );
    expect(server.connectionCount).toBe(0);
  });

  it("refused requests before the rate limit do not use up the budget", async () => {
    await using server = await startLoopbackServer();
    await using client = testClient({ maxRequestsPerMinute: 1 });
    for (let i = 0; i < 5; i++) {
      await expectRefusal(client.request({ method: "GET", url: "http://nope.test/" }), "HTTP_HOST_NOT_ALLOWED");
    }
    expect((await client.request({ method: "GET", url: `http://api.test:${server.port}/` })).status).toBe(200);
  });
});

describe("response", () => {
  it("joins repeated response headers with \", \" and returns non-2xx statuses as responses", async () => {
    await using server = await startLoopbackServer((_req, res) => {
      res.statusCode = 503;
      res.setHeader("set-cookie", ["a=1", "b=2"]);
      res.setHeader("X-Single", "v");
      res.end("busy");
    });
    await using client = testClient();
    const res = await client.request({ method: "GET", url: `http://api.test:${server.port}/` });
    expect(res.status).toBe(503);
    expect(res.headers["set-cookie"]).toBe("a=1, b=2");
    expect(res.headers["x-single"]).toBe("v");
    expect(res.body).toBe("busy");
  });
});

describe("egress goes only where the policy allows", () => {
  it("HTTP_PROXY, HTTPS_PROXY and ALL_PROXY are ignored: the proxy sees nothing", async () => {
    await using proxy = await startLoopbackServer((_req, res) => void res.end("from proxy"), { host: "127.0.0.1" });
    await using server = await startLoopbackServer();
    const saved = { ...process.env };
    const names = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"];
    try {
      for (const n of names) process.env[n] = proxy.url;
      delete process.env.NO_PROXY;
      delete process.env.no_proxy;
      await using client = testClient();
      const res = await client.request({ method: "GET", url: `http://api.test:${server.port}/` });
      expect(res.body).toBe('{"ok":true}');
      expect(server.requests).toHaveLength(1);
      expect(proxy.connectionCount).toBe(0);
    } finally {
      for (const n of [...names, "NO_PROXY", "no_proxy"]) {
        if (saved[n] === undefined) delete process.env[n];
        else process.env[n] = saved[n];
      }
    }
  });

  it("URL credentials are refused rather than silently dropped", async () => {
    await using client = testClient();
    await expectRefusal(client.request({ method: "GET", url: "http://user:pw@api.test/" }), "HTTP_INVALID_URL");
  });

  it("malformed URLs are HTTP_INVALID_URL", async () => {
    await using client = testClient();
    await expectRefusal(client.request({ method: "GET", url: "not a url" }), "HTTP_INVALID_URL", "invalid url");
    await expectRefusal(client.request({ method: "GET", url: 42 as unknown as string }), "HTTP_INVALID_URL");
    await expectRefusal(client.request({ method: "GET", url: `http://api.test/?q=${"a".repeat(MAX_URL_LENGTH)}` }), "HTTP_INVALID_URL", "invalid url");
  });
});

describe("network failures", () => {
  it("a name that does not resolve is HTTP_NETWORK", async () => {
    await using client = testClient({ network: ["missing.test"], resolve: tableResolver({}) });
    const e = await expectRefusal(client.request({ method: "GET", url: "http://missing.test/" }), "HTTP_NETWORK", "network error");
    expect(e.message).toContain("ENOTFOUND");
    expect(e.cause).toBeDefined();
  });

  it("a refused connection is HTTP_NETWORK", async () => {
    const server = await startLoopbackServer();
    const port = server.port;
    await server.close();
    await using client = testClient();
    await expectRefusal(client.request({ method: "GET", url: `http://api.test:${port}/` }), "HTTP_NETWORK", "network error");
  });

  it("a resolver answering something that is not an IP address is refused (no second lookup)", async () => {
    await using client = testClient({ resolve: async () => ["localhost"] });
    await expectRefusal(client.request({ method: "GET", url: "http://api.test/" }), "HTTP_NETWORK");
    await using empty = testClient({ resolve: async () => [] });
    await expectRefusal(empty.request({ method: "GET", url: "http://api.test/" }), "HTTP_NETWORK");
  });

  it("after close(), requests fail with HTTP_NETWORK", async () => {
    await using server = await startLoopbackServer();
    const client = testClient();
    await client.close();
    await expectRefusal(client.request({ method: "GET", url: `http://api.test:${server.port}/` }), "HTTP_NETWORK");
  });
});

describe("audit", () => {
  it("one event per request to the sink and the clawft:http channel, with the URL redacted", async () => {
    await using server = await startLoopbackServer((_req, res) => void res.end("12345"));
    const sink: HttpAuditEvent[] = [];
    const published: unknown[] = [];
    const onMessage = (m: unknown) => published.push(m);
    subscribe(HTTP_AUDIT_CHANNEL, onMessage);
    try {
      await using client = testClient({ audit: (e) => sink.push(e) });
      await client.request({ method: "post", url: `http://api.test:${server.port}/p?token=s3cret&x=1`, body: "abc" });
      await expectRefusal(client.request({ method: "GET", url: "http://evil.test/?key=s3cret" }), "HTTP_HOST_NOT_ALLOWED");
    } finally {
      unsubscribe(HTTP_AUDIT_CHANNEL, onMessage);
    }
    expect(sink).toHaveLength(2);
    expect(sink[0]).toMatchObject({
      method: "POST",
      url: `http://api.test:${server.port}/p?token=***&x=***`,
      status: 200,
      result: "ok",
      bytes: 5,
      requestBytes: 3,
    });
    expect(sink[1]).toMatchObject({ method: "GET", result: "refused", code: "HTTP_HOST_NOT_ALLOWED", url: "http://evil.test/?key=***" });
    for (const e of sink) expect(e.durationMs).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(sink)).not.toContain("s3cret");
    expect(published).toEqual(sink);
  });

  it("a throwing sink does not change the outcome", async () => {
    await using server = await startLoopbackServer();
    await using client = testClient({
      audit: () => {
        throw new Error("sink broke");
      },
    });
    expect((await client.request({ method: "GET", url: `http://api.test:${server.port}/` })).status).toBe(200);
  });
});

describe("constructor options", () => {
  const good: HttpClientOptions = { ...PLUGIN, network: ["api.test"] };
  const bad: Array<[string, Record<string, unknown>]> = [
    ["pluginId", { pluginId: "" }],
    ["pluginId", { pluginId: "a b" }],
    ["pluginVersion", { pluginVersion: "1.0\r\n" }],
    ["pluginVersion", { pluginVersion: undefined }],
    ["network", { network: "api.test" }],
    ["network[1]", { network: ["api.test", "http://x/"] }],
    ["maxRequestsPerMinute", { maxRequestsPerMinute: -1 }],
    ["maxRequestsPerMinute", { maxRequestsPerMinute: 2 ** 31 + 1 }],
    ["maxRequestsPerMinute", { maxRequestsPerMinute: 1.5 }],
    ["maxRequestBytes", { maxRequestBytes: -1 }],
    ["maxResponseBytes", { maxResponseBytes: Number.NaN }],
    ["timeoutMs", { timeoutMs: "30" }],
    ["timeoutMs", { timeoutMs: 2 ** 31 }],
    ["resolve", { resolve: "8.8.8.8" }],
    ["allowPrivateCidrs", { allowPrivateCidrs: "127.0.0.1/32" }],
    ["allowPrivateCidrs[0]", { allowPrivateCidrs: ["127.0.0.1"] }],
    ["allowPrivateCidrs[1]", { allowPrivateCidrs: ["127.0.0.1/32", "10.0.0.0/33"] }],
    ["allowPrivateCidrs[0]", { allowPrivateCidrs: ["fd00::/129"] }],
    ["allowPrivateCidrs[0]", { allowPrivateCidrs: ["localhost/8"] }],
    ["audit", { audit: {} }],
    ["now", { now: 5 }],
  ];
  for (const [field, patch] of bad) {
    it(`throws naming ${field} for ${JSON.stringify(patch)}`, () => {
      let caught: unknown;
      try {
        new SandboxedHttpClient({ ...good, ...patch } as unknown as HttpClientOptions);
      } catch (error) {
        caught = error;
      }
      expect(ClawftError.isInstance(caught)).toBe(true);
      expect((caught as ClawftError).code).toBe("HTTP_INVALID_OPTIONS");
      expect((caught as ClawftError).message.startsWith(field)).toBe(true);
    });
  }

  it("T66 a network entry with a port is refused at construction: a port would not be enforced", () => {
    let caught: unknown;
    try {
      new SandboxedHttpClient({ ...good, network: ["api.test", "api.test:8443"] });
    } catch (error) {
      caught = error;
    }
    expect(ClawftError.isInstance(caught)).toBe(true);
    expect((caught as ClawftError).code).toBe("HTTP_INVALID_OPTIONS");
    expect((caught as ClawftError).message).toMatch(/^network\[1\] must not name a port: an allowed host is reachable on every port/);
  });

  it("accepts IPv4 and IPv6 CIDRs and freezes the resolved options", () => {
    const client = new SandboxedHttpClient({ ...good, allowPrivateCidrs: ["127.0.0.0/8", "fd00::/8", "::1/128"] });
    expect(Object.isFrozen(client.options)).toBe(true);
    expect(client.options.maxRequestsPerMinute).toBe(10);
    expect(client.options.maxRequestBytes).toBe(MiB);
    expect(client.options.maxResponseBytes).toBe(4 * MiB);
    expect(client.options.timeoutMs).toBe(30_000);
  });
});
