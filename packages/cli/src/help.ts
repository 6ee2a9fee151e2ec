const COMMON = `Common options:
  --data-dir <dir>   data directory (default: $CLAWFT_HOME, else ~/.clawft)
  --json             machine-readable JSON on stdout
  --debug            print stack traces on errors
  -h, --help         this help`;

const CONSENT = `Consent options:
  -y, --yes          approve every permission the plugin asks for
  --grant <file>     pre-grant file: {"<plugin id>": {"network": [...], "filesystem": [...],
                     "env_vars": [...], "shell": true}}; a request is approved only if the
                     file lists every permission in it
  On a terminal you are asked (default No). Without a terminal, anything not covered by
  --yes or --grant is refused (exit code 4).`;

export const EXIT_CODES_TEXT = `Exit codes:
  0  success
  1  unexpected error
  2  usage error (unknown command/option, missing argument, bad grant file)
  3  plugin or key not found
  4  consent denied (refused at the prompt, or not pre-granted in non-interactive mode)
  5  verification failed (signature missing/invalid/untrusted, installed file changed)
  6  invalid plugin (archive, manifest, size limit, downgrade, bad key)
  7  the plugin failed while running (tool error, trap, resource limit)
  8  download failed
  9  data directory corrupt, unsafe (symlinked, writable by others, another owner) or locked
 10  no space left in the data directory (nothing was changed; free space and retry)`;

export const HELP = `clawft-plugin — install, verify and run clawft WebAssembly plugins

Usage: clawft-plugin <command> [options]

Commands:
  install <path|url>          install or upgrade from a folder, a .tgz, or an http(s) URL
  list                        list installed plugins
  info <id>                   show an installed plugin (source, signer, sha256, permissions)
  run <id> <tool> [json]      run one tool of a plugin with JSON parameters
  permissions <id>            show the stored approvals of a plugin
  revoke <id>                 revoke a plugin's approvals (it asks again before its next run)
  remove <id>                 uninstall a plugin, revoke its approvals, delete its data
  audit                       show the audit log (--plugin <id>, --since <time>, --limit <n>)
  keys add|list|remove        manage trusted Ed25519 signing keys
  sign <folder> --key <pem>   (plugin authors) write clawft.plugin.sig for a plugin folder
  new <dir> [--lang ts|js]    (plugin authors) create a JS/TS plugin: manifest, source, test
  build [dir]                 (plugin authors) bundle a JS/TS plugin into its manifest's "main"

Run "clawft-plugin <command> --help" for the options of a command.

${COMMON}

Signatures: registry (URL) installs need clawft.plugin.sig, an Ed25519 signature by a trusted
key over the manifest and the module; local installs without one print a warning and go on.

${EXIT_CODES_TEXT}`;

