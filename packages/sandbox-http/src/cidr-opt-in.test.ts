/**
 * `allowPrivateCidrs` is judged by sandbox-policy's `CidrList`, the matcher
 * `PluginSandbox` uses: for random lists and addresses the client's decision
 * (through real requests, with an injected loopback-only resolver) equals
 * `new CidrList(list).contains(address)`. Nothing here reaches a non-loopback
 * address: private literals outside `network` are refused before any
 * connection either way, and resolved answers are loopback only.
 */
import { CidrList, isPrivateIp, type ClawftError } from "@clawft/sandbox-policy";
import { clearConnectionAttempts, connectionAttempts, startLoopbackServer } from "@clawft/test-utils";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SandboxedHttpClient } from "./client.js";
import { HttpOptionsError, resolveOptions } from "./options.js";
import { PLUGIN, expectRefusal, tableResolver } from "./test-helpers.js";

const PRIVATE = "request to private/reserved IP denied";

const octet = fc.nat({ max: 255 });
const v4Text = fc.tuple(octet, octet, octet, octet).map((o) => o.join("."));
const group = fc.nat({ max: 0xffff }).map((g) => g.toString(16));

/** Loopback addresses in every spelling a resolver may answer. */
const loopback = fc.oneof(
  fc.tuple(octet, octet, fc.integer({ min: 1, max: 254 })).map(([a, b, c]) => `127.${a}.${b}.${c}`),
  fc.constant("127.0.0.1"),
  fc.constant("::1"),
  fc.tuple(octet, octet, fc.integer({ min: 1, max: 254 })).map(([a, b, c]) => `::ffff:127.${a}.${b}.${c}`),
  fc.tuple(octet, fc.integer({ min: 1, max: 254 })).map(([b, c]) => `::ffff:7f00:${((b << 8) | c).toString(16)}`),
);

/** Private addresses of many kinds (no zone: a URL cannot carry one). */
const privateAddress = fc
  .oneof(
    fc.tuple(fc.constantFrom(0, 10, 100, 127, 169, 172, 192, 198, 224, 240), octet, octet, octet).map((o) => o.join(".")),
    fc.tuple(fc.constantFrom("fd12", "fc00", "fe80", "", "2001:db8", "64:ff9b"), group, group).map(
      ([head, a, b]) => `${head}::${a}:${b}`,
    ),
    v4Text.map((v4) => `::ffff:${v4}`),
    loopback,
  )
  .filter((ip) => isPrivateIp(ip));

/** CIDR entries near those addresses (so that hits are common), in every accepted form. */
const cidr = fc.oneof(
  fc.tuple(fc.constantFrom("127.0.0.0", "127.0.0.1", "10.0.0.0", "169.254.169.254", "192.168.0.0", "0.0.0.0"), fc.integer({ min: 0, max: 32 })).map(
    ([a, p]) => `${a}/${p}`,
  ),
  fc.tuple(v4Text, fc.integer({ min: 0, max: 32 })).map(([a, p]) => `${a}/${p}`),
  fc.tuple(fc.constantFrom("127.0.0.0", "10.0.0.0", "169.254.0.0", "0.0.0.0"), fc.integer({ min: 96, max: 128 })).map(
    ([a, p]) => `::ffff:${a}/${p}`,
  ),
  fc.tuple(fc.constantFrom("::", "::1", "::ffff:0:0", "fd00::", "fe80::", "64:ff9b::"), fc.integer({ min: 0, max: 128 })).map(
    ([a, p]) => `${a}/${p}`,
  ),
);
const cidrList = fc.array(cidr, { minLength: 1, maxLength: 4 });

function urlHost(ip: string): string {
  return ip.includes(":") ? `[${ip}]` : ip;
}

