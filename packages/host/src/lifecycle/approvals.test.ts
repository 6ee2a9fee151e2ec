import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTempDir, type TempDir } from "@clawft/test-utils";
import { ApprovalStore, approvalBindingOf } from "./approvals.js";

let tmp: TempDir;
beforeEach(async () => {
  tmp = await createTempDir("clawft-approvals-unit-");
});
afterEach(async () => {
  await tmp.cleanup();
});

const perms = { network: ["api.weather.example"], filesystem: [], env_vars: [], shell: false };
const shaA = "a".repeat(64);
const shaB = "b".repeat(64);

describe("ApprovalStore bindings (T73)", () => {
  it("T73 an approval counts only for the same id, version, module sha256 and signer", async () => {
    const store = new ApprovalStore(join(tmp.path, "approvals.json"));
    await store.set("com.example.weather", "1.0.0", { moduleSha256: shaA, signer: "unsigned" }, perms);
    expect(await store.get("com.example.weather", "1.0.0", { moduleSha256: shaA, signer: "unsigned" })).toMatchObject({ permissions: perms });
    expect(await store.get("com.example.weather", "1.0.0", { moduleSha256: shaB, signer: "unsigned" })).toBeUndefined();
    expect(await store.get("com.example.weather", "1.0.0", { moduleSha256: shaA, signer: "c".repeat(64) })).toBeUndefined();
    expect(await store.get("com.example.weather", "1.0.1", { moduleSha256: shaA, signer: "unsigned" })).toBeUndefined();
    expect(await store.get("com.example.other", "1.0.0", { moduleSha256: shaA, signer: "unsigned" })).toBeUndefined();
  });

  it("T73 records without a binding (version 1 files) are listed but never match", async () => {
    const path = join(tmp.path, "approvals.json");
    await writeFile(path, JSON.stringify({ version: 1, plugins: { "com.example.weather": { "1.0.0": { permissions: perms, grantedAt: "x" } } } }), { mode: 0o600 });
    const store = new ApprovalStore(path);
    expect(await store.list()).toEqual([{ pluginId: "com.example.weather", version: "1.0.0", permissions: perms, grantedAt: "x" }]);
    expect(await store.get("com.example.weather", "1.0.0", { moduleSha256: shaA, signer: "unsigned" })).toBeUndefined();
  });

  it("T73 approvalBindingOf takes the record's module sha256 and its signer's key id (or unsigned)", () => {
    expect(approvalBindingOf({ moduleSha256: shaA, signature: { status: "unsigned" } })).toEqual({ moduleSha256: shaA, signer: "unsigned" });
    expect(approvalBindingOf({ moduleSha256: shaA, signature: { status: "trusted", keyId: "k" } })).toEqual({ moduleSha256: shaA, signer: "k" });
    expect(approvalBindingOf({ moduleSha256: shaA, signature: { status: "untrusted", keyId: "k" } })).toEqual({ moduleSha256: shaA, signer: "k" });
  });
});
