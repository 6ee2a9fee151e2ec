import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { NO_PERMISSIONS, type LifecycleConsentRequest } from "@clawft/host";
import { createConsentCallback, parsePreGrants, preGrantRefusal } from "./consent.js";
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

  it("T64 a pre-grant refusal lists every missing permission whole, never cut", () => {
    const long = `/srv/${"p".repeat(1019)}`;
    const grants = parsePreGrants(JSON.stringify({ "com.example.weather": { filesystem: ["cache/"] } }));
    expect(preGrantRefusal(request({ permissions: { ...NO_PERMISSIONS, filesystem: ["cache", long] } }), { yes: false, grants })).toBe(
      `not in the grant file: filesystem: ${long}`,
    );
  });

  it("the prompt is host's formatConsentRequest, escaped: manifest text cannot fake lines", async () => {
    const shown = interactive("n");
    await shown.approve(request({ name: "W\u001b[2K\rSafe", permissions: { ...NO_PERMISSIONS, shell: true } }));
    expect(shown.shown()).not.toMatch(/\u001b/);
    expect(shown.shown()).toContain('"W\\x1b[2K\\rSafe"');
    expect(safeText("a\u202eb")).toBe("a\\u202eb");
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
