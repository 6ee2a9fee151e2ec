import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTempDir, type TempDir } from "@clawft/test-utils";
import { buildFixture } from "@clawft/wasm-fixtures";
import type { LifecycleConsentRequest } from "@clawft/host";
import { manifestFor, pluginFiles, writePluginFolder } from "../../host/test/lifecycle/helpers.js";
import { runFromFolder } from "./run-folder.js";

let tmp: TempDir;
beforeEach(async () => {
  tmp = await createTempDir("clawft-run-folder-");
});
afterEach(async () => {
  await tmp.cleanup();
});

describe("runFromFolder (run --dir)", () => {
  it("T88 every permission goes through the consent callback, with relative grants shown as the absolute folder; a refusal runs nothing", { timeout: 120_000 }, async () => {
    const folder = await writePluginFolder(
      join(tmp.path, "plugin"),
      pluginFiles({
        manifest: manifestFor({ tools: ["write"], permissions: { filesystem: ["notes"] } }),
        module: Buffer.from(await buildFixture("host-calls")),
      }),
    );
    const asked: LifecycleConsentRequest[] = [];
    const base = { dataDir: join(tmp.path, "data"), network: {}, devNetwork: false, onDevNetwork: async () => {} };
    await expect(
      runFromFolder(folder, "write", JSON.stringify(["notes/a.txt", "x"]), {
        ...base,
        approve: async (r) => (asked.push(r), false),
      }),
    ).rejects.toMatchObject({ code: "PLUGIN_CONSENT_DENIED" });
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ pluginId: "com.example.weather", name: "Weather", dataFolder: folder });
    expect(asked[0]!.permissions.filesystem).toEqual(["notes"]);

    const ran = await runFromFolder(folder, "write", JSON.stringify(["a.txt", "x"]), { ...base, approve: async () => true });
    expect(ran).toEqual({ pluginId: "com.example.weather", output: "ok" });
  });
});
