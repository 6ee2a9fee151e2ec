#!/usr/bin/env node
// The demo. Until @clawft/host exists it shows what the packages already do.
const policy = await import("@clawft/sandbox-policy").catch(() => null);
console.log("clawft demo");
if (!policy) {
  console.log("  @clawft/sandbox-policy is not built yet: run `pnpm build`.");
  process.exit(1);
}
console.log("  packages built:", Object.keys(policy).sort().join(", "));
