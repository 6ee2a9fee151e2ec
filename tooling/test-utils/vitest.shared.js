import { fileURLToPath } from "node:url";

/**
 * The vitest settings every clawft package uses. The network guard runs first in
 * every test file: any connection or DNS query that would leave the machine's
 * loopback interface throws, so no test can send traffic to a real address.
 *
 * Usage in a package's `vitest.config.ts`:
 *   import { defineConfig } from "vitest/config";
 *   import { sharedTestConfig } from "@clawft/test-utils/vitest";
 *   export default defineConfig({ test: { ...sharedTestConfig } });
 */
export const sharedTestConfig = {
  setupFiles: [fileURLToPath(new URL("./src/network-guard.ts", import.meta.url))],
  include: ["src/**/*.test.ts", "test/**/*.test.ts"],
  testTimeout: 30_000,
  hookTimeout: 60_000,
  pool: "forks",
};
