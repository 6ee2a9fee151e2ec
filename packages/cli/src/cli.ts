import { readFile, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { Readable, Writable } from "node:stream";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { ClawftError, escapeControlText } from "@clawft/sandbox-policy";
import {
  approvalBindingOf,
  defaultDataDir,
  describePermissions,
  LifecycleError,
  PluginManager,
  pluginDataFolder,
  runInstalledTool,
  signPluginFolder,
  type DownloadProgress,
} from "@clawft/host";
import { readAuditLog } from "./audit-log.js";
import { buildPlugin, DEFAULT_LIMITS } from "./build.js";
import { scaffoldPlugin } from "./scaffold.js";
import { auditDevNetwork, devNetworkWarning, devResolver, parseDevNetwork, usesDevNetwork } from "./dev-network.js";
import { runFromFolder } from "./run-folder.js";
import { createConsentCallback, parsePreGrants, type PreGrants } from "./consent.js";
import { formatBytes, jsonText, parseSince, safeText, table } from "./format.js";
import { HELP, commandHelp } from "./help.js";

/** Exit codes of `clawft-plugin` (documented in `--help` and the README). */
export const EXIT = Object.freeze({
  OK: 0,
  /** Unexpected failure (a bug, an I/O error). */
  ERROR: 1,
  /** Bad command line: unknown command or option, missing argument, unreadable grant file. */
  USAGE: 2,
  /** No such plugin or key. */
  NOT_FOUND: 3,
  /** Consent refused (or not given in non-interactive mode). */
  CONSENT_DENIED: 4,
  /** Signature missing/invalid/untrusted, or an installed file changed (sha256). */
  VERIFICATION_FAILED: 5,
  /** The plugin package is invalid: archive, manifest, size limits, downgrade. */
  INVALID_PLUGIN: 6,
  /** The plugin failed while running (tool error, trap, resource limit). */
  RUN_FAILED: 7,
  /** The download failed. */
  DOWNLOAD_FAILED: 8,
  /** The data directory is corrupt, unsafe (symlinked, writable by others, another owner) or locked. */
  DATA_DIR: 9,
  /** No space left in the data directory: nothing was changed. */
  NO_SPACE: 10,
});

/** Maps an error code to its exit code. */
export function exitCodeFor(code: string | undefined): number {
  switch (code) {
    case "PLUGIN_NOT_FOUND":
    case "PLUGIN_KEY_NOT_FOUND":
      return EXIT.NOT_FOUND;
    case "PLUGIN_CONSENT_DENIED":
      return EXIT.CONSENT_DENIED;
    case "PLUGIN_SIGNATURE_MISSING":
    case "PLUGIN_SIGNATURE_INVALID":
    case "PLUGIN_SIGNATURE_UNTRUSTED":
    case "PLUGIN_INTEGRITY_MISMATCH":
      return EXIT.VERIFICATION_FAILED;
    case "PLUGIN_SOURCE_INVALID":
    case "PLUGIN_ARCHIVE_INVALID":
    case "PLUGIN_ARCHIVE_TOO_LARGE":
    case "PLUGIN_INVALID_MANIFEST":
    case "PLUGIN_TOO_LARGE":
    case "PLUGIN_DOWNGRADE_REFUSED":
    case "PLUGIN_KEY_INVALID":
    case "PLUGIN_INVALID":
    case "PLUGIN_FORBIDDEN_IMPORT":
    case "CLI_BUILD_FAILED":
    case "CLI_BUILD_NOT_JS":
    case "MANIFEST_INVALID":
      return EXIT.INVALID_PLUGIN;
    case "PLUGIN_DOWNLOAD_FAILED":
      return EXIT.DOWNLOAD_FAILED;
    case "PLUGIN_STATE_CORRUPT":
    case "PLUGIN_STATE_UNSAFE":
    case "PLUGIN_DATA_DIR_BUSY":
      return EXIT.DATA_DIR;
    case "PLUGIN_NO_SPACE":
      return EXIT.NO_SPACE;
    case "CLI_USAGE":
    case "CLI_SCAFFOLD_EXISTS":
    case "PLUGIN_OPTIONS_INVALID":
      return EXIT.USAGE;
    case undefined:
      return EXIT.ERROR;
    default:
      return code.startsWith("PLUGIN_") || code.startsWith("RESOURCE_") || code.startsWith("FS_") || code.startsWith("HTTP_")
        ? EXIT.RUN_FAILED
        : EXIT.ERROR;
  }
}

/** A command-line mistake: printed with a hint to `--help`, exit code 2. */
class UsageError extends ClawftError {
  static override readonly marker: symbol = Symbol.for("clawft.error.CliUsageError");

  constructor(message: string) {
    super("CLI_USAGE", message);
    this.name = "UsageError";
  }
}

/** What the CLI talks to; `main.ts` passes the process's streams. Tests can pass their own. */
export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable;
  /** True when both stdin and stderr are terminals: only then is the user asked interactively. */
  interactive: boolean;
  /** True when stderr is a terminal (progress is redrawn in place). */
  stderrIsTTY: boolean;
}

