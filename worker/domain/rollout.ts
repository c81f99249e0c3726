import { z } from "zod";
import type { InstanceStatus } from "./lifecycle";

/**
 * Rollouts of the runtime image as decisions on data (SPEC §5, issue 15): which instances to
 * create on the new image and which old idle ones to drain this tick, which claimed ones to
 * redeploy, and when a rollout is done. The coordinator does the I/O (durable-objects/pool-coordinator/rollout.ts).
 */

export const ROLLOUT_STATES = ["running", "paused", "completed", "rolling_back", "rolled_back", "superseded"] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

/** A rollout pauses itself after this many failures (boots on the target image that died, upgrades rolled back). */
export const ROLLOUT_FAILURE_LIMIT = 3;
export const DEFAULT_ROLLOUT_BATCH = 2;
export const MAX_ROLLOUT_BATCH = 20;

export interface RolloutView {
  state: RolloutState;
  targetImage: string;
  previousImage: string | null;
  batchSize: number;
  upgradeClaimed: boolean;
  failed: number;
}

export interface RolloutInstance {
  id: string;
  status: InstanceStatus;
  image: string | null;
  /** For `upgrading` rows: the image the redeploy is heading to. */
  upgradeImage?: string | null;
  readyAt: number | null;
}

export interface RolloutStepInput {
  rollout: RolloutView;
  instances: readonly RolloutInstance[];
  settings: { maxTotal: number; minIdle: number };
}

export interface RolloutStep {
  /** New instances to create on the target image. */
  create: number;
  /** Old idle instances to drain, oldest ready first. */
  drain: string[];
  /** Claimed instances to redeploy on the target image (only when the operator asked for it). */
  upgrade: string[];
  /** The state the rollout moves to (a compare-and-set on its current one), or null to stay. */
  next: { state: RolloutState; reason: string } | null;
}

/** The image a rollout drives the fleet to: its target, or its previous image while rolling back. */
export function effectiveImage(r: Pick<RolloutView, "state" | "targetImage" | "previousImage">): string {
  return (r.state === "rolling_back" || r.state === "rolled_back") && r.previousImage !== null ? r.previousImage : r.targetImage;
}

const ACTIVE: readonly RolloutState[] = ["running", "rolling_back"];
const isLive = (s: InstanceStatus) => s === "creating" || s === "starting" || s === "idle" || s === "claiming" || s === "claimed" || s === "upgrading";

/**
 * One bounded step. New instances first, within `maxTotal` and `batchSize` booting at once;
 * then old idle ones drained as the new ones are ready (never below the idle floor the pool
 * had); when the pool is full and nothing is booting, one batch of old idle is drained to make
 * room. Claimed instances are never touched unless the operator asked (`upgradeClaimed`), and
 * then at most `batchSize` redeploys at once.
 */
