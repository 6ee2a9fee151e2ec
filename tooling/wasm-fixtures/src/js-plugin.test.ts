import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { Worker } from "node:worker_threads";
import { componentWit } from "@bytecodealliance/jco";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseManifestWithWarnings } from "@clawft/sandbox-policy";
import { createTempDir } from "@clawft/test-utils";
import { buildJsExamplePlugin, jsExamplePluginDir } from "./js-plugin.js";
import { runComponent, type TestHost, type TestPlugin } from "./harness.js";

// componentize-qjs output uses extended-const: behind a flag on Node 20, shipped from
// Node 22 (where the flag no longer exists and V8 would print "unrecognized flag").
if (Number(process.versions.node.split(".")[0]) < 22) setFlagsFromString("--experimental-wasm-extended-const");

let bytes: Uint8Array;
beforeAll(async () => {
  bytes = await buildJsExamplePlugin();
}, 120_000);

describe("examples/js-plugin built with componentize-qjs", () => {
  it("is a component whose only import is host, exporting plugin and componentize-qjs's own init", async () => {
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]);
    const wit = await componentWit(bytes);
    const imports = [...wit.matchAll(/^\s*import ([^:;\s]+)/gm)].map((m) => m[1]);
    expect(imports).toEqual(["host"]);
    expect(wit).toContain("export plugin: interface");
    expect(wit).toMatch(/export init: func\(shim: string, script: string, entry-path: option<string>, disable-gc: bool\)/);
  });

  it("its clawft.plugin.json is a valid manifest without warnings, listing the tools describe() gives", async () => {
    const { manifest, warnings } = parseManifestWithWarnings(readFileSync(join(jsExamplePluginDir, "clawft.plugin.json"), "utf8"));
    expect(warnings).toEqual([]);
    expect(manifest.runtime).toBe("js");
    expect(manifest.main).toBe("dist/plugin.js");
    expect(manifest.tools).toEqual(["summarize-json", "read-file", "write-note", "greet"]);
    expect(manifest.permissions.env_vars).toEqual(["EXAMPLE_GREETING"]);
  });

  it("is cached: a second build returns the same bytes", async () => {
    const again = await buildJsExamplePlugin();
    // Buffer.equals: a deep toEqual of 1 MB byte arrays is needlessly slow
    expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
  });

  describe("runs against a real loopback HTTP server and real files", () => {
    let plugin: TestPlugin;
    let dispose: () => Promise<void>;
    const logs: Array<[number, string]> = [];
    const requests: Array<{ method: string; url: string; headers: Array<[string, string]> }> = [];
    let server: { url: string; worker: Worker };
    let dir: Awaited<ReturnType<typeof createTempDir>>;

    beforeAll(async () => {
      server = await startServerInWorker();
      dir = await createTempDir();
      const host: TestHost = {
        httpRequest(method, url, headers) {
          requests.push({ method, url, headers });
          // a deliberately simple synchronous fetch for this test: the real host does it off-thread
          const result = syncFetch(url);
          if (result.status < 200 || result.status > 299) throw `http status ${result.status}`;
          return result.body;
        },
        readFile(path) {
          // jco: a result import returns the ok value and THROWS the err value (a string);
          // an Error without a `payload` would trap the guest instead
          try {
            return readFileSync(join(dir.path, path), "utf8");
          } catch (error) {
            throw `cannot read ${path}: ${(error as NodeJS.ErrnoException).code}`;
          }
        },
        writeFile(path, content) {
          writeFileSync(join(dir.path, path), content);
        },
        getEnv(name) {
          return name === "EXAMPLE_GREETING" ? "Bonjour" : undefined;
        },
        log(level, message) {
          logs.push([level, message]);
        },
      };
      ({ plugin, dispose } = await runComponent(bytes, host));
    });

    afterAll(async () => {
      await dispose();
      await server.worker.terminate();
      await dir.cleanup();
    });

    it("init logs once and describe lists four tools with JSON Schemas", () => {
      expect(plugin.init()).toBeUndefined();
      expect(logs).toContainEqual([3, "example-js-plugin ready"]);
      const described = JSON.parse(plugin.describe()) as { name: string; tools: Array<{ name: string; parameters: object }> };
      expect(described.name).toBe("example-js-plugin");
      expect(described.tools.map((t) => t.name)).toEqual(["summarize-json", "read-file", "write-note", "greet"]);
      for (const tool of described.tools) expect(tool.parameters).toMatchObject({ type: "object" });
    });

    it("summarize-json fetches through http-request and summarises", () => {
      const out = JSON.parse(plugin.executeTool("summarize-json", JSON.stringify({ url: server.url + "/doc.json" }))) as {
        summary: { type: string; keys: number; fields: Record<string, unknown> };
      };
      expect(out.summary.type).toBe("object");
      expect(out.summary.keys).toBe(3);
      expect(out.summary.fields).toEqual({ items: "array(3)", owner: "object(1 keys)", description: "x".repeat(57) + "..." });
      expect(requests.at(-1)).toEqual({ method: "GET", url: server.url + "/doc.json", headers: [["accept", "application/json"]] });
    });

    it("write-note then read-file round-trip through the host", () => {
      expect(JSON.parse(plugin.executeTool("write-note", JSON.stringify({ path: "n.txt", text: "first line\nsecond" })))).toEqual({
        path: "n.txt",
        written: true,
      });
      expect(JSON.parse(plugin.executeTool("read-file", JSON.stringify({ path: "n.txt" })))).toEqual({
        path: "n.txt",
        bytes: 18,
        lines: 3,
        firstLine: "first line",
      });
    });

    it("greet reads an env var", () => {
      expect(plugin.executeTool("greet", '{"name":"Ada"}')).toBe("Bonjour, Ada!");
    });

    it("errors come back as err strings", () => {
      const errOf = (tool: string, params: string) => {
        try {
          plugin.executeTool(tool, params);
        } catch (error) {
          return (error as { payload?: unknown }).payload;
        }
        return "no error";
      };
      expect(errOf("nope", "{}")).toBe("unknown tool: nope");
      expect(errOf("greet", "[]")).toBe("invalid params: expected a JSON object");
      expect(errOf("greet", "{}")).toBe("invalid params: name must be a string");
      expect(errOf("read-file", '{"path":"missing.txt"}')).toBe("cannot read missing.txt: ENOENT");
      expect(errOf("summarize-json", JSON.stringify({ url: server.url + "/missing" }))).toBe("http status 404");
    });
  });
});

