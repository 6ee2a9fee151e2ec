/**
 * Test-only crash injection for the lifecycle's crash-recovery tests (T69, T72).
 *
 * When the environment variable `CLAWFT_TEST_CRASH_POINT` names a point (`upgrade-after-aside`)
 * or a point and an occurrence (`lock-acquired:3` = the third time), the process kills itself
 * with SIGKILL when it reaches that point: no `finally`, no exit handlers, exactly what a power
 * cut or the OOM killer leaves behind. The variable is read from the host process's own
 * environment, which a plugin cannot set (plugins never see or change the host's `process.env`);
 * unset, this is one string comparison.
 */
const seen = new Map<string, number>();

/** The crash points, in the order an operation reaches them. */
export type CrashPoint =
  | "lock-acquired"
  | "lock-claimed"
  | "upgrade-staged"
  | "upgrade-after-aside"
  | "upgrade-after-swap"
  | "upgrade-before-approval"
  | "remove-after-revoke"
  | "remove-after-data"
  | "remove-after-aside";

export function crashPoint(point: CrashPoint): void {
  const wanted = process.env.CLAWFT_TEST_CRASH_POINT;
  if (wanted === undefined || wanted === "") return;
  const [name, nth] = wanted.split(":");
  if (name !== point) return;
  const count = (seen.get(point) ?? 0) + 1;
  seen.set(point, count);
  if (count === (nth === undefined ? 1 : Number(nth))) process.kill(process.pid, "SIGKILL");
}