const COMMON = {
  "data-dir": { type: "string" },
  json: { type: "boolean" },
  debug: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsConfig["options"];

const CONSENT = {
  yes: { type: "boolean", short: "y" },
  grant: { type: "string" },
} as const satisfies ParseArgsConfig["options"];

const LIMITS = {
  "max-module-bytes": { type: "string" },
  "max-module-gzip-bytes": { type: "string" },
} as const satisfies ParseArgsConfig["options"];

const SPECS = {
  install: {
    ...COMMON,
    ...CONSENT,
    ...LIMITS,
    "allow-downgrade": { type: "boolean" },
    "allow-signer-change": { type: "boolean" },
  },
  list: { ...COMMON },
  info: { ...COMMON },
  run: {
    ...COMMON,
    ...CONSENT,
    ...LIMITS,
    dir: { type: "string" },
    "allow-private-cidr": { type: "string", multiple: true },
    resolve: { type: "string", multiple: true },
  },
  permissions: { ...COMMON },
  revoke: { ...COMMON, version: { type: "string" } },
  remove: { ...COMMON, "keep-data": { type: "boolean" } },
  audit: { ...COMMON, plugin: { type: "string" }, since: { type: "string" }, limit: { type: "string" } },
  keys: { ...COMMON, name: { type: "string" }, scope: { type: "string", multiple: true } },
  sign: { ...COMMON, key: { type: "string" } },
  new: { ...COMMON, lang: { type: "string" }, id: { type: "string" } },
  build: { ...COMMON, entry: { type: "string" }, minify: { type: "boolean" } },
} as const satisfies Record<string, ParseArgsConfig["options"]>;

type Command = keyof typeof SPECS;

function isCommand(name: string): name is Command {
  return Object.prototype.hasOwnProperty.call(SPECS, name);
}

function positiveIntOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) <= 0 || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`--${flag} must be a positive integer`);
  }
  return Number(value);
}

