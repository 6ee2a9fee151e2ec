import { createHash, generateKeyPairSync } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LifecycleError } from "./errors.js";
import { compareVersions } from "./manifest.js";
import { checkSignature, createPluginSignature, parsePublicKey, signedMessage } from "./signature.js";

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
