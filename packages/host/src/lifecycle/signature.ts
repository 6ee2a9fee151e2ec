import { createHash, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { LifecycleError } from "./errors.js";

/** The file, next to the manifest, that holds a plugin's signature. */
export const SIGNATURE_FILE = "clawft.plugin.sig";

/** The `format` value of a version-1 signature file, and the first line of the signed message. */
export const SIGNATURE_FORMAT = "clawft-plugin-signature-v1";

/** A signature file is a few hundred bytes; anything bigger is refused unread. */
export const MAX_SIGNATURE_FILE_BYTES = 4096;

/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32 raw key bytes follow it. */
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/**
 * The contents of `clawft.plugin.sig` (JSON, UTF-8):
 *
 * ```json
 * { "format": "clawft-plugin-signature-v1",
 *   "publicKey": "<base64 of the 32-byte raw Ed25519 public key>",
 *   "signature": "<base64 of the 64-byte Ed25519 signature>" }
 * ```
 *
 * The signature is over {@link signedMessage}: the manifest's exact bytes and the module's
 * exact bytes are both covered, so neither the code nor the permissions can change after signing.
 */
export interface SignatureFile {
  format: typeof SIGNATURE_FORMAT;
  publicKey: string;
  signature: string;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * The exact bytes that are signed (UTF-8, each line ending in `\n`):
 *
 * ```
 * clawft-plugin-signature-v1
 * manifest-sha256 <64 lowercase hex digits: sha256 of clawft.plugin.json's bytes>
 * module-sha256 <64 lowercase hex digits: sha256 of the wasm module's bytes>
 * ```
 *
 * A domain-separation first line stops a signature made for anything else (another protocol,
 * another version of this one) from being replayed as a plugin signature.
 */
export function signedMessage(manifestBytes: Uint8Array, moduleBytes: Uint8Array): Buffer {
  return Buffer.from(
    `${SIGNATURE_FORMAT}\nmanifest-sha256 ${sha256Hex(manifestBytes)}\nmodule-sha256 ${sha256Hex(moduleBytes)}\n`,
    "utf8",
  );
}

/** A trusted public key's id: the sha256 (hex) of its 32 raw bytes. */
export function keyIdOf(rawPublicKey: Uint8Array): string {
  return sha256Hex(rawPublicKey);
}

/** The 32 raw bytes of an Ed25519 public `KeyObject`. */
function rawOf(key: KeyObject): Buffer {
  const der = key.export({ type: "spki", format: "der" });
  return Buffer.from(der.subarray(ED25519_SPKI_PREFIX.length));
}

function keyFromRaw(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: "der", type: "spki" });
}

/** A parsed Ed25519 public key. */
export interface ParsedPublicKey {
  /** sha256 hex of the raw key: how keys are named in files, lists and messages. */
  id: string;
  /** base64 of the 32 raw bytes (the form stored in the keys file and signature files). */
  raw: string;
  key: KeyObject;
}

/**
 * Parses an Ed25519 public key given as a PEM (`-----BEGIN PUBLIC KEY-----`, SPKI), as base64
 * of the 32 raw bytes, or as 64 hex digits. Anything else, including a key of another type
 * (RSA, EC), is a `PLUGIN_KEY_INVALID` error: only Ed25519 is accepted, so no algorithm
 * confusion is possible.
 */
export function parsePublicKey(text: string): ParsedPublicKey {
  const input = text.trim();
  let key: KeyObject;
  try {
    if (input.startsWith("-----BEGIN")) {
      key = createPublicKey({ key: input, format: "pem" });
    } else if (/^[0-9a-fA-F]{64}$/.test(input)) {
      key = keyFromRaw(Buffer.from(input, "hex"));
    } else if (/^[A-Za-z0-9+/]{43}=?$/.test(input)) {
      const raw = Buffer.from(input, "base64");
      if (raw.length !== 32) throw new Error("not 32 bytes");
      key = keyFromRaw(raw);
    } else {
      throw new Error("unrecognised key format");
    }
  } catch (error) {
    throw new LifecycleError(
      "PLUGIN_KEY_INVALID",
      "invalid public key: expected an Ed25519 public key as PEM, base64 of 32 bytes, or 64 hex digits",
      { cause: error },
    );
  }
  if (key.asymmetricKeyType !== "ed25519") {
    throw new LifecycleError(
      "PLUGIN_KEY_INVALID",
      `invalid public key: expected an Ed25519 key, got ${key.asymmetricKeyType ?? "unknown"}`,
    );
  }
  const raw = rawOf(key);
  return { id: keyIdOf(raw), raw: raw.toString("base64"), key };
}

/**
 * Signs a plugin: returns the text of its `clawft.plugin.sig`. `privateKey` is an Ed25519 private
 * `KeyObject` or PEM (PKCS#8). For plugin authors and tests; the host only verifies.
 */