/**
 * Runs `clawft-plugin` with `argv` (without `node` and the script) and returns the exit code.
 * Never throws: every failure becomes one line on stderr (and a stack with `--debug`).
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const out = (text: string) => io.stdout.write(`${text}\n`);
  const err = (text: string) => io.stderr.write(`${text}\n`);
  const debug = argv.includes("--debug");
  const [first, ...rest] = argv;

  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    const topic = first === "help" ? rest[0] : undefined;
    if (topic !== undefined && isCommand(topic)) out(commandHelp(topic));
    else out(HELP);
    return first === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (first === "--version") {
    // dist/cli.js sits next to the package's package.json's folder: ../package.json.
    const pkg = await readFile(new URL("../package.json", import.meta.url), "utf8").catch(() => "{}");
    const version = (JSON.parse(pkg) as { version?: unknown }).version;
    out(`clawft-plugin ${typeof version === "string" ? version : "(unknown version)"} (@clawft/cli)`);
    return EXIT.OK;
  }
  if (!isCommand(first)) {
    err(`clawft-plugin: unknown command ${JSON.stringify(safeText(first))}; see clawft-plugin --help`);
    return EXIT.USAGE;
  }
  const command = first;

  try {
    let parsed;
    try {
      parsed = parseArgs({ args: [...rest], options: SPECS[command], allowPositionals: true, strict: true });
    } catch (error) {
      throw new UsageError(parseArgsMessage(error));
    }
    const values = parsed.values as Record<string, string | boolean | undefined>;
    const positionals = parsed.positionals;
    if (values.help) {
      out(commandHelp(command));
      return EXIT.OK;
    }
    const json = values.json === true;
    const dataDir = typeof values["data-dir"] === "string" ? resolve(values["data-dir"]) : defaultDataDir();
    if (typeof values["data-dir"] === "string") await checkDataDirFlag(dataDir, command);

    let refusal: string | undefined;
    let grants: PreGrants | undefined;
    if (typeof values.grant === "string") {
      let text: string;
      try {
        text = await readFile(values.grant, "utf8");
      } catch (error) {
        throw new UsageError(`cannot read grant file ${values.grant}: ${(error as Error).message}`);
      }
      try {
        grants = parsePreGrants(text);
      } catch (error) {
        throw new UsageError(`invalid grant file ${values.grant}: ${(error as Error).message}`);
      }
    }
    const approve = createConsentCallback(
      { yes: values.yes === true, grants, interactive: io.interactive, input: io.stdin, output: io.stderr },
      (why) => {
        refusal = why;
      },
    );
    const maxModuleBytes = positiveIntOption(values["max-module-bytes"] as string | undefined, "max-module-bytes");
    const maxModuleGzipBytes = positiveIntOption(
      values["max-module-gzip-bytes"] as string | undefined,
      "max-module-gzip-bytes",
    );
    // Warnings are printed at once: an "unsigned" warning must be on screen before the prompt.
    const manager = new PluginManager({
      dataDir,
      approve,
      logger: { warn: (message) => err(`clawft-plugin: warning: ${safeText(message, 500)}`) },
      ...(maxModuleBytes === undefined ? {} : { maxModuleBytes }),
      ...(maxModuleGzipBytes === undefined ? {} : { maxModuleGzipBytes }),
    });
    const need = (index: number, what: string): string => {
      const value = positionals[index];
      if (value === undefined || value === "") throw new UsageError(`missing ${what}`);
      return value;
    };
    const noMore = (count: number) => {
      if (positionals.length > count) {
        throw new UsageError(`unexpected argument ${JSON.stringify(safeText(positionals[count] ?? ""))}`);
      }
    };

    switch (command) {
      case "install": {
        const source = need(0, "<path|url>");
        if (/(^|[\\/])clawft\.plugin\.json$/i.test(source)) {
          throw new UsageError(`${safeText(source)} is the manifest: pass the plugin folder that holds it (clawft-plugin install ${safeText(dirname(source))})`);
        }
        noMore(1);
        let lastShown = -1;
        const onProgress = (p: DownloadProgress) => {
          const pct = p.total ? Math.floor((p.received / p.total) * 100) : undefined;
          const text = `downloading ${safeText(p.url)}: ${formatBytes(p.received)}${p.total ? ` / ${formatBytes(p.total)} (${pct}%)` : ""}`;
          if (io.stderrIsTTY) {
            io.stderr.write(`\r${text}${p.done ? "\n" : ""}`);
          } else if (p.done || (pct !== undefined && pct >= lastShown + 25) || lastShown === -1) {
            lastShown = pct ?? 0;
            err(text);
          }
        };
        try {
          const result = await manager.install(source, {
            onProgress,
            ...(values["allow-downgrade"] === true ? { allowDowngrade: true } : {}),
            ...(values["allow-signer-change"] === true ? { allowSignerChange: true } : {}),
          });
          if (json) out(jsonText(result, 2));
          else {
            const p = result.plugin;
            const verb =
              result.previousVersion === undefined
                ? `installed ${p.id} ${p.version}`
                : result.previousVersion === p.version
                  ? `reinstalled ${p.id} ${p.version}`
                  : `upgraded ${p.id} ${result.previousVersion} -> ${p.version}`;
            out(`${verb} (${signatureText(p.signature)}, module sha256 ${p.moduleSha256.slice(0, 16)}…)`);
            const granted = describePermissions(result.newlyApproved, { dataFolder: pluginDataFolder(manager.dataDir, p.id) });
            if (granted.length > 0) out(`approved: ${granted.map((l) => escapeControlText(l)).join(", ")}`);
          }
        } catch (error) {
          throw withRefusal(error, refusal);
        }
        return EXIT.OK;
      }
      case "list": {
        noMore(0);
        const plugins = await manager.list();
        if (json) out(jsonText(plugins, 2));
        else if (plugins.length === 0) out(`no plugins installed in ${dataDir}`);
        else {
          out(
            table(
              ["ID", "VERSION", "NAME", "SIGNATURE", "SOURCE"],
              plugins.map((p) => [p.id, safeText(p.version, 40), safeText(p.name, 40), signatureText(p.signature), p.source.kind]),
            ),
          );
        }
        return EXIT.OK;
      }
      case "info": {
        const id = need(0, "<id>");
        noMore(1);
        const p = await manager.info(id);
        const approvals = await manager.permissions(id);
        // Only an approval bound to this exact package counts (T73); others are shown as not approved.
        const bound = approvalBindingOf(p);
        const current = approvals.find(
          (a) => a.version === p.version && a.moduleSha256 === bound.moduleSha256 && a.signer === bound.signer,
        );
        if (json) out(jsonText({ ...p, approved: current?.permissions ?? null }, 2));
        else {
          out(`${p.id} ${safeText(p.version, 40)} "${safeText(p.name)}"`);
          if (p.description) out(`  description: ${safeText(p.description, 500)}`);
          out(`  source:      ${p.source.kind} ${safeText(p.source.location, 300)}`);
          out(`  signature:   ${signatureText(p.signature)}${"keyId" in p.signature ? ` (key ${p.signature.keyId})` : ""}`);
          out(`  module:      ${safeText(p.wasmModule)} (${formatBytes(p.moduleBytes)}, sha256 ${p.moduleSha256})`);
          out(`  manifest:    sha256 ${p.manifestSha256}`);
          out(`  installed:   ${p.installedAt}`);
          // Permission lines in full (never cut), relative grants as the folder they become.
          const describe = { dataFolder: pluginDataFolder(manager.dataDir, p.id) };
          const asked = describePermissions(p.permissions, describe);
          out(`  asks for:    ${asked.length ? asked.map((l) => escapeControlText(l)).join(", ") : "nothing"}`);
          out(`  approved:    ${current ? describePermissions(current.permissions, describe).map((l) => escapeControlText(l)).join(", ") || "nothing" : "not yet (asked at first run)"}`);
        }
        return EXIT.OK;
      }
      case "permissions": {
        const id = need(0, "<id>");
        noMore(1);
        const approvals = await manager.permissions(id);
        if (json) out(jsonText(approvals, 2));
        else if (approvals.length === 0) out(`no approvals stored for ${safeText(id)}`);
        else {
          for (const a of approvals) {
            out(`${a.pluginId} ${safeText(a.version, 40)} (granted ${a.grantedAt}):`);
            const lines = describePermissions(a.permissions, { dataFolder: pluginDataFolder(manager.dataDir, a.pluginId) });
            for (const line of lines.length ? lines : ["nothing"]) out(`  ${escapeControlText(line)}`);
          }
        }
        return EXIT.OK;
      }
      case "revoke": {
        const id = need(0, "<id>");
        noMore(1);
        const version = typeof values.version === "string" ? values.version : undefined;
        const removed = await manager.revoke(id, version);
        if (json) out(jsonText({ pluginId: id, version: version ?? null, revoked: removed }));
        else out(removed === 0 ? `no approvals stored for ${safeText(id)}` : `revoked ${removed} approval(s) of ${safeText(id)}; it will ask again before its next run`);
        return EXIT.OK;
      }
      case "remove": {
        const id = need(0, "<id>");
        noMore(1);
        const removed = await manager.remove(id, { keepData: values["keep-data"] === true });
        if (json) {
          out(
            jsonText({
              removed: removed.id,
              version: removed.version ?? null,
              dataDeleted: removed.dataDeleted,
              approvalsRevoked: removed.approvalsRevoked,
            }),
          );
        } else {
          out(
            `removed ${removed.id}${removed.version ? ` ${safeText(removed.version, 40)}` : ""} (approvals revoked${
              removed.dataDeleted ? ", data folder deleted" : values["keep-data"] === true ? ", data folder kept" : ""
            })`,
          );
        }
        return EXIT.OK;
      }
      case "run": {
        const folder = typeof values.dir === "string" ? values.dir : undefined;
        // `run <id> <tool> [json]`, or the dev loop `run --dir <folder> <tool> [json]`.
        const first = folder === undefined ? 1 : 0;
        const id = folder === undefined ? need(0, "<id>") : undefined;
        const tool = need(first, "<tool>");
        noMore(first + 2);
        const params = positionals[first + 1] ?? "{}";
        try {
          JSON.parse(params);
        } catch {
          throw new UsageError(`[json] must be valid JSON (the tool's parameters), got ${JSON.stringify(safeText(params, 80))}: quote it for the shell, e.g. '{"city":"Oslo"}'`);
        }
        const dev = parseDevNetwork(
          (values["allow-private-cidr"] as unknown as string[] | undefined) ?? [],
          (values.resolve as unknown as string[] | undefined) ?? [],
        );
        const resolveHost = devResolver(dev);
        const network = {
          ...(dev.allowPrivateCidrs.length > 0 ? { allowPrivateCidrs: dev.allowPrivateCidrs } : {}),
          ...(resolveHost === undefined ? {} : { resolve: resolveHost }),
        };
        try {
          let output: string;
          let pluginId: string;
          if (folder === undefined) {
            const opened = await manager.open(id as string, { approve });
            pluginId = opened.record.id;
            if (usesDevNetwork(dev)) {
              err(`clawft-plugin: warning: ${safeText(devNetworkWarning(dev, pluginId), 1000)}`);
              await auditDevNetwork(manager.auditLogPath, dev, pluginId);
            }
            output = await runInstalledTool(manager, opened, tool, params, network);
          } else {
            ({ output, pluginId } = await runFromFolder(folder, tool, params, {
              dataDir,
              approve,
              network,
              onDevNetwork: async (id) => {
                err(`clawft-plugin: warning: ${safeText(devNetworkWarning(dev, id), 1000)}`);
                await auditDevNetwork(manager.auditLogPath, dev, id);
              },
              devNetwork: usesDevNetwork(dev),
            }));
          }
          // --json: the output as the JSON value the tool returned (text that is not JSON stays a string).
          if (json) out(jsonText({ pluginId, tool, output: parseOutput(output) }));
          // The tool's text, on one line: a plugin cannot forge CLI lines or drive the terminal.
          else out(escapeControlText(output));
        } catch (error) {
          throw withRefusal(error, refusal);
        }
        return EXIT.OK;
      }
      case "audit": {
        noMore(0);
        const since = typeof values.since === "string" ? parseSince(values.since, Date.now()) : undefined;
        if (typeof values.since === "string" && since === undefined) {
          throw new UsageError("--since must be an ISO date/time (2026-11-25T10:00:00Z) or a duration (30m, 2h, 7d)");
        }
        const limit = positiveIntOption(values.limit as string | undefined, "limit");
        const { events, skipped } = await readAuditLog(manager.auditLogPath, {
          ...(typeof values.plugin === "string" ? { pluginId: values.plugin } : {}),
          ...(since === undefined ? {} : { since }),
          ...(limit === undefined ? {} : { limit }),
        });
        if (skipped > 0) err(`clawft-plugin: warning: skipped ${skipped} unreadable line(s) in ${manager.auditLogPath}`);
        if (json) out(jsonText(events, 2));
        else if (events.length === 0) out("no audit entries");
        else {
          out(
            table(
              ["TIME", "PLUGIN", "FUNCTION", "RESULT", "CODE", "MS", "ARGS"],
              events.map((e) => [
                e.timestamp === undefined ? "-" : new Date(e.timestamp).toISOString(),
                safeText(e.pluginId, 60),
                safeText(e.function, 20),
                safeText(e.result, 10),
                safeText(e.code ?? "", 40),
                e.durationMs.toFixed(1),
                safeText(
                  Object.entries(e.args)
                    .map(([k, v]) => `${k}=${String(v)}`)
                    .join(" "),
                  120,
                ),
              ]),
            ),
          );
        }
        return EXIT.OK;
      }
      case "new": {
        const dir = need(0, "<dir>");
        noMore(1);
        const lang = typeof values.lang === "string" ? values.lang : "ts";
        if (lang !== "ts" && lang !== "js") throw new UsageError(`--lang must be ts or js, not ${JSON.stringify(safeText(lang))}`);
        const made = await scaffoldPlugin(dir, { lang, ...(typeof values.id === "string" ? { id: values.id } : {}) });
        if (json) out(jsonText(made, 2));
        else {
          out(`created ${made.id} in ${safeText(made.dir)}: ${made.files.join(", ")}`);
          out(`next: cd ${safeText(dir)} && clawft-plugin build && clawft-plugin install .`);
        }
        return EXIT.OK;
      }
      case "build": {
        noMore(1);
        const dir = positionals[0] ?? ".";
        const built = await buildPlugin(dir, {
          ...(typeof values.entry === "string" ? { entry: values.entry } : {}),
          ...(values.minify === true ? { minify: true } : {}),
        });
        for (const w of built.warnings) err(`clawft-plugin: warning: ${safeText(w, 500)}`);
        const fits = built.bytes <= DEFAULT_LIMITS.bytes && built.gzipBytes <= DEFAULT_LIMITS.gzipBytes;
        if (!fits) {
          err(
            `clawft-plugin: warning: ${built.main} is over the default install limits (${DEFAULT_LIMITS.bytes} bytes, ${DEFAULT_LIMITS.gzipBytes} gzipped): installing it needs --max-module-bytes / --max-module-gzip-bytes`,
          );
        }
        if (json) out(jsonText({ ...built, limits: DEFAULT_LIMITS, fitsDefaultLimits: fits }, 2));
        else {
          out(
            `built ${safeText(built.main)} from ${safeText(built.entry)}: ${formatBytes(built.bytes)} (${formatBytes(built.gzipBytes)} gzipped; default limits ${formatBytes(DEFAULT_LIMITS.bytes)} / ${formatBytes(DEFAULT_LIMITS.gzipBytes)})`,
          );
        }
        return EXIT.OK;
      }
      case "sign": {
        const folder = need(0, "<folder>");
        noMore(1);
        if (typeof values.key !== "string") throw new UsageError("missing --key <private key .pem>");
        let pem: string;
        try {
          pem = await readFile(values.key, "utf8");
        } catch (error) {
          throw new UsageError(`cannot read key file ${values.key}: ${(error as Error).message}`);
        }
        const signed = await signPluginFolder(folder, pem);
        if (json) out(jsonText(signed));
        else out(`wrote ${signed.path} (public key id ${signed.keyId})`);
        return EXIT.OK;
      }
      case "keys": {
        const sub = need(0, "keys subcommand (add, list, remove)");
        if (sub === "list") {
          noMore(1);
          const keys = await manager.listKeys();
          if (json) out(jsonText(keys, 2));
          else if (keys.length === 0) out("no trusted keys (registry installs will be refused)");
          else {
            out(
              table(
                ["ID", "NAME", "SCOPE", "ADDED", "SOURCE"],
                keys.map((k) => [
                  k.id.slice(0, 16),
                  safeText(k.name ?? "", 40),
                  k.scope ? safeText(k.scope.join(","), 60) : "*",
                  k.addedAt ?? "-",
                  k.source,
                ]),
              ),
            );
          }
          return EXIT.OK;
        }
        if (sub === "add") {
          const keyArg = need(1, "<public key | key file>");
          noMore(2);
          const keyText = await readKeyArgument(keyArg);
          const scope = Array.isArray(values.scope) ? (values.scope as string[]) : undefined;
          const added = await manager.addKey(
            keyText,
            typeof values.name === "string" ? values.name : undefined,
            scope === undefined ? {} : { scope },
          );
          if (json) out(jsonText(added, 2));
          else {
            out(
              `trusted key added: ${added.id}${added.name ? ` (${safeText(added.name)})` : ""}${
                added.scope ? `, only for ${safeText(added.scope.join(", "))}` : ""
              }`,
            );
          }
          return EXIT.OK;
        }
        if (sub === "remove") {
          const idArg = need(1, "<key id>");
          noMore(2);
          const removed = await manager.removeKey(idArg);
          if (json) out(jsonText(removed, 2));
          else out(`trusted key removed: ${removed.id}`);
          return EXIT.OK;
        }
        throw new UsageError(`unknown keys subcommand ${JSON.stringify(safeText(sub))} (add, list, remove)`);
      }
    }
  } catch (error) {
    return reportError(error, io, debug, command, argv.includes("--json"));
  }
}

function signatureText(s: { status: string; keyName?: string }): string {
  if (s.status === "trusted") return s.keyName ? `signed by ${safeText(s.keyName, 40)}` : "signed (trusted)";
  if (s.status === "untrusted") return "signed (untrusted key)";
  return "unsigned";
}

/** Adds the consent refusal reason to a consent error (the callback knows why it refused). */
function withRefusal(error: unknown, refusal: string | undefined): unknown {
  // The manager's (installed plugins) and the host's (`run --dir`) consent errors alike.
  if (refusal && ClawftError.isInstance(error) && error.code === "PLUGIN_CONSENT_DENIED") {
    return new LifecycleError("PLUGIN_CONSENT_DENIED", `${error.message}: ${refusal}`, { cause: error });
  }
  return error;
}

