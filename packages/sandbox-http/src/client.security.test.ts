/**
 * The HTTP part of the security catalogue (T01–T13) and the SSRF cases around
 * it: DNS rebinding, mixed answers, redirects to private addresses. Every
 * refusal is proven to happen before any connection: the loopback servers see
 * no connection and the network guard's connect spy records no attempt.
 */
import { clearConnectionAttempts, connectionAttempts, createFakeClock, startLoopbackServer } from "@clawft/test-utils";
import fc from "fast-check";
import { beforeEach, describe, expect, it } from "vitest";
import { SandboxedHttpClient } from "./client.js";
import { PLUGIN, expectRefusal, startServerAt, tableResolver, testClient } from "./test-helpers.js";

const PRIVATE = "request to private/reserved IP denied";

beforeEach(() => {
  clearConnectionAttempts();
});

/**
 * No TCP connection and no DNS query happened since the last clear. Tests clear
 * the spy after starting their servers (whose own `listen()` is recorded) and
 * building the client, so only the request's traffic is judged.
 */
function expectNoTraffic(): void {
  expect(connectionAttempts()).toEqual([]);
}

describe("catalogue T01–T13", () => {
  it("T01 a request to a host listed in permissions.network succeeds", async () => {
    await using server = await startLoopbackServer((req, res) => {
      res.setHeader("content-type", "text/plain");
      res.end(`hello ${req.url}`);
    });
    const resolve = tableResolver({ "api.test": ["127.0.0.1"] });
    await using client = testClient({ resolve });
    clearConnectionAttempts();
    const res = await client.request({ method: "GET", url: `http://api.test:${server.port}/v1/items?q=1` });
    expect(res).toEqual({
      status: 200,
      headers: expect.objectContaining({ "content-type": "text/plain" }) as Record<string, string>,
      body: "hello /v1/items?q=1",
      truncated: false,
    });
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]?.headers.host).toBe(`api.test:${server.port}`);
    expect(resolve.calls).toEqual(["api.test"]);
  });

  it("T02 a host that is not listed is refused before DNS and before any connection", async () => {
    await using server = await startLoopbackServer();
    const resolve = tableResolver({ "other.test": ["127.0.0.1"] });
    await using client = testClient({ resolve });
    clearConnectionAttempts();
    await expectRefusal(
      client.request({ method: "GET", url: `http://other.test:${server.port}/` }),
      "HTTP_HOST_NOT_ALLOWED",
      "host not in network allowlist",
    );
    expect(resolve.calls).toEqual([]);
    expect(server.connectionCount).toBe(0);
    expectNoTraffic();
  });

  it("T03 a file:// URL is refused", async () => {
    await using client = testClient({ network: ["*"] });
    clearConnectionAttempts();
    await expectRefusal(client.request({ method: "GET", url: "file:///etc/passwd" }), "HTTP_SCHEME_NOT_ALLOWED", "scheme not allowed: file");
    expectNoTraffic();
  });

  it("T04 a data: URL is refused", async () => {
    await using client = testClient({ network: ["*"] });
    clearConnectionAttempts();
    await expectRefusal(
      client.request({ method: "GET", url: "data:text/plain,hello" }),
      "HTTP_SCHEME_NOT_ALLOWED",
      "scheme not allowed: data",
    );
    expectNoTraffic();
  });

  describe("T05–T08 private and reserved literals are refused before any connection", () => {
    // The client lists the literals (and "*"), and lifts the private refusal only
    // for 127.0.0.9/32, which none of them is: the literal alone decides.
    const cases = [
      ["T05 http://127.0.0.1/ is refused", (port: number) => `http://127.0.0.1:${port}/`],
      ["T06 http://[::ffff:127.0.0.1]/ (IPv4-mapped IPv6) is refused like the IPv4 it carries", (port: number) => `http://[::ffff:127.0.0.1]:${port}/`],
      ["T07 the cloud metadata address 169.254.169.254 is refused", () => "http://169.254.169.254/latest/meta-data/"],
      ["T08 http://10.0.0.1/ is refused", () => "http://10.0.0.1/"],
    ] as const;
    for (const [name, url] of cases) {
      it(name, async () => {
        await using server = await startLoopbackServer();
        const resolve = tableResolver({});
        await using client = testClient({
          network: ["*", "127.0.0.1", "::ffff:127.0.0.1", "169.254.169.254", "10.0.0.1"],
          resolve,
          allowPrivateCidrs: ["127.0.0.9/32"],
        });
        clearConnectionAttempts();
        await expectRefusal(client.request({ method: "GET", url: url(server.port) }), "HTTP_PRIVATE_IP", PRIVATE);
        expect(resolve.calls).toEqual([]);
        expect(server.connectionCount).toBe(0);
        expectNoTraffic();
      });
    }

    it("T05 other spellings of loopback (decimal, hex, short, IPv6) are refused the same way", async () => {
      await using server = await startLoopbackServer();
      const resolve = tableResolver({});
      await using client = testClient({ network: ["*"], resolve, allowPrivateCidrs: undefined });
      clearConnectionAttempts();
      for (const host of ["2130706433", "0x7f.0.0.1", "127.1", "[::1]", "[0:0:0:0:0:ffff:7f00:1]", "0.0.0.0"]) {
        await expectRefusal(client.request({ method: "GET", url: `http://${host}:${server.port}/` }), "HTTP_PRIVATE_IP", PRIVATE);
      }
      expect(resolve.calls).toEqual([]);
      expect(server.connectionCount).toBe(0);
      expectNoTraffic();
    });
  });

  it("T09 an empty network list refuses everything", async () => {
    await using server = await startLoopbackServer();
    const resolve = tableResolver({ "api.test": ["127.0.0.1"] });
    await using client = testClient({ network: [], resolve });
    clearConnectionAttempts();
    for (const url of [`http://api.test:${server.port}/`, "https://example.test/", `http://127.0.0.1:${server.port}/`]) {
      await expectRefusal(client.request({ method: "GET", url }), "HTTP_NOT_PERMITTED", "network access not permitted");
    }
    expect(resolve.calls).toEqual([]);
    expect(server.connectionCount).toBe(0);
    expectNoTraffic();
  });

  it("T10 an 11th request inside one minute is refused; the next minute has a fresh budget", async () => {
    await using server = await startLoopbackServer();
    const clock = createFakeClock();
    await using client = testClient({ now: clock.now });
    clearConnectionAttempts();
    const url = `http://api.test:${server.port}/`;
    for (let i = 0; i < 10; i++) {
      expect((await client.request({ method: "GET", url })).status).toBe(200);
      clock.advance(5_000);
    }
    await expectRefusal(client.request({ method: "GET", url }), "HTTP_RATE_LIMITED", "rate limit exceeded: HTTP requests");
    expect(server.requests).toHaveLength(10);
    clock.advance(60_000);
    expect((await client.request({ method: "GET", url })).status).toBe(200);
    expect(server.requests).toHaveLength(11);
  });

  it("T11 a 2 MiB body is refused before any connection", async () => {
    await using server = await startLoopbackServer();
    const resolve = tableResolver({ "api.test": ["127.0.0.1"] });
    await using client = testClient({ resolve });
    clearConnectionAttempts();
    await expectRefusal(
      client.request({ method: "POST", url: `http://api.test:${server.port}/`, body: "x".repeat(2 * 1024 * 1024) }),
      "HTTP_BODY_TOO_LARGE",
      "request body too large",
    );
    expect(resolve.calls).toEqual([]);
    expect(server.connectionCount).toBe(0);
    expectNoTraffic();
  });

  it("T12 *.example.test allows sub.example.test", async () => {
    await using server = await startLoopbackServer();
    const resolve = tableResolver({ "sub.example.test": ["127.0.0.1"] });
    await using client = testClient({ network: ["*.example.test"], resolve });
    clearConnectionAttempts();
    const res = await client.request({ method: "GET", url: `http://sub.example.test:${server.port}/` });
    expect(res.status).toBe(200);
    expect(res.body).toBe('{"ok":true}');
    expect(server.requests[0]?.headers.host).toBe(`sub.example.test:${server.port}`);
  });

  it("T13 *.example.test does not allow the apex example.test", async () => {
    await using server = await startLoopbackServer();
    const resolve = tableResolver({ "example.test": ["127.0.0.1"] });
    await using client = testClient({ network: ["*.example.test"], resolve });
    clearConnectionAttempts();
    await expectRefusal(
      client.request({ method: "GET", url: `http://example.test:${server.port}/` }),
      "HTTP_HOST_NOT_ALLOWED",
      "host not in network allowlist",
    );
    expect(resolve.calls).toEqual([]);
    expect(server.connectionCount).toBe(0);
    expectNoTraffic();
  });
});

