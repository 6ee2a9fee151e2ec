import { describe, expect, it } from "vitest";
import { createFakeClock } from "@clawft/test-utils";
import { ManifestError, type PluginManifest } from "./manifest.js";
import { PluginSandbox } from "./sandbox.js";
import { CidrList } from "./cidr.js";
import { checkUrl } from "./check-url.js";

const manifest = {
  id: "com.example.weather",
  name: "Weather",
  version: "1.2.3",
  capabilities: ["tool"],
  permissions: {
    network: ["api.weather.example", "*.cdn.example", "127.0.0.1", "localhost"],
    filesystem: ["/data/weather"],
    env_vars: ["WEATHER_URL", "WEATHER_TOKEN"],
    shell: true,
  },
  resources: { max_http_requests_per_minute: 3, max_log_messages_per_minute: 2, max_fuel: 5e10 },
};

describe("PluginSandbox.fromManifest", () => {
  it("exposes the plugin's grants, clamped resources and warnings", () => {
    const sb = PluginSandbox.fromManifest(manifest);
    expect(sb.pluginId).toBe("com.example.weather");
    expect(sb.pluginVersion).toBe("1.2.3");
    expect(sb.networkEntries).toEqual(manifest.permissions.network);
    expect(sb.filesystem).toEqual(["/data/weather"]);
    expect(sb.envVars).toEqual(["WEATHER_URL", "WEATHER_TOKEN"]);
    expect(sb.resources.maxFuel).toBe(10_000_000_000);
    expect(sb.resources.maxHttpRequestsPerMinute).toBe(3);
    expect(sb.warnings[0]).toMatch(/^resources\.max_fuel: .* clamped/);
    expect(Object.isFrozen(sb)).toBe(true);
    expect(Object.isFrozen(sb.resources)).toBe(true);
    expect(Object.isFrozen(sb.manifest.permissions.network)).toBe(true);
  });

  it("T39 shell is granted only when asked for AND approved", () => {
    expect(PluginSandbox.fromManifest(manifest).shell).toBe(false);
    expect(PluginSandbox.fromManifest(manifest, { approvals: { shell: false } }).shell).toBe(false);
    expect(PluginSandbox.fromManifest(manifest, { approvals: { shell: true } }).shell).toBe(true);
    const noShell = { ...manifest, permissions: { ...manifest.permissions, shell: false } };
    expect(PluginSandbox.fromManifest(noShell, { approvals: { shell: true } }).shell).toBe(false);
  });

  it("T40 sensitive env vars are readable only when approved; others when listed", () => {
    const env = { WEATHER_URL: "https://w", WEATHER_TOKEN: "t0k", HOME: "/root", OTHER: "x" };
    const sb = PluginSandbox.fromManifest(manifest);
    expect(sb.readEnv("WEATHER_URL", env)).toBe("https://w");
    expect(sb.readEnv("WEATHER_TOKEN", env)).toBeUndefined();
    expect(sb.explainEnvAccess("WEATHER_TOKEN")).toBe("needs-approval");
    expect(sb.readEnv("OTHER", env)).toBeUndefined();
    const approved = PluginSandbox.fromManifest(manifest, { approvals: { env_vars: ["WEATHER_TOKEN"] } });
    expect(approved.readEnv("WEATHER_TOKEN", env)).toBe("t0k");
    expect(approved.envAccess("HOME")).toBe(false);
  });

  it("checkUrl uses the plugin's allowlist; private literals need the operator's opt-in AND a listing", () => {
    const sb = PluginSandbox.fromManifest(manifest);
    expect(sb.checkUrl("https://api.weather.example/today").ok).toBe(true);
    expect(sb.checkUrl("https://img.cdn.example/a.png").ok).toBe(true);
    const r = sb.checkUrl("http://127.0.0.1:8080/");
    expect(!r.ok && r.code).toBe("PRIVATE_IP");

    const local = PluginSandbox.fromManifest(manifest, { overrides: { allowPrivateCidrs: ["127.0.0.0/8"] } });
    expect(local.allowPrivateCidrs).toEqual(["127.0.0.0/8"]);
    const ok = local.checkUrl("http://127.0.0.1:8080/");
    expect(ok.ok && ok.host).toBe("127.0.0.1");
    // Inside the range but not listed: still refused by the allowlist.
    const unlisted = local.checkUrl("http://127.0.0.2/");
    expect(!unlisted.ok && unlisted.code).toBe("HOST_NOT_ALLOWED");
    // Outside the range: still private.
    const metadata = local.checkUrl("http://169.254.169.254/");
    expect(!metadata.ok && metadata.code).toBe("PRIVATE_IP");
  });

  it("isAddressAllowed judges resolved addresses (for DNS answers)", () => {
    const sb = PluginSandbox.fromManifest(manifest, { overrides: { allowPrivateCidrs: ["127.0.0.1/32", "fd00::/8"] } });
    expect(sb.isAddressAllowed("93.184.215.14")).toBe(true);
    expect(sb.isAddressAllowed("127.0.0.1")).toBe(true);
    expect(sb.isAddressAllowed("::ffff:127.0.0.1")).toBe(true);
    expect(sb.isAddressAllowed("fd12::1")).toBe(true);
    expect(sb.isAddressAllowed("127.0.0.2")).toBe(false);
    expect(sb.isAddressAllowed("10.0.0.1")).toBe(false);
    expect(sb.isAddressAllowed("not an ip")).toBe(false);
    expect(sb.isAddressAllowed("127.1")).toBe(false);
    expect(PluginSandbox.fromManifest(manifest).isAddressAllowed("127.0.0.1")).toBe(false);
  });

  it("overrides lower resources and never raise them", () => {
    const sb = PluginSandbox.fromManifest(manifest, {
      overrides: { resources: { maxMemoryMb: 8, maxHttpRequestsPerMinute: 100, maxFuel: 500_000_000 } },
    });
    expect(sb.resources.maxMemoryMb).toBe(8);
    expect(sb.resources.maxHttpRequestsPerMinute).toBe(3);
    expect(sb.resources.maxFuel).toBe(500_000_000);
    expect(sb.httpCounter.limit).toBe(3);
  });

  it("T52 get-env lookups are limited per plugin: max_env_lookups_per_minute (default 1000), lowered by an override, a fresh window refills", () => {
    expect(PluginSandbox.fromManifest(manifest).envCounter.limit).toBe(1000);
    const clock = createFakeClock();
    const limited = { ...manifest, resources: { max_env_lookups_per_minute: 5 } };
    const a = PluginSandbox.fromManifest(limited, { now: clock.now });
    const b = PluginSandbox.fromManifest(limited, { now: clock.now, overrides: { resources: { maxEnvLookupsPerMinute: 2 } } });
    for (let i = 0; i < 5; i++) expect(a.envCounter.tryAcquire()).toBe(true);
    expect(a.envCounter.tryAcquire()).toBe(false);
    expect([b.envCounter.tryAcquire(), b.envCounter.tryAcquire(), b.envCounter.tryAcquire()]).toEqual([true, true, false]);
    clock.advance(60_000);
    expect(a.envCounter.tryAcquire()).toBe(true);
    expect(() => PluginSandbox.fromManifest({ ...manifest, resources: { max_env_lookups_per_minute: -1 } })).toThrow(/max_env_lookups_per_minute/);
  });

  it("T44 two sandboxes from one manifest share no counters", () => {
    const clock = createFakeClock();
    const a = PluginSandbox.fromManifest(manifest, { now: clock.now });
    const b = PluginSandbox.fromManifest(manifest, { now: clock.now });
    expect(a.httpCounter).not.toBe(b.httpCounter);
    expect(a.logLimiter).not.toBe(b.logLimiter);
    for (let i = 0; i < 3; i++) expect(a.httpCounter.tryAcquire()).toBe(true);
    expect(a.httpCounter.tryAcquire()).toBe(false);
    expect(b.httpCounter.tryAcquire()).toBe(true);
    expect(a.logLimiter.tryLog() && a.logLimiter.tryLog()).toBe(true);
    expect(a.logLimiter.tryLog()).toBe(false);
    expect(b.logLimiter.tryLog()).toBe(true);
    expect(b.logLimiter.dropped).toBe(0);
    clock.advance(60_000);
    expect(a.httpCounter.tryAcquire()).toBe(true);
    expect(a.logLimiter.takeDropped()).toBe(1);
  });

  it("never shares or mutates the caller's manifest", () => {
    const input = JSON.parse(JSON.stringify(manifest)) as PluginManifest;
    const sb = PluginSandbox.fromManifest(input);
    input.permissions.network.push("evil.example");
    expect(sb.network.allows("evil.example")).toBe(false);
    expect(sb.networkEntries).not.toContain("evil.example");
    expect(input.resources.max_fuel).toBe(5e10);
  });

  it("validates the manifest and the options, naming the field", () => {
    expect(() => PluginSandbox.fromManifest({ ...manifest, id: "x" })).toThrow(ManifestError);
    expect(() => PluginSandbox.fromManifest(manifest, { overrides: { allowPrivateCidrs: ["127.0.0.1"] } })).toThrow(
      /^overrides\.allowPrivateCidrs\[0\] must be a CIDR/,
    );
    expect(() => PluginSandbox.fromManifest(manifest, { overrides: { resources: { maxFuel: -1 } } })).toThrow(
      /^overrides\.resources\.maxFuel must be an integer >= 0/,
    );
    expect(() => PluginSandbox.fromManifest(manifest, { overrides: { resources: { gpus: 1 } as never } })).toThrow(
      /^overrides\.resources\.gpus is not a resource limit/,
    );
    expect(() => PluginSandbox.fromManifest(manifest, { approvals: { env_vars: "A" as never } })).toThrow(
      /^approvals\.env_vars must be an array of strings/,
    );
    expect(() => PluginSandbox.fromManifest(manifest, { approvals: { shell: "yes" as never } })).toThrow(
      /^approvals\.shell must be a boolean/,
    );
    expect(() => PluginSandbox.fromManifest(manifest, { now: 5 as never })).toThrow(/^now must be a function/);
  });

  it("accepts manifest JSON text", () => {
    expect(PluginSandbox.fromManifest(JSON.stringify(manifest)).pluginId).toBe("com.example.weather");
  });
});

