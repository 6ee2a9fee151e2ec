import type { LookupAddress } from "node:dns";
import { clearConnectionAttempts, connectionAttempts, startLoopbackServer } from "@clawft/test-utils";
import { describe, expect, it } from "vitest";
import { PinnedPools, pinnedLookup, toPinned } from "./pinned-dispatcher.js";

function lookupOnce(
  fn: ReturnType<typeof pinnedLookup>,
  options: { all?: boolean; family?: number },
): Promise<{ err: unknown; address: string | LookupAddress[]; family?: number }> {
  return new Promise((resolve) => fn("anything.test", options, (err, address, family) => resolve({ err, address, family })));
}

describe("pinnedLookup", () => {
  const lookup = pinnedLookup([toPinned("127.0.0.1"), toPinned("::1")]);

  it("answers the pinned list in the { all: true } shape", async () => {
    const r = await lookupOnce(lookup, { all: true });
    expect(r.err).toBeNull();
    expect(r.address).toEqual([
      { address: "127.0.0.1", family: 4 },
      { address: "::1", family: 6 },
    ]);
  });

  it("answers the first pinned address in the (address, family) shape", async () => {
    const r = await lookupOnce(lookup, {});
    expect(r).toEqual({ err: null, address: "127.0.0.1", family: 4 });
  });

  it("honours a family filter and never answers anything else", async () => {
    expect((await lookupOnce(lookup, { family: 6 })).address).toBe("::1");
    const v6only = pinnedLookup([toPinned("::1")]);
    const r = await lookupOnce(v6only, { family: 4 });
    expect((r.err as NodeJS.ErrnoException).code).toBe("ENOTFOUND");
  });

  it("refuses to pin something that is not an IP address", () => {
    expect(() => toPinned("localhost")).toThrow(TypeError);
  });
});

describe("PinnedPools", () => {
  it("connects a host name to the pinned address without any DNS query, and reuses the pool", async () => {
    await using server = await startLoopbackServer();
    const pools = new PinnedPools({ timeoutMs: 5_000 });
    try {
      clearConnectionAttempts();
      const origin = `http://pinned.test:${server.port}`;
      const pool = await pools.get(origin, [toPinned("127.0.0.1")]);
      for (let i = 0; i < 2; i++) {
        const res = await pool.request({ method: "GET", path: "/x" });
        expect(await res.body.json()).toEqual({ ok: true });
      }
      expect(await pools.get(origin, [toPinned("127.0.0.1")])).toBe(pool);
      expect(await pools.get(origin, [toPinned("127.0.0.2")])).not.toBe(pool);
      expect(server.requests[0]?.headers.host).toBe(`pinned.test:${server.port}`);
      // The guard saw the connection go to the pinned address, and no DNS query at all.
      const attempts = connectionAttempts();
      expect(attempts.filter((a) => a.kind === "dns")).toEqual([]);
      const pinnedAttempts = attempts.filter((a) => a.host === "pinned.test");
      expect(pinnedAttempts.length).toBeGreaterThan(0);
      expect(new Set(pinnedAttempts.map((a) => a.address))).toEqual(new Set(["127.0.0.1"]));
      expect(server.requests).toHaveLength(2);
    } finally {
      await pools.close();
    }
  });

  it("keeps at most maxPools pools and refuses use after close", async () => {
    const pools = new PinnedPools({ timeoutMs: 1_000, maxPools: 2 });
    await pools.get("http://a.test", [toPinned("127.0.0.1")]);
    await pools.get("http://b.test", [toPinned("127.0.0.1")]);
    await pools.get("http://c.test", [toPinned("127.0.0.1")]);
    expect(pools.size).toBe(2);
    await pools.close();
    await expect(pools.get("http://a.test", [toPinned("127.0.0.1")])).rejects.toThrow(/closed/);
  });
});
