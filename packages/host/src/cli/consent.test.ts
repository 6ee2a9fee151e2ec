import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import type { LifecycleConsentRequest } from "../lifecycle/options.js";
import { NO_PERMISSIONS } from "../lifecycle/permissions.js";
import { createConsentCallback, formatConsentRequest, parsePreGrants, preGrantRefusal } from "./consent.js";
import { parseSince, safeText } from "./format.js";

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

function interactive(answer: string) {
  const input = new PassThrough();
  const output = new PassThrough();
  let shown = "";
  output.on("data", (c: Buffer) => (shown += c.toString()));
  const refusals: string[] = [];
  const approve = createConsentCallback({ yes: false, grants: undefined, interactive: true, input, output }, (why) =>
    refusals.push(why),
  );
  setTimeout(() => input.write(`${answer}\n`), 10);
  return { approve, shown: () => shown, refusals };
}

describe("CLI consent", () => {
  it("T39 asks on a terminal and grants only on an explicit yes", async () => {
    const yes = interactive("y");
    await expect(yes.approve(request({ permissions: { ...NO_PERMISSIONS, shell: true } }))).resolves.toBe(true);
    expect(yes.shown()).toContain("+ shell: run shell commands");
    expect(yes.shown()).toContain("Allow? [y/N]");
    for (const answer of ["", "n", "no", "yess", "maybe"]) {
      const no = interactive(answer);
      await expect(no.approve(request())).resolves.toBe(false);
      expect(no.refusals).toEqual(["refused at the prompt"]);
    }
  });

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

  it("manifest text cannot inject terminal escapes or fake lines into the prompt", () => {
    const text = formatConsentRequest(
      request({ name: "W\u001b[2K\rSafe", description: "ok\n  + nothing else\u001b[8m", permissions: { ...NO_PERMISSIONS, shell: true } }),
    );
    expect(text).not.toMatch(/\u001b/);
    expect(text.split("\n")).toHaveLength(3);
    expect(safeText("a\u202eb")).toBe("a\\u202eb");
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
    const grants = parsePreGrants(JSON.stringify({ "com.example.weather": { filesystem: ["cache/"] } }));
    expect(preGrantRefusal(request({ permissions: { ...NO_PERMISSIONS, filesystem: ["cache", long] } }), { yes: false, grants })).toBe(
      `not in the grant file: filesystem: ${long}`,
    );
  });

  it("T65 id, version, name and permission values are escaped in the prompt, never cut", () => {
    const name = `${"N".repeat(250)}\u202e\u2066`;
    const text = formatConsentRequest(request({ name, version: "1.0.0-\u001b", permissions: { ...NO_PERMISSIONS, env_vars: ["A\u0085B"] } }));
    expect(text.split("\n")).toEqual([
      `Plugin com.example.weather 1.0.0-\\x1b "${"N".repeat(250)}\\u202e\\u2066" asks for:`,
      "  + env: A\\x85B",
    ]);
  });

  it("non-interactive: refused unless --yes or the grant file lists every requested permission", () => {
    expect(preGrantRefusal(request(), { yes: true, grants: undefined })).toBeUndefined();
    expect(preGrantRefusal(request(), { yes: false, grants: undefined })).toMatch(/pass --yes or a --grant file/);
    const grants = parsePreGrants(
      JSON.stringify({ "com.example.weather": { network: ["api.weather.example"], env_vars: ["WEATHER_KEY"] } }),
    );
    expect(preGrantRefusal(request(), { yes: false, grants })).toBeUndefined();
    expect(
      preGrantRefusal(request({ permissions: { ...NO_PERMISSIONS, network: ["*"] } }), { yes: false, grants }),
    ).toBe("not in the grant file: network: any public host (*)");
    expect(preGrantRefusal(request({ pluginId: "com.other.plugin" }), { yes: false, grants })).toMatch(/not approved/);
    expect(() => parsePreGrants('{"a.b": {"shell": "yes"}}')).toThrow(/shell must be a boolean/);
    expect(() => parsePreGrants("[]")).toThrow(/JSON object/);
  });

  it("--since takes ISO times and durations", () => {
    const now = Date.parse("2026-11-25T12:00:00Z");
    expect(parseSince("2h", now)).toBe(now - 2 * 3600e3);
    expect(parseSince("15m", now)).toBe(now - 15 * 60e3);
    expect(parseSince("2026-11-25T10:00:00Z", now)).toBe(Date.parse("2026-11-25T10:00:00Z"));
    expect(parseSince("yesterday", now)).toBeUndefined();
    expect(parseSince("12", now)).toBeUndefined();
  });
});
