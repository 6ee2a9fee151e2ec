import { setFlagsFromString } from "node:v8";
import { buildFixture, buildJsExamplePlugin, fixtureNames, runComponent, type TestHost } from "@clawft/wasm-fixtures";
import { describe, expect, it } from "vitest";
import { parseDescribe } from "./index.js";

// componentize-qjs output needs extended-const, behind a flag below Node 22
if (Number(process.versions.node.split(".")[0]) < 22) setFlagsFromString("--experimental-wasm-extended-const");

const host: TestHost = {
  httpRequest: () => {
    throw "network access not permitted";
  },
  readFile: () => {
    throw "filesystem access not permitted";
  },
  writeFile: () => {
    throw "filesystem access not permitted";
  },
  getEnv: () => undefined,
  log: () => {},
};

describe("parseDescribe on what real plugins return from describe()", () => {
  it("accepts every WAT fixture that exports describe", async () => {
    for (const name of fixtureNames) {
      if (name === "missing-export" || name === "wasi-import" || name === "extra-import") continue;
      const { plugin, dispose } = await runComponent(await buildFixture(name), host);
      try {
        const described = parseDescribe(plugin.describe());
        expect(described.name, name).toBe(name);
        expect(described.tools.length, name).toBeGreaterThan(0);
      } finally {
        await dispose();
      }
    }
  }, 120_000);

  it("accepts the componentize-qjs example plugin's", async () => {
    const { plugin, dispose } = await runComponent(await buildJsExamplePlugin(), host);
    try {
      const described = parseDescribe(plugin.describe());
      expect(described).toMatchObject({ name: "example-js-plugin", version: "0.1.0" });
      expect(described.tools.map((t) => t.name)).toEqual(["summarize-json", "read-file", "write-note", "greet"]);
      expect(described.tools[0]!.parameters).toMatchObject({ type: "object", required: ["url"] });
    } finally {
      await dispose();
    }
  }, 120_000);
});