describe("CidrList", () => {
  it("matches IPv4 and IPv6 ranges, mapped addresses as IPv4", () => {
    const list = new CidrList(["10.0.0.0/8", "192.168.1.0/24", "fd00::/8", "::1/128"]);
    expect(list.contains("10.1.2.3")).toBe(true);
    expect(list.contains("::ffff:10.1.2.3")).toBe(true);
    expect(list.contains("192.168.1.77")).toBe(true);
    expect(list.contains("192.168.2.1")).toBe(false);
    expect(list.contains("fdff::1")).toBe(true);
    expect(list.contains("::1")).toBe(true);
    expect(list.contains("[::1]")).toBe(true);
    expect(list.contains("fe80::1%eth0")).toBe(false);
    expect(list.contains("11.0.0.1")).toBe(false);
    expect(list.contains("garbage")).toBe(false);
  });

  it.each([["127.0.0.1"], ["10.0.0.0/33"], ["fd00::/129"], ["localhost/8"], ["127.1/8"], ["[::1]/128"], ["fe80::%eth0/64"], ["10.0.0.0/-1"], ["10.0.0.0/"]])(
    "rejects %j",
    (cidr) => {
      expect(() => new CidrList(["127.0.0.0/8", cidr])).toThrow(/^allowPrivateCidrs\[1\] must be a CIDR/);
    },
  );

  it("isInstance recognises the brand, not the class", () => {
    expect(CidrList.isInstance(new CidrList(["10.0.0.0/8"]))).toBe(true);
    expect(CidrList.isInstance({ contains: () => true })).toBe(false);
    const foreign = { [Symbol.for("clawft.CidrList")]: true, contains: (ip: string) => ip === "127.0.0.1" };
    expect(CidrList.isInstance(foreign)).toBe(true);
    expect(checkUrl("http://127.0.0.1/", ["127.0.0.1"], { allowPrivateCidrs: foreign as unknown as CidrList }).ok).toBe(true);
  });

  it("checkUrl with malformed CIDRs never throws; the valid ones apply", () => {
    const r = checkUrl("http://127.0.0.1/", ["127.0.0.1"], { allowPrivateCidrs: ["bad", "127.0.0.1/32"] });
    expect(r.ok).toBe(true);
    const refused = checkUrl("http://127.0.0.1/", ["127.0.0.1"], { allowPrivateCidrs: ["bad"] });
    expect(!refused.ok && refused.code).toBe("PRIVATE_IP");
    expect(checkUrl("http://127.0.0.1/", ["*"], null as never).ok).toBe(false);
  });
});
