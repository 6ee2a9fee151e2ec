import { mkdir, readFile, realpath } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  createHost,
  createJsonlAuditSink,
  NO_PERMISSIONS,
  type ConsentCallback,
  type ConsentRequest,
} from "@clawft/host";
import { ClawftError, parseManifestWithWarnings } from "@clawft/sandbox-policy";

/** `run --dir` was given a folder that does not exist: a usage error (exit 2). */
class RunFolderError extends ClawftError {
  static override readonly marker: symbol = Symbol.for("clawft.error.CliUsageError");

  constructor(message: string, cause: unknown) {
    super("CLI_USAGE", message, { cause });
    this.name = "UsageError";
  }
}

export interface RunFromFolderOptions {
  dataDir: string;
  /** The CLI's consent callback (`--yes`, `--grant`, or the prompt on a terminal). */
  approve: ConsentCallback;
  network: { allowPrivateCidrs?: readonly string[]; resolve?: (hostname: string) => Promise<string[]> };
  devNetwork: boolean;
  onDevNetwork(pluginId: string): Promise<void>;
}

/**
 * The dev loop: runs one tool of a plugin straight from its folder (`run --dir`), without
 * installing it. Nothing is stored: no install record, no approval. The sandbox is the same as
 * for an installed plugin — every permission the manifest asks for goes through the CLI's
 * consent (`--yes`, a `--grant` file, or the prompt), refused by default without a terminal —
 * and every host call goes to the data dir's audit log. Relative filesystem grants resolve in
 * the plugin folder (as `host.loadFromDirectory` does), shown as absolute folders in the prompt.
 */
export async function runFromFolder(
  folder: string,
  tool: string,
  paramsJson: string,
  options: RunFromFolderOptions,
): Promise<{ pluginId: string; output: string }> {
  const root = await realpath(folder).catch((cause: unknown) => {
    throw new RunFolderError(`plugin folder not found: ${resolve(folder)} (--dir takes the folder that holds clawft.plugin.json)`, cause);
  });
  const { manifest } = parseManifestWithWarnings(await readFile(join(root, "clawft.plugin.json"), "utf8"));
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  if (options.devNetwork) await options.onDevNetwork(manifest.id);
  const sink = createJsonlAuditSink(join(options.dataDir, "audit.jsonl"));
  const host = createHost({
    audit: sink,
    ...options.network,
    approve: (request: ConsentRequest) =>
      options.approve({
        pluginId: request.pluginId,
        version: request.version,
        name: manifest.name,
        ...(manifest.description === undefined ? {} : { description: manifest.description }),
        reason: "install",
        permissions: request.permissions,
        alreadyApproved: { ...NO_PERMISSIONS },
        dataFolder: root,
      }),
  });
  try {
    const plugin = await host.loadFromDirectory(root);
    const output = await plugin.executeTool(tool, JSON.parse(paramsJson) as unknown);
    return { pluginId: manifest.id, output: typeof output === "string" ? output : JSON.stringify(output) };
  } finally {
    await host.close();
    sink.close();
  }
}