describe("allowPrivateCidrs uses sandbox-policy's CidrList rule", () => {
  it("private literal in the URL: the client's opt-in decision equals new CidrList(list).contains(address)", async () => {
    // `network` does not list the literal: inside the opt-in the request is
    // refused as HTTP_HOST_NOT_ALLOWED, outside as HTTP_PRIVATE_IP. Either way
    // no DNS query and no connection happen.
    await fc.assert(
      fc.asyncProperty(cidrList, privateAddress, async (list, address) => {
        const resolve = tableResolver({});
        await using client = new SandboxedHttpClient({ ...PLUGIN, network: ["only.test"], resolve, allowPrivateCidrs: list });
        clearConnectionAttempts();
        const inside = new CidrList(list).contains(address);
        const promise = client.request({ method: "GET", url: `http://${urlHost(address)}/` });
        if (inside) await expectRefusal(promise, "HTTP_HOST_NOT_ALLOWED", "host not in network allowlist");
        else await expectRefusal(promise, "HTTP_PRIVATE_IP", PRIVATE);
        expect(resolve.calls).toEqual([]);
        expect(connectionAttempts()).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it("resolved address: the client's opt-in decision equals new CidrList(list).contains(answer)", async () => {
    // A port nobody listens on: an answer inside the opt-in is connected to
    // (and fails there); one outside is refused with no connection attempt.
    const closed = await startLoopbackServer();
    const port = closed.port;
    await closed.close();
    await fc.assert(
      fc.asyncProperty(cidrList, loopback, async (list, answer) => {
        const resolve = tableResolver({ "opt.test": [answer] });
        await using client = new SandboxedHttpClient({
          ...PLUGIN,
          network: ["opt.test"],
          resolve,
          allowPrivateCidrs: list,
          timeoutMs: 5000,
        });
        clearConnectionAttempts();
        const inside = new CidrList(list).contains(answer);
        let refusal: unknown;
        try {
          await client.request({ method: "GET", url: `http://opt.test:${port}/` });
        } catch (error) {
          refusal = error;
        }
        const tcp = connectionAttempts().filter((a) => a.kind === "tcp");
        if (inside) {
          expect((refusal as ClawftError | undefined)?.code).not.toBe("HTTP_PRIVATE_IP");
          expect(tcp.length).toBeGreaterThan(0);
        } else {
          expect((refusal as ClawftError | undefined)?.code).toBe("HTTP_PRIVATE_IP");
          expect(connectionAttempts()).toEqual([]);
        }
        expect(resolve.calls).toEqual(["opt.test"]);
      }),
      { numRuns: 80 },
    );
  });

  it("resolveOptions builds a CidrList whose answers equal a fresh CidrList's for random lists and addresses", () => {
    fc.assert(
      fc.property(cidrList, fc.oneof(privateAddress, v4Text), (list, address) => {
        const { options, allowedPrivate } = resolveOptions({ ...PLUGIN, network: [], allowPrivateCidrs: list });
        expect(CidrList.isInstance(allowedPrivate)).toBe(true);
        expect(options.allowPrivateCidrs).toEqual(list);
        expect(allowedPrivate.contains(address)).toBe(new CidrList(list).contains(address));
      }),
      { numRuns: 500 },
    );
  });

  it("::/0 (all IPv6) does not open IPv4 destinations such as 169.254.169.254, literal or IPv4-mapped", async () => {
    await using client = new SandboxedHttpClient({
      ...PLUGIN,
      network: ["*", "169.254.169.254", "::ffff:a9fe:a9fe"],
      resolve: tableResolver({}),
      allowPrivateCidrs: ["::/0"],
    });
    clearConnectionAttempts();
    for (const host of ["169.254.169.254", "[::ffff:169.254.169.254]", "127.0.0.1"]) {
      await expectRefusal(client.request({ method: "GET", url: `http://${host}/` }), "HTTP_PRIVATE_IP", PRIVATE);
    }
    expect(connectionAttempts()).toEqual([]);
  });

  it("a range in IPv4-mapped form (::ffff:127.0.0.0/104) lets a resolved 127.0.0.1 through, like 127.0.0.0/8", async () => {
    await using server = await startLoopbackServer();
    await using client = new SandboxedHttpClient({
      ...PLUGIN,
      network: ["api.test"],
      resolve: tableResolver({ "api.test": ["127.0.0.1"] }),
      allowPrivateCidrs: ["::ffff:127.0.0.0/104"],
    });
    expect((await client.request({ method: "GET", url: `http://api.test:${server.port}/` })).status).toBe(200);
  });

  it("a zoned answer (fe80::1%lo) is never inside the opt-in, even under fe80::/10, and nothing is connected", async () => {
    // The resolver is hand-written: the table resolver only answers loopback.
    const answers = ["fe80::1%lo"];
    await using client = new SandboxedHttpClient({
      ...PLUGIN,
      network: ["zone.test"],
      resolve: async () => answers,
      allowPrivateCidrs: ["fe80::/10"],
    });
    clearConnectionAttempts();
    await expectRefusal(client.request({ method: "GET", url: "http://zone.test:9/" }), "HTTP_PRIVATE_IP", PRIVATE);
    expect(connectionAttempts()).toEqual([]);
  });

  it.each([
    ["whitespace around an entry", " 127.0.0.1/32"],
    ["a trailing newline", "127.0.0.1/32\n"],
    ["a prefix with a leading zero", "127.0.0.0/08"],
    ["a zone id", "fe80::%eth0/10"],
    ["brackets", "[::1]/128"],
  ])("refuses %s with HttpOptionsError, the CidrList message and the TypeError as cause", (_name, entry) => {
    let caught: unknown;
    try {
      new SandboxedHttpClient({ ...PLUGIN, network: [], allowPrivateCidrs: ["10.0.0.0/8", entry] });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(HttpOptionsError);
    const e = caught as HttpOptionsError;
    expect(e.code).toBe("HTTP_INVALID_OPTIONS");
    expect(e.message).toBe('allowPrivateCidrs[1] must be a CIDR such as "127.0.0.1/32" or "fd00::/8"');
    expect(e.cause).toBeInstanceOf(TypeError);
    expect((e.cause as TypeError).message).toBe(e.message);
  });

  it("a non-array keeps today's message", () => {
    expect(() => new SandboxedHttpClient({ ...PLUGIN, network: [], allowPrivateCidrs: "10.0.0.0/8" as unknown as string[] })).toThrow(
      /^allowPrivateCidrs must be an array of CIDR strings$/,
    );
  });
});
