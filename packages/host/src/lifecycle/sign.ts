import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { LifecycleError } from "./errors.js";
import { writeFileAtomic } from "./fs-util.js";
import { MANIFEST_FILE, MAX_MANIFEST_BYTES, readManifest } from "./manifest.js";
import { createPluginSignature, parsePublicKey, SIGNATURE_FILE } from "./signature.js";

/** Parses an Ed25519 private key (PEM, PKCS#8); anything else is `PLUGIN_KEY_INVALID`. */
export function parsePrivateKey(pem: string | KeyObject): KeyObject {
  let key: KeyObject;
  try {
    key = typeof pem === "string" ? createPrivateKey({ key: pem, format: "pem" }) : pem;
  } catch (error) {
    throw new LifecycleError("PLUGIN_KEY_INVALID", "invalid private key: expected an Ed25519 private key in PEM (PKCS#8)", {
      cause: error,
    });
  }
  if (key.type !== "private" || key.asymmetricKeyType !== "ed25519") {
    throw new LifecycleError("PLUGIN_KEY_INVALID", "invalid private key: expected an Ed25519 private key in PEM (PKCS#8)");
  }
  return key;
}

/**
 * Signs a plugin folder for its author: reads `clawft.plugin.json` and the module it names,
 * and writes `clawft.plugin.sig` next to the manifest (atomically). Returns the signature file's
 * path and the id of the public key that verifies it (what users pass to `keys add`).
 */
export async function signPluginFolder(
  folder: string,
  privateKey: string | KeyObject,
): Promise<{ path: string; keyId: string }> {
  const key = parsePrivateKey(privateKey);
  let manifestBytes: Buffer;
  try {
    manifestBytes = await readFile(join(folder, MANIFEST_FILE));
  } catch (error) {
    throw new LifecycleError("PLUGIN_SOURCE_INVALID", `no ${MANIFEST_FILE} in ${folder}`, { cause: error });
  }
  if (manifestBytes.length > MAX_MANIFEST_BYTES) {
    throw new LifecycleError("PLUGIN_INVALID_MANIFEST", `invalid plugin manifest: ${MANIFEST_FILE} is too large`);
  }
  const manifest = readManifest(manifestBytes);
  let moduleBytes: Buffer;
  try {
    moduleBytes = await readFile(join(folder, ...manifest.wasmModule.split("/")));
  } catch (error) {
    throw new LifecycleError("PLUGIN_SOURCE_INVALID", `${manifest.entryField} ${manifest.wasmModule} not found in ${folder}`, {
      cause: error,
    });
  }
  const path = join(folder, SIGNATURE_FILE);
  await writeFileAtomic(path, createPluginSignature(manifestBytes, moduleBytes, key), 0o644);
  const publicPem = createPublicKey(key).export({ type: "spki", format: "pem" }).toString();
  return { path, keyId: parsePublicKey(publicPem).id };
}
