export { createTempDir, type TempDir } from "./temp-dir.js";
export {
  startLoopbackServer,
  type LoopbackServer,
  type LoopbackRequest,
  type LoopbackHandler,
} from "./loopback-server.js";
export { createFakeClock, type FakeClock } from "./fake-clock.js";
export { installNetworkGuard } from "./install-network-guard.js";
export {
  connectionAttempts,
  clearConnectionAttempts,
  guardViolations,
  takeGuardViolations,
  isLoopbackAddress,
  type ConnectionAttempt,
} from "./network-guard-state.js";
export { writeBenchResults, type BenchRow } from "./bench.js";
