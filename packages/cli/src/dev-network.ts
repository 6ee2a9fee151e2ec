import { appendFile } from "node:fs/promises";
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { CidrList, ClawftError } from "@clawft/sandbox-policy";

/** The dev-only network flags of `run`, parsed. */
export interface DevNetwork {
  /** `--allow-private-cidr` ranges, normalised by the sandbox's own CIDR parser. */
  allowPrivateCidrs: readonly string[];
  /** `--resolve host=address` overrides, host names lower-cased. */
  overrides: ReadonlyMap<string, string>;
}

class DevFlagError extends ClawftError {
  static override readonly marker: symbol = Symbol.for("clawft.error.CliUsageError");

  constructor(message: string) {
    super("CLI_USAGE", message);
    this.name = "UsageError";
  }
}

/**
 * Parses `--allow-private-cidr <cidr>` (repeatable) and `--resolve <host>=<address>` (repeatable).
 * Both are refused unless given: nothing here widens what a plugin may reach by default. A bad
 * value is a usage error naming the flag, so a typo never becomes a wider grant than meant.
 */
export function parseDevNetwork(cidrs: readonly string[], resolves: readonly string[]): DevNetwork {
  let allowPrivateCidrs: readonly string[] = [];
  if (cidrs.length > 0) {
    try {
      allowPrivateCidrs = new CidrList([...cidrs]).cidrs;
    } catch (error) {
      throw new DevFlagError(`--allow-private-cidr: ${(error as Error).message}`);
    }
  }
  const overrides = new Map<string, string>();
  for (const entry of resolves) {
    const m = /^([A-Za-z0-9.-]+)=(.+)$/.exec(entry);
    const host = m?.[1]?.toLowerCase();
    const address = m?.[2]?.replace(/^\[(.*)\]$/, "$1");
    if (!host || !address || isIP(address) === 0) {
      throw new DevFlagError(`--resolve takes <host>=<IP address> (e.g. api.example.com=127.0.0.1), not ${JSON.stringify(entry.slice(0, 200))}`);
    }
    overrides.set(host, address);
  }
  return { allowPrivateCidrs, overrides };
}

/** Whether any dev network flag was given. */
export function usesDevNetwork(dev: DevNetwork): boolean {
  return dev.allowPrivateCidrs.length > 0 || dev.overrides.size > 0;
}

/**
 * The host's `resolve` option for `--resolve`: an overridden name answers its address; every
 * other name goes to the system resolver, as without the flag. The sandbox still checks the
 * address it gets (a private one stays refused unless `--allow-private-cidr` covers it).
 */
export function devResolver(dev: DevNetwork): ((hostname: string) => Promise<string[]>) | undefined {
  if (dev.overrides.size === 0) return undefined;
  return async (hostname) => {
    const fixed = dev.overrides.get(hostname.toLowerCase());
    if (fixed !== undefined) return [fixed];
    return (await lookup(hostname, { all: true })).map((a) => a.address);
  };
}

/** The warning printed when a dev network flag is used (one line). */
export function devNetworkWarning(dev: DevNetwork, pluginId: string): string {
  const parts: string[] = [];
  if (dev.allowPrivateCidrs.length > 0) parts.push(`--allow-private-cidr ${dev.allowPrivateCidrs.join(", ")} lets it reach private addresses there`);
  if (dev.overrides.size > 0) parts.push(`--resolve ${[...dev.overrides].map(([h, a]) => `${h}=${a}`).join(", ")} overrides DNS for it`);
  return `dev-only network flags for ${pluginId}: ${parts.join("; ")} (for testing against local servers only; recorded in the audit log)`;
}

/**
 * Records the dev flags in the audit log (`function: "dev-network"`), before the plugin runs, so
 * `clawft-plugin audit` shows that a run's network rules were widened and how.
 */
export async function auditDevNetwork(auditLogPath: string, dev: DevNetwork, pluginId: string): Promise<void> {
  const event = {
    pluginId,
    function: "dev-network",
    args: {
      allowPrivateCidrs: dev.allowPrivateCidrs.join(",") || null,
      resolve: [...dev.overrides].map(([h, a]) => `${h}=${a}`).join(",") || null,
    },
    result: "ok",
    durationMs: 0,
    timestamp: Date.now(),
  };
  await appendFile(auditLogPath, `${JSON.stringify(event)}\n`, { mode: 0o600 });
}
