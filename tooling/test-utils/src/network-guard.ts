/**
 * Vitest setup file: installs the network guard (see install-network-guard.ts) so
 * any network traffic to a non-loopback address throws, and fails the test in
 * `afterEach` when code under test swallowed such an error.
 */
import { afterEach, beforeEach } from "vitest";
import { installNetworkGuard } from "./install-network-guard.js";
import { guardState } from "./network-guard-state.js";

installNetworkGuard();

beforeEach(() => {
  guardState.violations.length = 0;
});

afterEach(() => {
  if (guardState.violations.length > 0) {
    const found = guardState.violations.splice(0);
    throw new Error(`the network guard refused traffic during this test:\n${found.join("\n")}`);
  }
});
