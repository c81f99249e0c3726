import { describe, expect, it } from "vitest";
import { canTransition, deadlineFor, failureStatus, type InstanceStatus, LIVE_STATUSES } from "../../worker/domain/lifecycle";
import { decideRolloutStep, digestPinProblem, effectiveImage, imageLabel, ROLLOUT_FAILURE_LIMIT, type RolloutInstance, type RolloutView, rolloutProgress } from "../../worker/domain/rollout";

/** Rollout decisions on data alone (worker/domain/rollout.ts): no D1, no coordinator, no host. */

const OLD = "ghcr.io/convos/runtime:1.0.0@sha256:" + "a".repeat(64);
const NEW = "ghcr.io/convos/runtime:1.1.0@sha256:" + "b".repeat(64);

const rollout = (over: Partial<RolloutView> = {}): RolloutView => ({ state: "running", targetImage: NEW, previousImage: OLD, batchSize: 2, upgradeClaimed: false, failed: 0, ...over });
let seq = 0;
const inst = (status: InstanceStatus, image: string | null, readyAt: number | null = ++seq): RolloutInstance => ({ id: `i${++seq}`, status, image, readyAt });
const many = (n: number, status: InstanceStatus, image: string | null) => Array.from({ length: n }, () => inst(status, image));

/**
 * Plays a rollout to its end the way the coordinator would: each step's creates boot to idle
 * before the next step, drains leave at once. Returns every step so the bounds can be checked.
 */
function simulate(start: RolloutInstance[], r: RolloutView, settings: { maxTotal: number; minIdle: number }) {
  let fleet = [...start];
  const steps = [];
  for (let i = 0; i < 50; i++) {
    const step = decideRolloutStep({ rollout: r, instances: fleet, settings });
    steps.push({ step, fleet: [...fleet] });
    // What booted last step is idle now; this step's creates are booting.
    fleet = fleet.map((x) => (x.status === "starting" ? { ...x, status: "idle" as const } : x)).filter((x) => !step.drain.includes(x.id));
    fleet.push(...many(step.create, "starting", effectiveImage(r)));
    if (step.next) {
      r = { ...r, state: step.next.state };
      break;
    }
  }
  return { steps, fleet, rollout: r };
}

describe("rollout steps: idle instances replaced gradually", () => {
  it("creates new ones first, then drains old idle ones, never more than batchSize at once, ending with every idle one on the target", () => {
    const claimed = inst("claimed", OLD);
    const { steps, fleet, rollout: end } = simulate([...many(3, "idle", OLD), claimed], rollout({ batchSize: 2 }), { maxTotal: 10, minIdle: 3 });
    // The first step only creates: nothing is drained before its replacement is up.
    expect(steps[0]!.step).toMatchObject({ create: 2, drain: [] });
    for (const { step, fleet: before } of steps) {
      const booting = before.filter((x) => x.status === "starting").length;
      expect(step.create + booting).toBeLessThanOrEqual(2);
      expect(step.drain.length).toBeLessThanOrEqual(2);
      // Idle capacity never drops below the floor while old ones go.
      const idleAfter = before.filter((x) => x.status === "idle" && !step.drain.includes(x.id)).length;
      expect(idleAfter).toBeGreaterThanOrEqual(Math.min(3, before.filter((x) => x.status === "idle").length));
      expect(step.drain).not.toContain(claimed.id);
      expect(step.upgrade).toEqual([]);
    }
    expect(end.state).toBe("completed");
    expect(fleet.filter((x) => x.status === "idle").map((x) => x.image)).toEqual([NEW, NEW, NEW]);
    // The claimed instance is where it was: the rollout itself never touches it.
    expect(fleet.find((x) => x.id === claimed.id)).toEqual(claimed);
  });

  it("a full pool (maxTotal reached) drains one batch to make room, then replaces it", () => {
    const start = many(3, "idle", OLD);
    const first = decideRolloutStep({ rollout: rollout({ batchSize: 1 }), instances: start, settings: { maxTotal: 3, minIdle: 3 } });
    expect(first.drain).toEqual([start[0]!.id]); // the oldest ready first
    expect(first.create).toBe(1);
    const { fleet, rollout: end } = simulate(start, rollout({ batchSize: 1 }), { maxTotal: 3, minIdle: 3 });
    expect(end.state).toBe("completed");
    expect(fleet.map((x) => x.image)).toEqual([NEW, NEW, NEW]);
  });

  it("never creates beyond maxTotal", () => {
    const step = decideRolloutStep({ rollout: rollout({ batchSize: 5 }), instances: [...many(4, "idle", OLD), ...many(4, "claimed", OLD)], settings: { maxTotal: 10, minIdle: 4 } });
    expect(step.create).toBe(2);
  });

  it("waits for old instances still booting before it completes, and replaces them once idle", () => {
    const step = decideRolloutStep({ rollout: rollout(), instances: [...many(2, "idle", NEW), inst("starting", OLD)], settings: { maxTotal: 10, minIdle: 2 } });
    expect(step).toMatchObject({ create: 0, drain: [], next: null });
  });

  it("instances with no recorded image count as old", () => {
    const step = decideRolloutStep({ rollout: rollout(), instances: many(2, "idle", null), settings: { maxTotal: 10, minIdle: 2 } });
    expect(step.create).toBe(2);
  });
});

