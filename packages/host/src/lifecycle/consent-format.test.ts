import { describe, expect, it } from "vitest";
import { formatConsentRequest } from "./consent-format.js";
import type { LifecycleConsentRequest } from "./options.js";
import { NO_PERMISSIONS } from "./permissions.js";

const request = (over: Partial<LifecycleConsentRequest> = {}): LifecycleConsentRequest => ({
  pluginId: "com.example.weather",
  version: "1.1.0",
  name: "Weather",
  reason: "install",
  permissions: { network: ["api.weather.example"], filesystem: [], env_vars: ["WEATHER_KEY"], shell: false },
  alreadyApproved: { ...NO_PERMISSIONS },
  dataFolder: "/home/u/.clawft/data/com.example.weather",
  ...over,
});

describe("formatConsentRequest", () => {
  it("T41 the prompt of an upgrade shows the new permissions apart from the kept ones", () => {
    const text = formatConsentRequest(
      request({
        reason: "upgrade",
        previousVersion: "1.0.0",
        permissions: { ...NO_PERMISSIONS, network: ["tiles.weather.example"] },
        alreadyApproved: { ...NO_PERMISSIONS, network: ["api.weather.example"] },
      }),
    );
    expect(text).toBe(
      [
        'Plugin com.example.weather (upgrade 1.0.0 -> 1.1.0) "Weather" asks for these NEW permissions:',
        "  + network: tiles.weather.example",
        "Already approved, kept:",
        "    network: api.weather.example",
      ].join("\n"),
    );
  });

  it("manifest text cannot inject terminal escapes or fake lines into the prompt; the description is cut at 500 characters", () => {
    const text = formatConsentRequest(
      request({ name: "W\u001b[2K\rSafe", description: "ok\n  + nothing else\u001b[8m", permissions: { ...NO_PERMISSIONS, shell: true } }),
    );
    expect(text).not.toMatch(/\u001b/);
    expect(text.split("\n")).toHaveLength(3);
    const long = formatConsentRequest(request({ description: "d".repeat(600) }));
    expect(long.split("\n").at(-1)).toBe(`Why (from its manifest): ${"d".repeat(499)}…`);
  });

  it("T64 permission lines are never cut; relative grants show the absolute folder they become", () => {
    const long = `/srv/${"p".repeat(1019)}`;
    const text = formatConsentRequest(
      request({
        permissions: { ...NO_PERMISSIONS, filesystem: [long, "cache"] },
        alreadyApproved: { ...NO_PERMISSIONS, filesystem: ["kept"] },
      }),
    );
    expect(text.split("\n")).toEqual([
      'Plugin com.example.weather 1.1.0 "Weather" asks for:',
      `  + filesystem: ${long}`,
      "  + filesystem: /home/u/.clawft/data/com.example.weather/cache (manifest: cache)",
      "Already approved, kept:",
      "    filesystem: /home/u/.clawft/data/com.example.weather/kept (manifest: kept)",
    ]);
  });

  it("T65 id, version, name and permission values are escaped in the prompt, never cut", () => {
    const name = `${"N".repeat(250)}\u202e\u2066`;
    const text = formatConsentRequest(request({ name, version: "1.0.0-\u001b", permissions: { ...NO_PERMISSIONS, env_vars: ["A\u0085B"] } }));
    expect(text.split("\n")).toEqual([
      `Plugin com.example.weather 1.0.0-\\x1b "${"N".repeat(250)}\\u202e\\u2066" asks for:`,
      "  + env: A\\x85B",
    ]);
  });
});
