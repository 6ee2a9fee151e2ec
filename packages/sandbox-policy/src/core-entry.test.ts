import { describe, expect, it } from "vitest";
// Imported by the published names, so the exports map and the shared chunk are under test.
import * as main from "@clawft/sandbox-policy";
import * as core from "@clawft/sandbox-policy/core";

describe("the ./core entry", () => {
  it("hands out the same classes and defaults as the main entry (one shared chunk)", () => {
    expect(core.ClawftError).toBe(main.ClawftError);
    expect(core.SandboxError).toBe(main.SandboxError);
    expect(core.RESOURCE_DEFAULTS).toBe(main.RESOURCE_DEFAULTS);
    expect(core.escapeControlText).toBe(main.escapeControlText);
    expect(core.truncateLogMessage).toBe(main.truncateLogMessage);
    const error = new core.SandboxError("FS_OUTSIDE_SANDBOX", "filesystem access denied");
    expect(main.SandboxError.isInstance(error)).toBe(true);
    expect(error).toBeInstanceOf(main.ClawftError);
  });

  it("exports no manifest code (it must stay free of the schema library)", () => {
    expect(Object.keys(core).sort()).toEqual(
      [
        "ClawftError",
        "HOST_CALL_ARGUMENT_LIMITS",
        "LOG_MESSAGE_MAX_BYTES",
        "RESOURCE_DEFAULTS",
        "RESOURCE_HARD_LIMITS",
        "SANDBOX_DEFAULTS",
        "SandboxError",
        "TRUNCATION_SUFFIX",
        "escapeControlText",
        "escapeJsonControlText",
        "truncateLogMessage",
      ].sort(),
    );
  });
});