describe("rollout states", () => {
  const fleet = [...many(3, "idle", OLD), ...many(2, "claimed", OLD)];
  const settings = { maxTotal: 10, minIdle: 3 };

  it("a paused, completed or rolled back rollout does nothing", () => {
    for (const state of ["paused", "completed", "rolled_back", "superseded"] as const) {
      expect(decideRolloutStep({ rollout: rollout({ state }), instances: fleet, settings })).toEqual({ create: 0, drain: [], upgrade: [], next: null });
    }
  });

  it("pauses itself after too many failures", () => {
    const step = decideRolloutStep({ rollout: rollout({ failed: ROLLOUT_FAILURE_LIMIT }), instances: fleet, settings });
    expect(step.create).toBe(0);
    expect(step.next).toEqual({ state: "paused", reason: expect.stringContaining(`${ROLLOUT_FAILURE_LIMIT} failures`) });
  });

  it("rolling back drives the fleet to the previous image and ends rolled_back", () => {
    const onNew = [...many(3, "idle", NEW)];
    const r = rollout({ state: "rolling_back" });
    expect(effectiveImage(r)).toBe(OLD);
    const { fleet: end, rollout: after } = simulate(onNew, r, settings);
    expect(after.state).toBe("rolled_back");
    expect(end.filter((x) => x.status === "idle").map((x) => x.image)).toEqual([OLD, OLD, OLD]);
  });
});

describe("claimed upgrades, when the operator asks", () => {
  it("redeploys old claimed instances in batches, counting upgrades in flight", () => {
    const claimed = many(5, "claimed", OLD);
    const r = rollout({ upgradeClaimed: true, batchSize: 2 });
    const first = decideRolloutStep({ rollout: r, instances: claimed, settings: { maxTotal: 10, minIdle: 0 } });
    expect(first.upgrade).toEqual([claimed[0]!.id, claimed[1]!.id]);
    const inFlight = [{ ...claimed[0]!, status: "upgrading" as const, upgradeImage: NEW }, ...claimed.slice(1)];
    expect(decideRolloutStep({ rollout: r, instances: inFlight, settings: { maxTotal: 10, minIdle: 0 } }).upgrade).toEqual([claimed[1]!.id]);
    // Not done while any claimed instance is on the old image or upgrading.
    expect(decideRolloutStep({ rollout: r, instances: inFlight, settings: { maxTotal: 10, minIdle: 0 } }).next).toBeNull();
    const allNew = claimed.map((c) => ({ ...c, image: NEW }));
    expect(decideRolloutStep({ rollout: r, instances: allNew, settings: { maxTotal: 10, minIdle: 0 } }).next?.state).toBe("completed");
  });
});

describe("progress", () => {
  it("counts instances per image, what is in flight and what is left to replace", () => {
    const p = rolloutProgress(NEW, null, [inst("idle", OLD), inst("idle", NEW), inst("starting", NEW), inst("claimed", OLD), { ...inst("upgrading", OLD), upgradeImage: NEW }, inst("dead", NEW)]);
    expect(p.inFlight).toBe(2);
    expect(p.remaining).toEqual({ idle: 1, claimed: 1 });
    expect(p.images).toEqual([
      { image: NEW, idle: 1, claimed: 0, booting: 1, upgrading: 1, total: 3 },
      { image: OLD, idle: 1, claimed: 1, booting: 0, upgrading: 0, total: 2 },
    ]);
  });
});

describe("images", () => {
  it("only digest-pinned references pass, with a message naming the problem", () => {
    expect(digestPinProblem(NEW)).toBeNull();
    expect(digestPinProblem("ghcr.io/convos/runtime:latest")).toMatch(/not pinned by digest/);
    expect(digestPinProblem("ghcr.io/convos/runtime@sha256:abc")).toMatch(/not a valid digest-pinned/);
  });

  it("labels show the tag, else the short digest", () => {
    expect(imageLabel(NEW)).toBe("runtime:1.1.0");
    expect(imageLabel("ghcr.io/convos/runtime@sha256:" + "c".repeat(64))).toBe("runtime@cccccccccccc");
    expect(imageLabel("v2")).toBe("v2");
    expect(imageLabel(null)).toBe("unrecorded");
  });
});

describe("the upgrading state", () => {
  it("is entered only from claimed and leaves only to claimed (upgraded or rolled back), crashed or deleting", () => {
    expect(canTransition("claimed", "upgrading")).toBe(true);
    for (const to of ["claimed", "crashed", "deleting"] as const) expect(canTransition("upgrading", to)).toBe(true);
    for (const from of ["idle", "starting", "claiming", "crashed"] as const) expect(canTransition(from, "upgrading")).toBe(false);
    // An upgrading instance is someone's agent: it never goes back to the pool, and a failure is a crash.
    expect(canTransition("upgrading", "idle")).toBe(false);
    expect(failureStatus("upgrading")).toBe("crashed");
    expect(LIVE_STATUSES).toContain("upgrading");
    expect(deadlineFor("upgrading", 1000, { stuckTimeoutMs: 900_000, claimTimeoutMs: 120_000 })).toBe(901_000);
  });
});