export function createPluginSignature(
  manifestBytes: Uint8Array,
  moduleBytes: Uint8Array,
  privateKey: KeyObject | string,
): string {
  const signature = sign(null, signedMessage(manifestBytes, moduleBytes), privateKey);
  const publicKey = rawOf(createPublicKey(privateKey)).toString("base64");
  const file: SignatureFile = { format: SIGNATURE_FORMAT, publicKey, signature: signature.toString("base64") };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** What a signature check found. */
export type SignatureStatus =
  | { status: "unsigned" }
  | { status: "untrusted"; keyId: string }
  | { status: "trusted"; keyId: string; keyName?: string };

/** A key that signatures may be trusted for. */
export interface TrustedKey {
  id: string;
  raw: string;
  name?: string;
}

/**
 * Checks a signature file against the manifest and module bytes.
 *
 * - no file: `unsigned`;
 * - malformed, or not a valid Ed25519 signature over {@link signedMessage} with the key it names:
 *   `PLUGIN_SIGNATURE_INVALID` (a tampered module or manifest lands here);
 * - valid, key not in `trusted`: `untrusted` (the caller decides whether that is fatal);
 * - valid, key trusted: `trusted`.
 *
 * The signature is verified with the key named in the file before trust is looked up, so
 * tampering is reported as tampering even when the signer is unknown.
 */
export function checkSignature(
  signatureBytes: Uint8Array | undefined,
  manifestBytes: Uint8Array,
  moduleBytes: Uint8Array,
  trusted: readonly TrustedKey[],
): SignatureStatus {
  if (signatureBytes === undefined) return { status: "unsigned" };
  const invalid = (why: string, cause?: unknown) =>
    new LifecycleError("PLUGIN_SIGNATURE_INVALID", `invalid plugin signature: ${why}`, { cause });
  if (signatureBytes.length > MAX_SIGNATURE_FILE_BYTES) throw invalid(`${SIGNATURE_FILE} is too large`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(signatureBytes).toString("utf8"));
  } catch (error) {
    throw invalid(`${SIGNATURE_FILE} is not JSON`, error);
  }
  if (typeof parsed !== "object" || parsed === null) throw invalid(`${SIGNATURE_FILE} is not a JSON object`);
  const file = parsed as Record<string, unknown>;
  if (file.format !== SIGNATURE_FORMAT) throw invalid(`unknown format (expected "${SIGNATURE_FORMAT}")`);
  if (typeof file.publicKey !== "string") throw invalid("publicKey must be a string");
  if (typeof file.signature !== "string" || !/^[A-Za-z0-9+/]{86}==$/.test(file.signature)) {
    throw invalid("signature must be base64 of 64 bytes");
  }
  let key: ParsedPublicKey;
  try {
    key = parsePublicKey(file.publicKey);
  } catch (error) {
    throw invalid("publicKey is not an Ed25519 public key", error);
  }
  const ok = verify(null, signedMessage(manifestBytes, moduleBytes), key.key, Buffer.from(file.signature, "base64"));
  if (!ok) throw invalid("the signature does not match the manifest and module");
  const match = trusted.find((k) => k.id === key.id);
  if (!match) return { status: "untrusted", keyId: key.id };
  return match.name === undefined
    ? { status: "trusted", keyId: key.id }
    : { status: "trusted", keyId: key.id, keyName: match.name };
}

/**
 * What an install does with a package's signature status (T37, T38): a registry
 * package must carry a valid signature by a trusted key (unsigned or untrusted is
 * refused: anyone can publish to a registry); a local package (folder, archive)
 * without one installs with a warning, since the user chose the file. An invalid
 * signature never gets here: `checkSignature` throws for it, whatever the source.
 */
export function signatureVerdict(
  signature: SignatureStatus,
  source: "registry" | "archive" | "folder",
  plugin: { id: string; version: string },
  /** Appended to "which is not trusted" (e.g. why a trusted key's scope excludes this id). */
  untrustedNote = "",
): { refused?: LifecycleError; warning?: string } {
  if (source === "registry") {
    if (signature.status === "unsigned") {
      return {
        refused: new LifecycleError(
          "PLUGIN_SIGNATURE_MISSING",
          `unsigned plugin refused: registry installs need a valid Ed25519 signature (${SIGNATURE_FILE}) by a trusted key`,
        ),
      };
    }
    if (signature.status === "untrusted") {
      return {
        refused: new LifecycleError(
          "PLUGIN_SIGNATURE_UNTRUSTED",
          `untrusted signer refused: ${plugin.id} is signed by key ${signature.keyId.slice(0, 16)}, which is not a trusted key${untrustedNote}`,
        ),
      };
    }
    return {};
  }
  if (signature.status === "unsigned") {
    return { warning: `plugin ${plugin.id}@${plugin.version} is not signed; installing it anyway (local install)` };
  }
  if (signature.status === "untrusted") {
    return {
      warning: `plugin ${plugin.id}@${plugin.version} is signed by key ${signature.keyId.slice(0, 16)}, which is not trusted${untrustedNote}; installing it anyway (local install)`,
    };
  }
  return {};
}
