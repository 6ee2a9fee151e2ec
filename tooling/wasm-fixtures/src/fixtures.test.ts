import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { componentWit } from "@bytecodealliance/jco";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildAllFixtures,
  buildFixture,
  cacheDir,
  fixtureNames,
  fixturePath,
  fixtureSources,
  withExtraCoreInstances,
  type FixtureName,
} from "./build.js";
import { runComponent, type TestHost, type TestPlugin } from "./harness.js";

/** The jco way: an err result of an export is thrown as a ComponentError whose `payload` is the err value. */
function call(plugin: TestPlugin, tool: string, params: string): { ok: string } | { err: unknown } {
  try {
    return { ok: plugin.executeTool(tool, params) };
  } catch (error) {
    return { err: (error as { payload?: unknown }).payload ?? String(error) };
  }
}

interface Recorder extends TestHost {
  calls: unknown[][];
}

function recordingHost(): Recorder {
  const calls: unknown[][] = [];
  return {
    calls,
    httpRequest(method, url, headers, body) {
      calls.push(["http", method, url, headers, body]);
      if (url.includes("/missing")) throw "http status 404";
      return `${method} ${url}`;
    },
    readFile(path) {
      calls.push(["read", path]);
      if (path === "/etc/passwd") throw "filesystem access denied";
      return `contents of ${path}`;
    },
    writeFile(path, content) {
      calls.push(["write", path, content]);
      if (path.startsWith("/etc/")) throw "filesystem access denied";
    },
    getEnv(name) {
      calls.push(["env", name]);
      return name === "SET_VAR" ? "value" : undefined;
    },
    log(level, message) {
      calls.push(["log", level, message]);
    },
  };
}

const built = new Map<FixtureName, Uint8Array>();
const disposers: Array<() => Promise<void>> = [];

async function instantiate(name: FixtureName, host: TestHost = recordingHost(), extra: Record<string, unknown> = {}) {
  const bytes = built.get(name) ?? (await buildFixture(name));
  const { plugin, dispose } = await runComponent(bytes, host, extra);
  disposers.push(dispose);
  return plugin;
}

beforeAll(async () => {
  for (const [name, bytes] of await buildAllFixtures()) built.set(name, bytes);
});

afterAll(async () => {
  await Promise.all(disposers.map((d) => d()));
});

