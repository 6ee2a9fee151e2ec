import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { sharedTestConfig } from "@clawft/test-utils/vitest";

// The test-only CA of test/fixtures/tls, trusted by the forked test workers
// (Node reads NODE_EXTRA_CA_CERTS at process start, so it is set here, before
// the workers are forked). Its private key was deleted after signing.
process.env.NODE_EXTRA_CA_CERTS = fileURLToPath(new URL("./test/fixtures/tls/ca.crt", import.meta.url));

export default defineConfig({ test: { ...sharedTestConfig } });