const COMMANDS: Record<string, string> = {
  install: `Usage: clawft-plugin install <path|url> [options]

Installs a plugin from a folder (clawft.plugin.json + its wasm module), a .tgz/.tar archive,
or an http(s):// URL of an archive. Archives are checked entry by entry (no absolute paths,
no "..", no links or devices, size and file-count limits) before anything is written, and
installed by an atomic rename: a failed install leaves nothing behind.
URL installs need a valid signature by a trusted key (see "keys"); local installs without a
signature print a warning. An upgrade asks only for permissions the installed version did not
have. Installing an older version than the installed one is refused unless --allow-downgrade;
replacing a version signed by a trusted key with one signed by another key (or unsigned) is
refused unless --allow-signer-change.

Options:
  --allow-downgrade               allow replacing a newer installed version
  --allow-signer-change           allow an upgrade signed by a different key (or unsigned)
  --max-module-bytes <n>          raise the module size limit (default 307200)
  --max-module-gzip-bytes <n>     raise the gzipped module size limit (default 122880)

${CONSENT}

${COMMON}`,
  list: `Usage: clawft-plugin list [--json]

Lists installed plugins: id, version, name, signature status, source kind.

${COMMON}`,
  info: `Usage: clawft-plugin info <id> [--json]

Shows an installed plugin: source, signer key, module and manifest sha256, permissions asked
for and approved.

${COMMON}`,
  run: `Usage: clawft-plugin run <id> <tool> [json] [options]
       clawft-plugin run --dir <folder> <tool> [json] [options]

Verifies the installed files against the sha256 recorded at install (a changed file is
refused, exit 5), asks for any permission not yet approved for this version, then runs the
tool with the JSON parameters (default {}) and prints its output. Every host call the plugin
makes is appended to the audit log (<data-dir>/audit.jsonl). Compiled code is cached in
<data-dir>/cache/.
  --dir <folder>               the dev loop: run the plugin in <folder> without installing it;
                               every permission it asks for needs --yes, --grant or the prompt
                               each time (nothing is stored); relative grants live in <folder>
Dev-only network flags (each prints a warning and is recorded in the audit log):
  --allow-private-cidr <cidr>  let the plugin reach private addresses in <cidr> (repeatable)
  --resolve <host>=<address>   answer <host> with <address> instead of DNS (repeatable), e.g.
                               --resolve api.example.com=127.0.0.1 for a local test server

${CONSENT}

${COMMON}`,
  permissions: `Usage: clawft-plugin permissions <id> [--json]

Shows the approvals stored for a plugin, per version.

${COMMON}`,
  revoke: `Usage: clawft-plugin revoke <id> [--version <v>] [--json]

Revokes the stored approvals of a plugin (all versions, or one). It asks again before its
next run.

${COMMON}`,
  remove: `Usage: clawft-plugin remove <id> [--keep-data] [--json]

Uninstalls a plugin, revokes every approval of its id and deletes its data folder
(<data-dir>/data/<id>/), so a later plugin installed under the same id starts empty and is
asked for consent again.
  --keep-data      keep <data-dir>/data/<id>/ (a later "remove <id>" deletes it)

${COMMON}`,
  audit: `Usage: clawft-plugin audit [--plugin <id>] [--since <time>] [--limit <n>] [--json]

Reads the audit log (<data-dir>/audit.jsonl, one JSON event per host call) and prints a table:
time, plugin, function, result, error code, duration, redacted arguments.
  --plugin <id>    only this plugin
  --since <time>   ISO date/time (2026-11-25, 2026-11-25T10:00:00Z) or a duration back
                   from now (90s, 15m, 2h, 7d)
  --limit <n>      only the last n entries

${COMMON}`,
  sign: `Usage: clawft-plugin sign <folder> --key <private key .pem> [--json]

For plugin authors: signs the folder's clawft.plugin.json and the module it names with an
Ed25519 private key (PEM, PKCS#8) and writes clawft.plugin.sig next to the manifest. Users
trust the matching public key with "clawft-plugin keys add".

Create a key pair with OpenSSL:
  openssl genpkey -algorithm ed25519 -out signing-key.pem
  openssl pkey -in signing-key.pem -pubout -out signing-key.pub.pem

${COMMON}`,
  new: `Usage: clawft-plugin new <dir> [--lang ts|js] [--id <id>] [--json]

For plugin authors: creates a JS or TypeScript plugin in a new (or empty) folder: a manifest
with "runtime": "js" and no permissions (add what the plugin needs), src/plugin.ts (or .js)
with two tools, test/plugin.test.mjs (runs the built plugin in a real host with node --test),
package.json and tsconfig.json.
  --lang ts|js     the source language (default ts)
  --id <id>        the plugin id (default dev.local.<folder name>)

${COMMON}`,
  build: `Usage: clawft-plugin build [dir] [--entry <file>] [--minify] [--json]

For plugin authors: bundles a JS/TS plugin (default: the current folder) with esbuild into the
one CommonJS file its manifest's "main" names; the folder is then installable
("clawft-plugin install <dir>"). The bundle may import only "host" (the clawft:plugin world's
import): Node built-ins and unresolved packages fail the build. Prints the bundle's size
against the default install limits.
  --entry <file>   the source entry (default: src/plugin.ts, src/plugin.js, src/index.ts or
                   src/index.js, the first that exists)
  --minify         minify the bundle

${COMMON}`,
  keys: `Usage: clawft-plugin keys add <public key | key file> [--name <label>] [--scope <pattern>]...
       clawft-plugin keys list
       clawft-plugin keys remove <key id>

Manages the trusted Ed25519 keys (<data-dir>/trusted-keys.json). A key is given as a PEM
public key (or the path of a .pem file), base64 of its 32 raw bytes, or 64 hex digits. A key's
id is the sha256 of its raw bytes; "remove" takes the id or a unique prefix of 8+ hex digits.
Plugins installed from a URL stop loading when the key that signed them is removed.
  --scope <pattern>  trust the key only for plugin ids matching the pattern: an exact id,
                     an id prefix ending in ".*" (com.example.*) or "*"; repeatable.
                     Without --scope the key verifies every plugin id.

Create a key pair with OpenSSL:
  openssl genpkey -algorithm ed25519 -out signing-key.pem
  openssl pkey -in signing-key.pem -pubout -out signing-key.pub.pem

${COMMON}`,
};

export function commandHelp(command: string): string {
  return COMMANDS[command] ?? HELP;
}