/** `keys add` takes the key itself, or the path of a file holding it (PEM). */
async function readKeyArgument(arg: string): Promise<string> {
  if (arg.startsWith("-----BEGIN") || /^[A-Za-z0-9+/]{43}=?$/.test(arg) || /^[0-9a-fA-F]{64}$/.test(arg)) return arg;
  try {
    const text = await readFile(arg, "utf8");
    if (text.length > 16 * 1024) throw new UsageError(`key file too large: ${arg}`);
    return text;
  } catch (error) {
    if (ClawftError.isInstance(error)) throw error;
    throw new UsageError(`not a public key and not a readable key file: ${safeText(arg)}`);
  }
}

function reportError(error: unknown, io: CliIo, debug: boolean, command: string, json: boolean): number {
  const code = ClawftError.isInstance(error) ? error.code : undefined;
  let message = error instanceof Error ? error.message : String(error);
  if (code === "PLUGIN_TOO_LARGE" && SIZE_FLAG_COMMANDS.has(command)) {
    const flag = /gzipped/.test(message) ? "--max-module-gzip-bytes" : "--max-module-bytes";
    message = `${message}; raise it with ${flag} <n> if you trust this plugin`;
  }
  if (json) {
    // --json: the error is JSON too (one line on stderr), so a script parses every outcome.
    const exitCode = exitCodeFor(code);
    io.stderr.write(`${jsonText({ error: { code: code ?? "ERROR", message: message.split("\n")[0] ?? "", exitCode } })}\n`);
    return exitCode;
  }
  const hint = code === "CLI_USAGE" ? `; see clawft-plugin ${command} --help` : "";
  // A consent refusal lists the permissions refused: shown whole (T64), never cut, since the
  // manifest parser bounds every value; other messages are cut at 1000 characters.
  const firstLine = message.split("\n")[0] ?? "";
  const shown = code === "PLUGIN_CONSENT_DENIED" ? escapeControlText(firstLine) : safeText(firstLine, 1000);
  io.stderr.write(`clawft-plugin: error: ${shown}${code && code !== "CLI_USAGE" ? ` [${code}]` : ""}${hint}\n`);
  if (debug) {
    let e: unknown = error;
    for (let depth = 0; e instanceof Error && depth < 5; depth++) {
      // The message may hold plugin text: escaped, so it cannot forge lines; the frames are ours.
      const header = `${e.name}: ${e.message}`;
      const frames = e.stack?.startsWith(header) ? e.stack.slice(header.length) : "";
      io.stderr.write(`${escapeControlText(header)}${frames}\n`);
      e = e.cause;
      if (e instanceof Error) io.stderr.write("caused by: ");
    }
  }
  return exitCodeFor(code);
}

