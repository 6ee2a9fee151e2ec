import dns from "node:dns";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { request } from "undici";
import { connectionAttempts, startLoopbackServer, takeGuardViolations } from "./index.js";

// These tests prove the guard refuses before any packet is sent: every refused
// call throws synchronously inside Socket#connect, before the real connect runs.
describe("network guard", () => {
  it("throws on a TCP connection to a non-loopback literal (no socket is opened)", () => {
    expect(() => net.connect({ host: "192.0.2.1", port: 80 })).toThrow(/network guard/);
    expect(takeGuardViolations()).toHaveLength(1);
  });

  it("throws on an IPv6 non-loopback literal and an IPv4-mapped non-loopback", () => {
    expect(() => net.connect({ host: "2001:db8::1", port: 80 })).toThrow(/network guard/);
    expect(() => net.connect({ host: "::ffff:192.0.2.1", port: 80 })).toThrow(/network guard/);
    expect(takeGuardViolations()).toHaveLength(2);
  });

  it("throws on a DNS lookup of a public name", async () => {
    expect(() => dns.lookup("example.com", () => {})).toThrow(/DNS lookup of example.com/);
    await expect(dns.promises.lookup("example.com")).rejects.toThrow(/network guard/);
    expect(takeGuardViolations()).toHaveLength(2);
  });

  it("refuses a name whose injected lookup answers a non-loopback address", async () => {
    const socket = net.connect({
      host: "evil.test",
      port: 9,
      lookup: (_h, _o, cb) => (cb as (e: null, a: string, f: number) => void)(null, "192.0.2.7", 4),
    });
    const err = await new Promise<Error>((resolve) => socket.once("error", resolve));
    expect(err.message).toMatch(/evil.test resolved to 192.0.2.7/);
    expect(takeGuardViolations()).toHaveLength(1);
  });

  it("lets loopback traffic through and records it", async () => {
    const server = await startLoopbackServer();
    try {
      const res = await request(server.url);
      expect(await res.body.json()).toEqual({ ok: true });
      expect(server.connectionCount).toBe(1);
      expect(connectionAttempts().some((a) => a.host === "127.0.0.1" && a.allowed)).toBe(true);
    } finally {
      await server.close();
    }
  });
});
