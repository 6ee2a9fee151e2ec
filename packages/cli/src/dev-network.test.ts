import { describe, expect, it } from "vitest";
import { devNetworkWarning, devResolver, parseDevNetwork, usesDevNetwork } from "./dev-network.js";

describe("dev-only network flags", () => {
  it("T87 nothing is widened unless a flag is given; bad values are usage errors naming the flag", async () => {
    const none = parseDevNetwork([], []);
    expect(usesDevNetwork(none)).toBe(false);
    expect(devResolver(none)).toBeUndefined();
    expect(none.allowPrivateCidrs).toEqual([]);
    expect(() => parseDevNetwork(["127.0.0.300/8"], [])).toThrow(/^--allow-private-cidr: /);
    expect(() => parseDevNetwork([], ["api.example.com"])).toThrow(/^--resolve takes <host>=<IP address>/);
    expect(() => parseDevNetwork([], ["api.example.com=localhost"])).toThrow(/^--resolve takes/);
    const dev = parseDevNetwork(["127.0.0.0/8"], ["API.Example.com=127.0.0.1", "v6.example.com=[::1]"]);
    expect(usesDevNetwork(dev)).toBe(true);
    const resolve = devResolver(dev)!;
    expect(await resolve("api.example.com")).toEqual(["127.0.0.1"]);
    expect(await resolve("v6.example.com")).toEqual(["::1"]);
    expect(devNetworkWarning(dev, "com.example.weather")).toMatch(
      /^dev-only network flags for com\.example\.weather: --allow-private-cidr 127\.0\.0\.0\/8 .*--resolve api\.example\.com=127\.0\.0\.1, v6\.example\.com=::1 .*recorded in the audit log\)$/,
    );
  });
});