/**
 * A real HTTP server on 127.0.0.1, in a worker thread: the guest's host calls
 * are synchronous, so this thread blocks while a request is served.
 */
async function startServerInWorker(): Promise<{ url: string; worker: Worker }> {
  const worker = new Worker(
    `const http = require("node:http");
     const { parentPort } = require("node:worker_threads");
     const server = http.createServer((req, res) => {
       if (req.url !== "/doc.json") { res.statusCode = 404; res.end("no"); return; }
       res.setHeader("content-type", "application/json");
       res.end(JSON.stringify({ items: [1, 2, 3], owner: { login: "clawft" }, description: "x".repeat(100) }));
     });
     server.listen(0, "127.0.0.1", () => parentPort.postMessage(server.address().port));`,
    { eval: true },
  );
  const port = await new Promise<number>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  return { url: `http://127.0.0.1:${port}`, worker };
}

/** Synchronous GET for the test host: a child Node process does the fetch while this thread waits. */
function syncFetch(url: string): { status: number; body: string } {
  const out = execFileSync(
    process.execPath,
    ["-e", `fetch(${JSON.stringify(url)}).then(async r => process.stdout.write(JSON.stringify({status: r.status, body: await r.text()})))`],
    { encoding: "utf8" },
  );
  return JSON.parse(out) as { status: number; body: string };
}
