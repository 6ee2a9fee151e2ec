import { createHash, generateKeyPairSync } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LifecycleError } from "./errors.js";
import { compareVersions } from "./manifest.js";
import { checkSignature, createPluginSignature, parsePublicKey, signatureVerdict, signedMessage } from "./signature.js";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("signatures", () => {
  it("sign exactly the documented message", () => {
    const manifest = Buffer.from('{"id":"a.b"}');
    const module = Buffer.from([0, 97, 115, 109]);
    expect(signedMessage(manifest, module).toString("utf8")).toBe(
      `clawft-plugin-signature-v1\nmanifest-sha256 ${sha(manifest)}\nmodule-sha256 ${sha(module)}\n`,
    );
  });

  it("verify, and fail on any change to either input (property)", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const key = parsePublicKey(publicKey.export({ type: "spki", format: "pem" }).toString());
    const trusted = [{ id: key.id, raw: key.raw }];
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(), (m, w, at) => {
        const manifest = Buffer.from(m);
        const module = Buffer.from(w);
        const sig = Buffer.from(createPluginSignature(manifest, module, privateKey));
        expect(checkSignature(sig, manifest, module, trusted)).toEqual({ status: "trusted", keyId: key.id });
        expect(checkSignature(sig, manifest, module, [])).toEqual({ status: "untrusted", keyId: key.id });
        const tampered = Buffer.from(module);
        tampered[at % tampered.length] = (tampered[at % tampered.length]! + 1) & 0xff;
        expect(() => checkSignature(sig, manifest, tampered, trusted)).toThrow(LifecycleError);
        // Swapping the two inputs is not the same message either.
        if (!manifest.equals(module)) expect(() => checkSignature(sig, module, manifest, trusted)).toThrow(/^invalid plugin signature/);
      }),
      { numRuns: 50 },
    );
  });

  it("refuse malformed signature files", () => {
    const m = Buffer.from("{}");
    for (const bad of ["", "null", "[]", '{"format":"x"}', '{"format":"clawft-plugin-signature-v1","publicKey":"AAAA","signature":"AAAA"}']) {
      let code: string | undefined;
      try {
        checkSignature(Buffer.from(bad), m, m, []);
      } catch (e) {
        code = LifecycleError.isInstance(e) ? e.code : "other";
      }
      expect(code).toBe("PLUGIN_SIGNATURE_INVALID");
    }
    expect(checkSignature(undefined, m, m, [])).toEqual({ status: "unsigned" });
  });
});

describe("signatureVerdict: what an install does with a signature", () => {
  const plugin = { id: "com.example.p", version: "1.0.0" };
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const key = parsePublicKey(publicKey.export({ type: "spki", format: "pem" }).toString());
  const manifest = Buffer.from('{"id":"com.example.p"}');
  const module = Buffer.from([0, 97, 115, 109, 1, 0, 0, 0]);
  const sig = Buffer.from(createPluginSignature(manifest, module, privateKey));

  it("T37 a registry package with no signature is refused with PLUGIN_SIGNATURE_MISSING", () => {
    const verdict = signatureVerdict(checkSignature(undefined, manifest, module, [key]), "registry", plugin);
    expect(verdict.refused?.code).toBe("PLUGIN_SIGNATURE_MISSING");
    expect(verdict.refused?.message).toMatch(/^unsigned plugin refused: registry installs need a valid Ed25519 signature/);
  });

  it("T37 a registry package signed by a key that is not trusted is refused with PLUGIN_SIGNATURE_UNTRUSTED", () => {
    const verdict = signatureVerdict(checkSignature(sig, manifest, module, []), "registry", plugin);
    expect(verdict.refused?.code).toBe("PLUGIN_SIGNATURE_UNTRUSTED");
    expect(verdict.refused?.message).toContain(key.id.slice(0, 16));
  });

  it("T37 a signature that does not verify is refused before any source policy (PLUGIN_SIGNATURE_INVALID)", () => {
    const other = Buffer.from(module);
    other[7] = 1;
    expect(() => checkSignature(sig, manifest, other, [key])).toThrow(/^invalid plugin signature: the signature does not match/);
  });

  it("T37 a registry package signed by a trusted key passes with no warning", () => {
    expect(signatureVerdict(checkSignature(sig, manifest, module, [key]), "registry", plugin)).toEqual({});
  });

  it("T38 a local package without a signature installs with a warning naming it", () => {
    for (const source of ["folder", "archive"] as const) {
      const verdict = signatureVerdict(checkSignature(undefined, manifest, module, [key]), source, plugin);
      expect(verdict.refused).toBeUndefined();
      expect(verdict.warning).toBe("plugin com.example.p@1.0.0 is not signed; installing it anyway (local install)");
    }
  });

  it("T38 a local package signed by an unknown key installs with a warning naming the key", () => {
    const verdict = signatureVerdict(checkSignature(sig, manifest, module, []), "folder", plugin);
    expect(verdict.refused).toBeUndefined();
    expect(verdict.warning).toContain(`signed by key ${key.id.slice(0, 16)}, which is not trusted`);
  });
});

describe("compareVersions", () => {
  it("orders semver versions", () => {
    const ordered = ["0.9.0", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.10.0", "2.0.0"];
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) {
        expect(Math.sign(compareVersions(ordered[i]!, ordered[j]!))).toBe(Math.sign(i - j));
      }
    }
    expect(compareVersions("1.0.0+build.1", "1.0.0+build.2")).toBe(0);
  });
});
