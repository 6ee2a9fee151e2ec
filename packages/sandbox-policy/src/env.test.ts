import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { envAccess, explainEnvAccess, HARD_DENIED_ENV_VARS, readEnv } from "./env.js";

const env: Record<string, string | undefined> = {
  WEATHER_API_URL: "https://api.weather.example",
  OPENAI_API_KEY: "sk-secret",
  PATH: "/usr/bin",
  HOME: "/home/u",
  MY_TOKEN: "tok-123",
  db_password: "hunter2",
  EMPTY: "",
};

describe("env rule — catalogue", () => {
  it("T23 a listed variable that is set is read", () => {
    expect(readEnv("WEATHER_API_URL", ["WEATHER_API_URL"], env)).toBe("https://api.weather.example");
    expect(readEnv("EMPTY", ["EMPTY"], env)).toBe("");
  });

  it("T24 a listed variable that is not set reads as none", () => {
    expect(envAccess("NOT_SET_HERE", ["NOT_SET_HERE"])).toBe(true);
    expect(readEnv("NOT_SET_HERE", ["NOT_SET_HERE"], env)).toBeUndefined();
  });

  it("T25 a variable that is not listed reads as none, never an error", () => {
    expect(envAccess("WEATHER_API_URL", ["OTHER"])).toBe(false);
    expect(explainEnvAccess("WEATHER_API_URL", ["OTHER"])).toBe("not-listed");
    expect(readEnv("WEATHER_API_URL", ["OTHER"], env)).toBeUndefined();
  });

  it("T26 OPENAI_API_KEY is never readable, listed or not, approved or not, in any case", () => {
    expect(readEnv("OPENAI_API_KEY", [], env)).toBeUndefined();
    expect(readEnv("OPENAI_API_KEY", ["OPENAI_API_KEY"], env, { approved: ["OPENAI_API_KEY"] })).toBeUndefined();
    expect(explainEnvAccess("openai_api_key", ["openai_api_key"], { approved: ["openai_api_key"] })).toBe("hard-denied");
  });

  it("T27 an empty list reads nothing", () => {
    for (const name of Object.keys(env)) {
      expect(envAccess(name, [])).toBe(false);
      expect(readEnv(name, [], env)).toBeUndefined();
    }
  });
});

describe("env rule — details", () => {
  it("every hard-denied name is refused in any case even when listed and approved", () => {
    for (const name of HARD_DENIED_ENV_VARS) {
      for (const spelled of [name, name.toLowerCase(), name[0] + name.slice(1).toLowerCase()]) {
        expect(envAccess(spelled, [spelled], { approved: [spelled] })).toBe(false);
      }
    }
    expect(readEnv("PATH", ["PATH"], env)).toBeUndefined();
    expect(readEnv("Home", ["Home"], { Home: "/x" })).toBeUndefined();
  });

  it("names containing _SECRET, _PASSWORD or _TOKEN (any case) need listing AND approval", () => {
    for (const name of ["MY_TOKEN", "db_password", "GITHUB_TOKEN_X", "App_Secret_Key", "X_TOKEN"]) {
      expect(explainEnvAccess(name, [name])).toBe("needs-approval");
      expect(envAccess(name, [], { approved: [name] })).toBe(false);
      expect(envAccess(name, [name], { approved: [name] })).toBe(true);
      expect(envAccess(name, [name], { approved: [name.toUpperCase() === name ? name.toLowerCase() : name.toUpperCase()] })).toBe(false);
    }
    expect(readEnv("MY_TOKEN", ["MY_TOKEN"], env)).toBeUndefined();
    expect(readEnv("MY_TOKEN", ["MY_TOKEN"], env, { approved: ["MY_TOKEN"] })).toBe("tok-123");
  });

  it("other names need an exact (case-sensitive) listing", () => {
    expect(envAccess("weather_api_url", ["WEATHER_API_URL"])).toBe(false);
    expect(envAccess("WEATHER_API_URL ", ["WEATHER_API_URL"])).toBe(false);
    expect(envAccess("WEATHER", ["WEATHER_API_URL"])).toBe(false);
  });

  it("empty names, NUL and = are refused even when listed", () => {
    expect(explainEnvAccess("", [""])).toBe("invalid-name");
    expect(envAccess("PATH\0", ["PATH\0"])).toBe(false);
    expect(envAccess("WEATHER\0X", ["WEATHER\0X"])).toBe(false);
    expect(envAccess("A=B", ["A=B"])).toBe(false);
    expect(envAccess(undefined as unknown as string, [])).toBe(false);
    expect(envAccess(42 as unknown as string, [42 as unknown as string])).toBe(false);
  });

  it("object-prototype names never slip through", () => {
    const proto = ["__proto__", "constructor", "hasOwnProperty", "toString", "valueOf", "__defineGetter__"];
    for (const name of proto) {
      expect(envAccess(name, [])).toBe(false);
      expect(envAccess(name, ["OTHER"], { approved: [name] })).toBe(false);
      expect(readEnv(name, [], env)).toBeUndefined();
      // Listed, but only an inherited property exists: still none, and never a function.
      expect(readEnv(name, [name], {})).toBeUndefined();
    }
    const withProto = Object.create({ INHERITED: "x" }) as Record<string, string>;
    expect(readEnv("INHERITED", ["INHERITED"], withProto)).toBeUndefined();
  });

  it("a malformed allowlist or env never throws", () => {
    expect(envAccess("A", undefined as unknown as string[])).toBe(false);
    expect(readEnv("A", ["A"], null as unknown as Record<string, string>)).toBeUndefined();
    expect(readEnv("A", ["A"], { A: 5 } as unknown as Record<string, string>)).toBeUndefined();
  });

  it("property: access implies listed, valid and not hard-denied; sensitive implies approved", () => {
    const name = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom(...HARD_DENIED_ENV_VARS, "MY_TOKEN", "x_secret", "A_PASSWORD_B", "API_URL", "__proto__"),
    );
    fc.assert(
      fc.property(name, fc.array(name, { maxLength: 4 }), fc.array(name, { maxLength: 4 }), (n, list, approved) => {
        const ok = envAccess(n, list, { approved });
        if (!ok) return;
        expect(list).toContain(n);
        expect(n).not.toBe("");
        expect(n.includes("\0") || n.includes("=")).toBe(false);
        expect(HARD_DENIED_ENV_VARS).not.toContain(n.toUpperCase());
        if (/_SECRET|_PASSWORD|_TOKEN/i.test(n)) expect(approved).toContain(n);
      }),
      { numRuns: 2000 },
    );
  });
});