export function decideRolloutStep({ rollout, instances, settings }: RolloutStepInput): RolloutStep {
  const none: RolloutStep = { create: 0, drain: [], upgrade: [], next: null };
  if (!ACTIVE.includes(rollout.state) && !(rollout.state === "completed" && rollout.upgradeClaimed)) return none;
  if (rollout.state === "running" && rollout.failed >= ROLLOUT_FAILURE_LIMIT) {
    return { ...none, next: { state: "paused", reason: `paused after ${rollout.failed} failures on ${rollout.targetImage}` } };
  }
  const target = effectiveImage(rollout);
  const batch = Math.max(1, rollout.batchSize);
  const onTarget = (i: RolloutInstance) => i.image === target;

  const oldIdle = instances.filter((i) => i.status === "idle" && !onTarget(i)).sort((a, b) => (a.readyAt ?? 0) - (b.readyAt ?? 0) || a.id.localeCompare(b.id));
  const newIdle = instances.filter((i) => i.status === "idle" && onTarget(i)).length;
  const booting = instances.filter((i) => (i.status === "creating" || i.status === "starting") && onTarget(i)).length;
  // Old ones still on their way up become old idle ones: they are replaced once they get there.
  const oldBooting = instances.filter((i) => (i.status === "creating" || i.status === "starting" || i.status === "claiming") && !onTarget(i)).length;
  const live = instances.filter((i) => isLive(i.status)).length;

  const step: RolloutStep = { create: 0, drain: [], upgrade: [], next: null };
  if (rollout.state !== "completed") {
    const idleFloor = Math.max(settings.minIdle, 0);
    // Drain what the ready new ones already replace, keeping as many idle as the floor.
    let drain = Math.min(oldIdle.length, batch, Math.max(0, oldIdle.length + newIdle - idleFloor), newIdle);
    let room = Math.max(0, settings.maxTotal - live + drain);
    // Old idle ones not yet replaced by a ready new one (those drained above were).
    let unreplaced = oldIdle.length - drain;
    if (drain === 0 && room === 0 && booting === 0 && oldIdle.length > 0) {
      // A full pool cannot surge: free room for one batch first, then replace it.
      drain = Math.min(oldIdle.length, batch);
      room = drain;
      unreplaced = oldIdle.length;
    }
    step.drain = oldIdle.slice(0, drain).map((i) => i.id);
    step.create = Math.max(0, Math.min(batch - booting, room, unreplaced - booting));
  }

  if (rollout.upgradeClaimed) {
    const upgrading = instances.filter((i) => i.status === "upgrading").length;
    const oldClaimed = instances.filter((i) => i.status === "claimed" && !onTarget(i)).map((i) => i.id);
    step.upgrade = oldClaimed.slice(0, Math.max(0, batch - upgrading));
  }

  const idleDone = oldIdle.length - step.drain.length === 0 && oldBooting === 0 && booting === 0 && step.create === 0;
  const claimedDone = !rollout.upgradeClaimed || instances.every((i) => i.status !== "upgrading" && !(i.status === "claimed" && !onTarget(i)));
  if (idleDone && claimedDone && step.drain.length === 0 && step.upgrade.length === 0) {
    step.next =
      rollout.state === "rolling_back"
        ? { state: "rolled_back", reason: `every unclaimed instance is back on ${target}` }
        : { state: "completed", reason: rollout.upgradeClaimed ? `every instance is on ${target}` : `every unclaimed instance is on ${target}` };
    if (rollout.state === "completed") step.next = null;
  }
  return step;
}

/** Which operator actions each state allows, and where they lead: the one table behind the API's 409s. */
export const ROLLOUT_ACTIONS = {
  // A rollback is not paused: it is the way out; pausing it would leave the fleet split.
  pause: { from: ["running"], to: "paused" },
  resume: { from: ["paused"], to: "running" },
  rollback: { from: ["running", "paused", "completed"], to: "rolling_back" },
} as const satisfies Record<string, { from: readonly RolloutState[]; to: RolloutState }>;
export type RolloutAction = keyof typeof ROLLOUT_ACTIONS;

export type RolloutActionOutcome = { ok: true; rollout: RolloutSummary } | { ok: false; code: "no_rollout" | "invalid_state" | "no_previous_image" | "invalid_image" | "not_found"; message: string };

/** The one mapping from a failed rollout action to HTTP. */
export const ROLLOUT_FAILURE_HTTP: Record<Extract<RolloutActionOutcome, { ok: false }>["code"], 400 | 404 | 409> = {
  invalid_image: 400,
  not_found: 404,
  no_rollout: 409,
  invalid_state: 409,
  no_previous_image: 409,
};

// --- progress ----------------------------------------------------------------------------

/** `PUT /api/pool/image`: the desired image, and how many at once its rollout replaces. */
export const DesiredImageRequestSchema = z
  .object({
    image: z.string().min(1).max(300),
    batchSize: z.number().int().min(1).max(MAX_ROLLOUT_BATCH).default(DEFAULT_ROLLOUT_BATCH),
  })
  .strict();

/** `POST /api/pool/instances/:id/upgrade`: the image to redeploy on, the desired one when absent. */
export const UpgradeRequestSchema = z.object({ image: z.string().min(1).max(300).optional() }).strict();