describe("fixture builder", () => {
  it("has a source folder with main.wat and README.md for every name, and no unlisted folder", async () => {
    const dirs = (await readdir(join(fixturePath("trap"), ".."), { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    expect(dirs).toEqual([...fixtureNames].sort());
    for (const name of fixtureNames) {
      expect(existsSync(join(fixturePath(name), "main.wat"))).toBe(true);
      expect(existsSync(join(fixturePath(name), "README.md"))).toBe(true);
    }
  });

  it("builds every fixture but oversized into a component well under the 300 KB module limit", () => {
    for (const name of fixtureNames) {
      if (name === "oversized") continue;
      const bytes = built.get(name);
      expect(bytes, name).toBeDefined();
      // a component's preamble: \0asm, version 0x0d, layer 1
      expect(Array.from(bytes!.subarray(0, 8)), name).toEqual([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]);
      expect(bytes!.length, name).toBeLessThan(30 * 1024);
    }
  });

  it("oversized is over 300 KB, and over 120 KB gzipped", async () => {
    const { gzipSync } = await import("node:zlib");
    const bytes = built.get("oversized")!;
    expect(bytes.length).toBeGreaterThan(300 * 1024);
    expect(gzipSync(bytes).length).toBeGreaterThan(120 * 1024);
    const plugin = await instantiate("oversized");
    expect(call(plugin, "run", "{}")).toEqual({ ok: "ok" });
  });

  it("caches by source hash: a second build reads the same bytes from .cache/", async () => {
    const again = await buildFixture("tool-basic");
    expect(again).toEqual(built.get("tool-basic"));
    const cachedFiles = await readdir(cacheDir);
    expect(cachedFiles.some((f) => f.startsWith("tool-basic-") && f.endsWith(".wasm"))).toBe(true);
  });

  it("shares one prelude: every composed module contains it once", async () => {
    for (const name of fixtureNames) {
      const { wat } = await fixtureSources(name);
      expect(wat.match(/\(func \$cabi_realloc /g), name).toHaveLength(1);
    }
  });

  it("describe can be replaced, and the replacement is cached under its own key", async () => {
    const custom = { name: "trap", version: "9.9.9", tools: [{ name: "boom", parameters: { type: "object" } }] };
    const plugin = await runComponent(await buildFixture("trap", { describe: custom }), recordingHost());
    disposers.push(plugin.dispose);
    expect(JSON.parse(plugin.plugin.describe())).toEqual(custom);
    const invalid = await runComponent(await buildFixture("trap", { describe: "{not json" }), recordingHost());
    disposers.push(invalid.dispose);
    expect(invalid.plugin.describe()).toBe("{not json");
    expect((await instantiate("trap")).describe()).toContain('"name":"run"');
  });

  it("declares the tools each multi-tool fixture dispatches on", async () => {
    const tools = async (name: FixtureName) =>
      (JSON.parse((await instantiate(name)).describe()) as { tools: Array<{ name: string }> }).tools.map((t) => t.name);
    expect(await tools("tool-basic")).toEqual(["echo", "fail"]);
    expect(await tools("host-calls")).toEqual(["http", "read", "write", "env", "log", "log-many", "log-big"]);
    expect(await tools("stateful")).toEqual(["count", "set", "get"]);
    expect(await tools("slow-host-call")).toEqual(["http", "read", "env", "log"]);
  });

  it("rejects an unknown fixture name", () => {
    expect(() => fixturePath("nope" as FixtureName)).toThrow("unknown fixture: nope");
  });

  it("gives the good fixtures exactly the world of wit/plugin.wit", async () => {
    const wit = await componentWit(built.get("tool-basic")!);
    expect(wit).toContain("import host: interface");
    expect(wit).toContain("export plugin: interface");
    expect(wit).toContain(
      "http-request: func(method: string, url: string, headers: list<tuple<string, string>>, body: option<string>) -> result<string, string>;",
    );
    expect(wit).toContain("execute-tool: func(tool-name: string, params-json: string) -> result<string, string>;");
  });
});

describe("tool-basic", () => {
  it("describes two tools, inits, echoes and fails", async () => {
    const plugin = await instantiate("tool-basic");
    const described = JSON.parse(plugin.describe()) as { name: string; tools: Array<{ name: string }> };
    expect(described.name).toBe("tool-basic");
    expect(described.tools.map((t) => t.name)).toEqual(["echo", "fail"]);
    expect(plugin.init()).toBeUndefined();
    expect(call(plugin, "echo", '{"a":[1,"é"]}')).toEqual({ ok: '{"a":[1,"é"]}' });
    expect(call(plugin, "fail", "{}")).toEqual({ err: "fail: this tool always fails" });
    expect(call(plugin, "nope", "{}")).toEqual({ err: "unknown tool" });
  });
});

describe("host-calls", () => {
  it("http passes method, url, body and header pairs, and returns the body or the err", async () => {
    const host = recordingHost();
    const plugin = await instantiate("host-calls", host);
    expect(call(plugin, "http", JSON.stringify(["GET", "http://127.0.0.1:1/x"]))).toEqual({ ok: "GET http://127.0.0.1:1/x" });
    expect(call(plugin, "http", JSON.stringify(["POST", "http://h/", 'b "q"\n😀', "x-a", "1", "x-b", "2"]))).toEqual({
      ok: "POST http://h/",
    });
    expect(call(plugin, "http", JSON.stringify(["PUT", "http://h/", null, "x-c", "3"]))).toEqual({ ok: "PUT http://h/" });
    expect(call(plugin, "http", JSON.stringify(["GET", "http://h/missing"]))).toEqual({ err: "http status 404" });
    expect(host.calls).toEqual([
      ["http", "GET", "http://127.0.0.1:1/x", [], undefined],
      ["http", "POST", "http://h/", [["x-a", "1"], ["x-b", "2"]], 'b "q"\n😀'],
      ["http", "PUT", "http://h/", [["x-c", "3"]], undefined],
      ["http", "GET", "http://h/missing", [], undefined],
    ]);
  });

  it("read, write and env return what the import returned", async () => {
    const host = recordingHost();
    const plugin = await instantiate("host-calls", host);
    expect(call(plugin, "read", '["/data/a.txt"]')).toEqual({ ok: "contents of /data/a.txt" });
    expect(call(plugin, "read", '"/etc/passwd"')).toEqual({ err: "filesystem access denied" });
    expect(call(plugin, "write", '["/data/b.txt","line\\u00e9"]')).toEqual({ ok: "ok" });
    expect(call(plugin, "write", '["/etc/x","y"]')).toEqual({ err: "filesystem access denied" });
    expect(call(plugin, "env", '["SET_VAR"]')).toEqual({ ok: "some:value" });
    expect(call(plugin, "env", '["OPENAI_API_KEY"]')).toEqual({ ok: "none" });
    expect(host.calls).toEqual([
      ["read", "/data/a.txt"],
      ["read", "/etc/passwd"],
      ["write", "/data/b.txt", "lineé"],
      ["write", "/etc/x", "y"],
      ["env", "SET_VAR"],
      ["env", "OPENAI_API_KEY"],
    ]);
  });

  it("log, log-many and log-big", async () => {
    const host = recordingHost();
    const plugin = await instantiate("host-calls", host);
    expect(call(plugin, "log", '[1,"careful"]')).toEqual({ ok: "ok" });
    expect(call(plugin, "log-many", "[3]")).toEqual({ ok: "ok" });
    expect(call(plugin, "log-many", "[2, 4]")).toEqual({ ok: "ok" });
    expect(call(plugin, "log-big", "[]")).toEqual({ ok: "5100" });
    expect(call(plugin, "log-big", '[3,"ab"]')).toEqual({ ok: "6" });
    expect(host.calls).toEqual([
      ["log", 1, "careful"],
      ["log", 2, "log message 1"],
      ["log", 2, "log message 2"],
      ["log", 2, "log message 3"],
      ["log", 4, "log message 1"],
      ["log", 4, "log message 2"],
      ["log", 2, "€".repeat(1700)],
      ["log", 2, "ababab"],
    ]);
  });

  it("property: the WAT params-json parser decodes whatever JSON.stringify writes (and refuses lone surrogates)", async () => {
    const host = recordingHost();
    const plugin = await instantiate("host-calls", host);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: "binary", maxLength: 40 }),
          // lone surrogates (JSON.stringify writes them as \\uD8xx escapes)
          fc
            .tuple(fc.string({ maxLength: 5 }), fc.integer({ min: 0xd800, max: 0xdfff }), fc.string({ maxLength: 5 }))
            .map(([a, unit, b]) => a + String.fromCharCode(unit) + b),
        ),
        fc.string({ unit: "grapheme", maxLength: 40 }), fc.constantFrom("", " ", "\n "), (path, content, space) => {
        host.calls.length = 0;
        const params = `${space}[${space}${JSON.stringify("/p/" + path)}${space},${space}${JSON.stringify(content)}${space}]${space}`;
        const result = call(plugin, "write", params);
        // well-formed UTF-16: no lone surrogate (a code point of category Cs)
        if (!/\p{Cs}/u.test("/p/" + path)) {
          expect(result).toEqual({ ok: "ok" });
          expect(host.calls).toEqual([["write", "/p/" + path, content]]);
        } else {
          expect(result).toEqual({ err: "bad params-json: expected a JSON array of strings, integers or null" });
          expect(host.calls).toEqual([]);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("refuses malformed params-json with a clear err and calls nothing", async () => {
    const host = recordingHost();
    const plugin = await instantiate("host-calls", host);
    const bad = { err: "bad params-json: expected a JSON array of strings, integers or null" };
    for (const [tool, params] of [
      ["read", ""],
      ["read", "[1"],
      ["read", '["a" "b"]'],
      ["read", '["\\x"]'],
      ["read", '["\\ud800"]'],
      ["read", "[null]"],
      ["read", "{}"],
      ["http", '["GET"]'],
      ["http", '["GET","u",null,"lonely-header"]'],
      ["log", '["x","y"]'],
      ["log", '[256,"y"]'],
    ] as const) {
      expect(call(plugin, tool, params), `${tool} ${params}`).toEqual(bad);
    }
    expect(call(plugin, "nope", "[]")).toEqual({ err: "unknown tool" });
    expect(host.calls).toEqual([]);
  });
});

describe("resource fixtures (unmetered: only their own behaviour)", () => {
  it("trap traps", async () => {
    const plugin = await instantiate("trap");
    expect(() => plugin.executeTool("x", "")).toThrow(/unreachable/);
  });

  it("deep-recursion overflows the stack", async () => {
    const plugin = await instantiate("deep-recursion");
    expect(() => plugin.executeTool("x", "")).toThrow(/call stack|stack overflow/i);
  });

  it("memory-hog grows to the size asked for", async () => {
    const plugin = await instantiate("memory-hog");
    expect(call(plugin, "x", "[4]")).toEqual({ ok: "64" });
  });

  it("memory-grow-handled carries on when memory.grow fails", async () => {
    const plugin = await instantiate("memory-grow-handled");
    expect(call(plugin, "x", "[8]")).toEqual({ ok: "grew" });
    // 5000 MiB is more than a 32-bit memory can hold: the grow fails and it is handled
    expect(call(plugin, "x", "[5000]")).toEqual({ ok: "ok" });
  });

  it("memory-multiplier instantiates its hog module 32 times, then a driver that calls every hog's grab", async () => {
    const { print } = await import("@bytecodealliance/jco");
    const text = await print(built.get("memory-multiplier") ?? (await buildFixture("memory-multiplier")));
    expect(text.match(/\(core instance \$extra\d+ (\(;\d+;\) )?\(instantiate \$extra\)/g)).toHaveLength(32);
    expect(text.match(/\(with "e\d+" \(instance \$extra\d+\)\)/g)).toHaveLength(32);
    expect(text).toMatch(/\(start \$run|\(start \d+/);
  });

  it("withExtraCoreInstances: a small variant (3 hogs of at most 2 pages) still runs its main module", async () => {
    const hog = `(module (memory 1 2) (func (export "grab") (param i32) (result i32)
      (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))`;
    const bytes = await withExtraCoreInstances(await buildFixture("tool-basic"), { module: hog, count: 3, call: "grab", arg: 1 });
    const { plugin, dispose } = await runComponent(bytes, recordingHost());
    disposers.push(dispose);
    expect(call(plugin, "echo", "[1]")).toEqual({ ok: "[1]" });
  });

  it("table-hog grows its table", async () => {
    const plugin = await instantiate("table-hog");
    expect(call(plugin, "x", "[3000]")).toEqual({ ok: "3001" });
  });

  it("fuel-burner runs the loop it is asked for", async () => {
    const plugin = await instantiate("fuel-burner");
    let acc = 0;
    for (let i = 0; i < 1000; i++) acc = (Math.imul(acc, 31) + i) >>> 0;
    expect(call(plugin, "x", "[1000]")).toEqual({ ok: String(acc) });
  });

  it("slow-host-call calls the import count times and stops at the first err", async () => {
    const host = recordingHost();
    const plugin = await instantiate("slow-host-call", host);
    expect(call(plugin, "log", "[3]")).toEqual({ ok: "3" });
    expect(call(plugin, "env", '[2,"SET_VAR"]')).toEqual({ ok: "2" });
    expect(call(plugin, "http", '[2,"http://h/"]')).toEqual({ ok: "2" });
    expect(call(plugin, "read", '[5,"/etc/passwd"]')).toEqual({ err: "filesystem access denied" });
    expect(host.calls.length).toBe(3 + 2 + 2 + 1);
  });

  it("empty-tool returns an empty string", async () => {
    const plugin = await instantiate("empty-tool");
    expect(call(plugin, "anything", "")).toEqual({ ok: "" });
  });
});

describe("stateful", () => {
  it("keeps a counter and a value per instance, and two instances share nothing", async () => {
    const a = await instantiate("stateful");
    const b = await instantiate("stateful");
    expect(call(a, "count", "")).toEqual({ ok: "1" });
    expect(call(a, "count", "")).toEqual({ ok: "2" });
    expect(call(a, "set", '["secret-a"]')).toEqual({ ok: "ok" });
    expect(call(a, "get", "")).toEqual({ ok: "secret-a" });
    expect(call(b, "get", "")).toEqual({ ok: "" });
    expect(call(b, "count", "")).toEqual({ ok: "1" });
    expect(call(a, "count", "")).toEqual({ ok: "3" });
  });
});

describe("bad-world fixtures", () => {
  it("wasi-import imports wasi:cli/environment and calls it", async () => {
    expect(await componentWit(built.get("wasi-import")!)).toContain("import wasi:cli/environment@0.2.3;");
    const plugin = await instantiate("wasi-import", recordingHost(), {
      "wasi:cli/environment": { getEnvironment: () => [["A", "1"]] },
    });
    expect(call(plugin, "x", "")).toEqual({ ok: "1" });
  });

  it("wrong-export-type, missing-export, extra-import and wrong-import-type have the worlds they claim", async () => {
    expect(await componentWit(built.get("wrong-export-type")!)).toContain("execute-tool: func(tool-name: string) -> string;");
    expect(await componentWit(built.get("missing-export")!)).not.toContain("describe");
    expect(await componentWit(built.get("extra-import")!)).toContain("import shell: interface");
    expect(await componentWit(built.get("wrong-import-type")!)).toContain(
      "get-env: func(name: string) -> result<string, string>;",
    );
  });
});

describe("infinite-loop", () => {
  it("has a describe() like the others (its loop is tested with fuel in @clawft/host)", async () => {
    const plugin = await instantiate("infinite-loop");
    expect(JSON.parse(plugin.describe())).toMatchObject({ name: "infinite-loop" });
  });
});
