import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { SANDBOX_DEFAULTS, manifestRuntime } from "@clawft/sandbox-policy";
import { createJsonlAuditSink } from "../audit.js";
import { createHost } from "../host.js";
import type { HostLogger } from "../host-calls.js";
import type { OpenedPlugin, PluginManager } from "./manager.js";
import { pluginDataFolder } from "./permissions.js";
import { checkStateFolder } from "./state-safety.js";

/** Options of {@link runInstalledTool}; all optional. */
export interface RunInstalledToolOptions {
  /** Where plugin logs and host warnings go. @default the host's stderr logger */
  logger?: HostLogger;
  /**
   * Keep compiled components in `<dataDir>/cache/` (see {@link compileCacheFolder}), so the next
   * run of the same plugin skips transpiling and metering.
   * @default true
   */
  compileCache?: boolean;
  /** Passed to `createHost`: private ranges the plugin may reach anyway (a local test server). @default [] */
  allowPrivateCidrs?: readonly string[];
  /** Passed to `createHost`: resolves host names for the plugin's HTTP requests. @default the system resolver */
  resolve?: (hostname: string) => Promise<string[]>;
}

/** The on-disk compile cache of a data directory: `<dataDir>/cache/`. */
export function compileCacheFolder(dataDir: string): string {
  return join(dataDir, "cache");
}

/**
 * Runs one tool of a verified, approved plugin (from `PluginManager.open`) in a fresh host
 * (`createHost`) and returns its output as text (JSON text unless the tool returned a non-JSON
 * string). What `clawft-plugin run` does. Every host call is appended to the data directory's
 * `audit.jsonl` (what `clawft-plugin audit` reads). Relative filesystem grants resolve against
 * `<dataDir>/data/<id>/` — a folder per plugin that survives upgrades and is never the verified
 * package folder, so a plugin cannot rewrite its own installed files.
 */
export async function runInstalledTool(
  manager: PluginManager,
  opened: OpenedPlugin,
  tool: string,
  paramsJson: string,
  options: RunInstalledToolOptions = {},
): Promise<string> {
  const { logger, compileCache = true, allowPrivateCidrs, resolve } = options;
  const baseDir = pluginDataFolder(manager.dataDir, opened.record.id);
  await mkdir(baseDir, { recursive: true, mode: 0o700 });
  // The cache holds code the host runs without transpiling or metering it again: it must be as
  // private as the state folders (a real folder, 0700, this user's, not group/other-writable),
  // or another local user could swap in unmetered code (T86). Entries are also checked by
  // sha256 against their index, so a corrupted or altered file is rebuilt, never run (T85).
  let cacheDir: string | undefined;
  if (compileCache) {
    cacheDir = compileCacheFolder(manager.dataDir);
    await checkStateFolder(cacheDir, "compile cache", true);
  }
  const sink = createJsonlAuditSink(manager.auditLogPath);
  const host = createHost({
    audit: sink,
    ...(cacheDir === undefined ? {} : { cacheDir }),
    ...(allowPrivateCidrs === undefined ? {} : { allowPrivateCidrs }),
    ...(resolve === undefined ? {} : { resolve }),
    // A module admitted at install (possibly under limits the operator raised then) runs
    // without repeating the flags: its bytes are pinned by sha256, so they cannot have grown.
    maxModuleBytes: Math.max(SANDBOX_DEFAULTS.moduleBytes, manager.options.maxModuleBytes, opened.wasm.length),
    maxModuleGzipBytes: Math.max(
      SANDBOX_DEFAULTS.moduleGzipBytes,
      manager.options.maxModuleGzipBytes,
      gzipSync(opened.wasm).length,
    ),
    ...(logger ? { logger } : {}),
    // No approve callback: consent already happened in `open`; anything not covered by the
    // stored approvals is refused by the host.
  });
  try {
    const common = { manifest: opened.manifestBytes.toString("utf8"), approvals: opened.approvals, baseDir };
    // A js plugin's pinned entry file is its bundled JS, run by the host's JS engine.
    const plugin = await host.load(manifestRuntime(opened.manifest) === "js" ? { ...common, js: opened.wasm } : { ...common, wasm: opened.wasm });
    const output = await plugin.executeTool(tool, JSON.parse(paramsJson) as unknown);
    return typeof output === "string" ? output : JSON.stringify(output);
  } finally {
    await host.close();
    sink.close();
  }
}