export const RolloutSummarySchema = z.object({
  id: z.string(),
  state: z.enum(ROLLOUT_STATES),
  stateReason: z.string().nullable(),
  targetImage: z.string(),
  previousImage: z.string().nullable(),
  batchSize: z.number().int(),
  upgradeClaimed: z.boolean(),
  failed: z.number().int(),
  upgraded: z.number().int(),
  createdAt: z.number(),
  updatedAt: z.number(),
  finishedAt: z.number().nullable(),
});
export type RolloutSummary = z.infer<typeof RolloutSummarySchema>;

export const ImageCountsSchema = z.object({
  image: z.string().nullable(),
  idle: z.number().int(),
  claimed: z.number().int(),
  booting: z.number().int(),
  upgrading: z.number().int(),
  total: z.number().int(),
});

export const RolloutProgressSchema = z.object({
  /** The image new instances are created with. */
  desiredImage: z.string().nullable(),
  rollout: RolloutSummarySchema.nullable(),
  images: z.array(ImageCountsSchema),
  /** New instances booting on the desired image plus claimed upgrades in flight. */
  inFlight: z.number().int(),
  failed: z.number().int(),
  remaining: z.object({ idle: z.number().int(), claimed: z.number().int() }),
});
export type RolloutProgress = z.infer<typeof RolloutProgressSchema>;

/** Instances per image (live ones only) and what is left to replace, for the API, the dashboard and /metrics. */
export function rolloutProgress(desiredImage: string | null, rollout: RolloutSummary | null, instances: readonly RolloutInstance[]): RolloutProgress {
  const byImage = new Map<string | null, z.infer<typeof ImageCountsSchema>>();
  let inFlight = 0;
  const remaining = { idle: 0, claimed: 0 };
  for (const i of instances) {
    if (!isLive(i.status)) continue;
    const key = i.status === "upgrading" ? (i.upgradeImage ?? i.image) : i.image;
    const c = byImage.get(key) ?? { image: key, idle: 0, claimed: 0, booting: 0, upgrading: 0, total: 0 };
    if (i.status === "idle") c.idle++;
    else if (i.status === "claimed" || i.status === "claiming") c.claimed++;
    else if (i.status === "upgrading") c.upgrading++;
    else c.booting++;
    c.total++;
    byImage.set(key, c);
    const current = i.image === desiredImage;
    if (i.status === "upgrading" || ((i.status === "creating" || i.status === "starting") && current)) inFlight++;
    if (!current && (i.status === "idle" || i.status === "creating" || i.status === "starting")) remaining.idle++;
    if (!current && (i.status === "claimed" || i.status === "claiming")) remaining.claimed++;
  }
  const images = [...byImage.values()].sort((a, b) => b.total - a.total || String(a.image).localeCompare(String(b.image)));
  return { desiredImage, rollout, images, inFlight, failed: rollout?.failed ?? 0, remaining };
}

// --- images ------------------------------------------------------------------------------

/** `registry/name[:tag]@sha256:<64 hex>`: creates and redeploys only boot what a digest names. */
const DIGEST_PINNED = /^[a-z0-9][a-z0-9._\-/:]*@sha256:[0-9a-f]{64}$/;

/** Why `ref` is not a digest-pinned image reference, or null when it is. */
export function digestPinProblem(ref: string): string | null {
  if (DIGEST_PINNED.test(ref)) return null;
  if (!ref.includes("@sha256:")) return `image "${ref.slice(0, 200)}" is not pinned by digest: use registry/image@sha256:<64 hex> (a tag can move under a running fleet)`;
  return `image "${ref.slice(0, 200)}" is not a valid digest-pinned reference (registry/image@sha256:<64 lowercase hex>)`;
}

/** What a runtime reports as its version in /pool/health for an image: the tag, when the reference has one. */
export function imageLabel(ref: string | null): string {
  if (ref === null) return "unrecorded";
  const noDigest = ref.split("@")[0]!;
  const tag = /:([^/:]+)$/.exec(noDigest)?.[1];
  const name =
    noDigest
      .replace(/:[^/:]+$/, "")
      .split("/")
      .at(-1) ?? noDigest;
  const digest = /@sha256:([0-9a-f]{12})/.exec(ref)?.[1];
  return tag ? `${name}:${tag}` : digest ? `${name}@${digest}` : ref;
}