describe("SSRF through DNS and redirects", () => {
  it("a listed name that resolves to a private address is refused, with no connection", async () => {
    await using target = await startLoopbackServer(undefined, { host: "127.0.0.3" });
    const resolve = tableResolver({ "internal.test": ["127.0.0.3"] });
    await using client = testClient({ network: ["internal.test"], resolve });
    clearConnectionAttempts();
    await expectRefusal(client.request({ method: "GET", url: `http://internal.test:${target.port}/` }), "HTTP_PRIVATE_IP", PRIVATE);
    expect(resolve.calls).toEqual(["internal.test"]);
    expect(target.connectionCount).toBe(0);
    expect(connectionAttempts().filter((a) => a.kind === "tcp")).toEqual([]);
  });

  it("the default system resolver is used when none is injected, and its loopback answers for localhost are refused", async () => {
    await using server = await startLoopbackServer();
    await using client = new SandboxedHttpClient({ ...PLUGIN, network: ["localhost"] });
    clearConnectionAttempts();
    await expectRefusal(client.request({ method: "GET", url: `http://localhost:${server.port}/` }), "HTTP_PRIVATE_IP", PRIVATE);
    // One real lookup of `localhost` (the only name the guard lets resolve), no connection.
    expect(connectionAttempts().map((a) => `${a.kind}:${a.host}`)).toEqual(["dns:localhost"]);
    expect(server.connectionCount).toBe(0);
  });

  it("the default system resolver's answers are pinned like injected ones", async () => {
    await using server = await startLoopbackServer();
    await using client = new SandboxedHttpClient({
      ...PLUGIN,
      network: ["localhost"],
      allowPrivateCidrs: ["127.0.0.1/32", "::1/128"],
    });
    const res = await client.request({ method: "GET", url: `http://localhost:${server.port}/` });
    expect(res.status).toBe(200);
    expect(server.requests).toHaveLength(1);
  });

  it("a name resolving to ::1 (IPv6 loopback) is refused when only 127.0.0.1/32 is allowed", async () => {
    const resolve = tableResolver({ "v6.test": ["::1"] });
    await using client = testClient({ network: ["v6.test"], resolve });
    clearConnectionAttempts();
    await expectRefusal(client.request({ method: "GET", url: "http://v6.test:9/" }), "HTTP_PRIVATE_IP", PRIVATE);
    expect(connectionAttempts().filter((a) => a.kind === "tcp")).toEqual([]);
  });

  it("DNS rebinding: the address checked is the address connected to, and a later answer is checked again", async () => {
    await using allowed = await startLoopbackServer(undefined, { host: "127.0.0.1" });
    // A second server on the same port of another loopback address: where a
    // rebinding attack would land if the connection did its own lookup.
    await using rebound = await startServerAt("127.0.0.2", allowed.port);
    let answers = 0;
    const resolve = tableResolver({ "api.test": () => (answers++ === 0 ? ["127.0.0.1"] : ["127.0.0.2"]) });
    await using client = testClient({ resolve });
    clearConnectionAttempts();
    const url = `http://api.test:${allowed.port}/`;

    const first = await client.request({ method: "GET", url });
    expect(first.body).toBe('{"ok":true}');
    // One resolution for the request; undici never looked the name up itself.
    expect(resolve.calls).toEqual(["api.test"]);
    const tcp = connectionAttempts().filter((a) => a.kind === "tcp");
    expect(tcp.length).toBeGreaterThan(0);
    expect(new Set(tcp.map((a) => a.address))).toEqual(new Set(["127.0.0.1"]));
    expect(connectionAttempts().filter((a) => a.kind === "dns")).toEqual([]);

    // The next request resolves again; the new answer is private and refused.
    await expectRefusal(client.request({ method: "GET", url }), "HTTP_PRIVATE_IP", PRIVATE);
    expect(resolve.calls).toEqual(["api.test", "api.test"]);
    expect(allowed.requests).toHaveLength(1);
    expect(rebound.connectionCount).toBe(0);
    expect(connectionAttempts().some((a) => a.address === "127.0.0.2")).toBe(false);
  });

  it("an IPv6 answer inside allowPrivateCidrs is pinned and connected to over IPv6", async () => {
    await using server = await startServerAt("::1", 0, (_req, res) => res.end("over v6"));
    const resolve = tableResolver({ "v6.test": ["::1"] });
    await using client = testClient({ network: ["v6.test"], resolve, allowPrivateCidrs: ["::1/128"] });
    clearConnectionAttempts();
    const res = await client.request({ method: "GET", url: `http://v6.test:${server.port}/` });
    expect(res.body).toBe("over v6");
    const tcp = connectionAttempts().filter((a) => a.kind === "tcp");
    expect(new Set(tcp.map((a) => a.address))).toEqual(new Set(["::1"]));
  });

  it("mixed answers: one allowed and one private address refuses the request, with no connection", async () => {
    await using a = await startLoopbackServer(undefined, { host: "127.0.0.1" });
    clearConnectionAttempts();
    await using b = await startServerAt("127.0.0.2", a.port);
    clearConnectionAttempts();
    const resolve = tableResolver({ "api.test": ["127.0.0.1", "127.0.0.2"] });
    await using client = testClient({ resolve });
    clearConnectionAttempts();
    await expectRefusal(client.request({ method: "GET", url: `http://api.test:${a.port}/` }), "HTTP_PRIVATE_IP", PRIVATE);
    expect(a.connectionCount).toBe(0);
    expect(b.connectionCount).toBe(0);
    expect(connectionAttempts().filter((x) => x.kind === "tcp")).toEqual([]);
  });

  it("a redirect to a private address comes back as a 3xx and is not followed", async () => {
    await using target = await startLoopbackServer(undefined, { host: "127.0.0.2" });
    await using origin = await startLoopbackServer((_req, res) => {
      res.statusCode = 302;
      res.setHeader("location", `http://127.0.0.2:${target.port}/secret`);
      res.end("moved");
    });
    await using client = testClient();
    clearConnectionAttempts();
    const res = await client.request({ method: "GET", url: `http://api.test:${origin.port}/start` });
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe(`http://127.0.0.2:${target.port}/secret`);
    expect(res.body).toBe("moved");
    expect(origin.requests).toHaveLength(1);
    expect(target.connectionCount).toBe(0);
  });

  it("a redirect to an allowed host is not followed either", async () => {
    await using origin = await startLoopbackServer((req, res) => {
      res.statusCode = 307;
      res.setHeader("location", "/again");
      res.end();
    });
    await using client = testClient();
    clearConnectionAttempts();
    const res = await client.request({ method: "POST", url: `http://api.test:${origin.port}/start`, body: "x" });
    expect(res.status).toBe(307);
    expect(origin.requests.map((r) => r.url)).toEqual(["/start"]);
  });

  it("allowPrivateCidrs lifts the private refusal for literals inside it, and the allowlist still applies", async () => {
    await using server = await startLoopbackServer();
    await using listed = testClient({ network: ["127.0.0.1"] });
    expect((await listed.request({ method: "GET", url: `http://127.0.0.1:${server.port}/` })).status).toBe(200);

    await using unlisted = testClient({ network: ["api.test"] });
    await expectRefusal(
      unlisted.request({ method: "GET", url: `http://127.0.0.1:${server.port}/` }),
      "HTTP_HOST_NOT_ALLOWED",
      "host not in network allowlist",
    );
    expect(server.connectionCount).toBe(1);
  });

  it("two clients share no rate counter: plugin A exhausted, plugin B unaffected", async () => {
    await using server = await startLoopbackServer();
    const clock = createFakeClock();
    await using a = testClient({ maxRequestsPerMinute: 2, now: clock.now });
    clearConnectionAttempts();
    await using b = new SandboxedHttpClient({
      ...PLUGIN,
      pluginId: "com.example.other",
      network: ["api.test"],
      resolve: tableResolver({ "api.test": ["127.0.0.1"] }),
      allowPrivateCidrs: ["127.0.0.1/32"],
      maxRequestsPerMinute: 2,
      now: clock.now,
    });
    const url = `http://api.test:${server.port}/`;
    await a.request({ method: "GET", url });
    await a.request({ method: "GET", url });
    await expectRefusal(a.request({ method: "GET", url }), "HTTP_RATE_LIMITED", "rate limit exceeded: HTTP requests");
    expect((await b.request({ method: "GET", url })).status).toBe(200);
    expect((await b.request({ method: "GET", url })).status).toBe(200);
  });
});