/** Commands that take `--max-module-bytes` / `--max-module-gzip-bytes`: a size refusal names the flag. */
const SIZE_FLAG_COMMANDS: ReadonlySet<string> = new Set(["install", "run"]);

/** `parseArgs`'s errors, said in the CLI's words (no internal wording, one line). */
function parseArgsMessage(error: unknown): string {
  const e = error as { code?: string; message?: string };
  const text = String(e.message ?? error);
  const option = /'(-[^' ]+)/.exec(text)?.[1];
  switch (e.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown option ${option ?? text}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      if (/ambiguous/.test(text) && option) {
        return `${option} needs a value (a value that starts with "-" is written ${option}=<value>)`;
      }
      return option ? `${option} needs a value` : text;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `unexpected argument ${text.match(/'([^']*)'/)?.[1] ?? ""}`.trim();
    default:
      return text;
  }
}

/** A tool's output for `--json`: the JSON value it holds, or the text itself when it is not JSON. */
function parseOutput(output: string): unknown {
  try {
    return JSON.parse(output) as unknown;
  } catch {
    return output;
  }
}

/**
 * A `--data-dir` that does not exist is an error for commands that only read (a typo would
 * otherwise list nothing), and one that is not a folder is an error for every command.
 */
async function checkDataDirFlag(dataDir: string, command: string): Promise<void> {
  const info = await stat(dataDir).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  });
  if (info === undefined) {
    if (CREATES_DATA_DIR.has(command)) return;
    throw new UsageError(`--data-dir ${safeText(dataDir)} does not exist (nothing is installed there; check the path)`);
  }
  if (!info.isDirectory()) throw new UsageError(`--data-dir ${safeText(dataDir)} is not a folder`);
}

/** Commands that create the data directory when it is missing. */
const CREATES_DATA_DIR: ReadonlySet<string> = new Set(["install", "keys", "sign"]);
