import { afterEach, describe, expect, it } from "vitest";
import { ADAPTIVE_WAIT, AdaptiveSpin, PROBE_EVERY, SPIN_2020_WAIT, waitTuning } from "./wait-strategy.js";

describe("AdaptiveSpin (the host-call wait)", () => {
  afterEach(() => {
    delete process.env.CLAWFT_WAIT_STRATEGY;
  });

  it("spins about 4x as long as answers have recently taken, within its bounds", () => {
    const spin = new AdaptiveSpin({ minSpin: 64, maxSpin: 8000 }, 2000);
    for (let k = 0; k < 40; k++) spin.caught(300);
    expect(spin.limit).toBeGreaterThan(1200);
    expect(spin.limit).toBe(4 * 300 + 64);
    for (let k = 0; k < 40; k++) spin.caught(100_000);
    expect(spin.limit).toBe(8000);
  });

  it("hands the core over at once when spins keep missing (the other side is not running), and probes now and then", () => {
    const spin = new AdaptiveSpin({ minSpin: 64, maxSpin: 8000 }, 8000);
    for (let k = 0; k < 10; k++) spin.missed();
    expect(spin.limit).toBe(64);
    const spins = Array.from({ length: PROBE_EVERY * 2 }, () => spin.next());
    expect(spins.filter((n) => n === 8000)).toHaveLength(2);
    expect(spins.filter((n) => n === 64)).toHaveLength(PROBE_EVERY * 2 - 2);
    // A probe that catches an answer lets the limit grow back.
    for (let k = 0; k < 20; k++) spin.caught(500);
    expect(spin.limit).toBeGreaterThan(1500);
  });

  it("a fixed tuning (min = max) never adapts; the bench-only switch selects the old strategy", () => {
    const spin = new AdaptiveSpin({ minSpin: 2000, maxSpin: 2000 }, 2000);
    spin.missed();
    spin.caught(1);
    expect(spin.next()).toBe(2000);
    expect(waitTuning()).toBe(ADAPTIVE_WAIT);
    process.env.CLAWFT_WAIT_STRATEGY = "spin-2020";
    expect(waitTuning()).toBe(SPIN_2020_WAIT);
  });
});