describe("properties of the address checks", () => {
  const loopbackAnswer = fc.oneof(
    fc.constant("127.0.0.1"),
    fc.tuple(fc.nat({ max: 255 }), fc.nat({ max: 255 }), fc.integer({ min: 2, max: 254 })).map(([a, b, c]) => `127.${a}.${b}.${c}`),
    fc.constant("::1"),
    fc.constant("::ffff:127.0.0.2"),
  );

  it("any answer outside allowPrivateCidrs refuses the request with no connection; all-allowed answers connect to 127.0.0.1", async () => {
    await using server = await startLoopbackServer();
    await fc.assert(
      fc.asyncProperty(fc.array(loopbackAnswer, { minLength: 1, maxLength: 5 }), async (answers) => {
        const resolve = tableResolver({ "api.test": answers });
        await using client = testClient({ resolve });
        clearConnectionAttempts();
        const before = server.requests.length;
        const promise = client.request({ method: "GET", url: `http://api.test:${server.port}/` });
        if (answers.every((a) => a === "127.0.0.1")) {
          expect((await promise).status).toBe(200);
          expect(server.requests.length).toBe(before + 1);
          const tcp = connectionAttempts().filter((a) => a.kind === "tcp");
          expect(tcp.every((a) => a.address === "127.0.0.1")).toBe(true);
        } else {
          await expectRefusal(promise, "HTTP_PRIVATE_IP", PRIVATE);
          expect(server.requests.length).toBe(before);
          expect(connectionAttempts()).toEqual([]);
        }
        expect(resolve.calls).toEqual(["api.test"]);
      }),
      { numRuns: 60 },
    );
  });

  it("a private literal is refused before any connection unless it is inside allowPrivateCidrs", async () => {
    // A port nobody listens on: a literal that gets through fails to connect (HTTP_NETWORK).
    const closed = await startLoopbackServer();
    const port = closed.port;
    await closed.close();
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(fc.nat({ max: 255 }), fc.nat({ max: 255 }), fc.integer({ min: 1, max: 254 })),
        fc.integer({ min: 8, max: 32 }),
        async ([a, b, c], prefix) => {
          const literal = `127.${a}.${b}.${c}`;
          const addr = ((127 << 24) | (a << 16) | (b << 8) | c) >>> 0;
          const mask = (0xffffffff << (32 - prefix)) >>> 0;
          const inside = (addr & mask) >>> 0 === ((127 << 24) & mask) >>> 0;
          const resolve = tableResolver({});
          await using client = testClient({ network: ["*"], resolve, allowPrivateCidrs: [`127.0.0.0/${prefix}`] });
          clearConnectionAttempts();
          const promise = client.request({ method: "GET", url: `http://${literal}:${port}/` });
          if (inside) {
            // The private refusal is lifted for this address only; the connection is tried.
            await expectRefusal(promise, "HTTP_NETWORK");
            expect(connectionAttempts().some((x) => x.address === literal)).toBe(true);
          } else {
            await expectRefusal(promise, "HTTP_PRIVATE_IP", PRIVATE);
            expect(connectionAttempts()).toEqual([]);
          }
          expect(resolve.calls).toEqual([]);
        },
      ),
      { numRuns: 60 },
    );
  });
});
