import type { RolloutProgress } from "../domain/rollout";

/** Prometheus label values: backslash, quote and newline escaped, as the text format requires. */
const label = (v: string | null) => (v ?? "unrecorded").replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

/** The rollout's part of /metrics: instances per image and how far the newest rollout got. */
export function rolloutMetricLines(p: RolloutProgress): string[] {
  const out: string[] = [];
  const metric = (name: string, type: string, help: string, lines: string[]) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
  metric(
    "pool_instances_by_image",
    "gauge",
    "Live instances per image and state (idle, claimed, booting, upgrading; upgrading ones under the image they are heading to).",
    p.images.flatMap((i) => (["idle", "claimed", "booting", "upgrading"] as const).map((s) => `pool_instances_by_image{image="${label(i.image)}",state="${s}"} ${i[s]}`)),
  );
  metric(
    "pool_desired_image_info",
    "gauge",
    "The image new instances are created with (value always 1).",
    p.desiredImage === null ? [] : [`pool_desired_image_info{image="${label(p.desiredImage)}"} 1`],
  );
  const r = p.rollout;
  metric(
    "pool_rollout_info",
    "gauge",
    "The newest rollout: target and previous image and its state (value always 1).",
    r ? [`pool_rollout_info{id="${label(r.id)}",state="${r.state}",target="${label(r.targetImage)}",previous="${label(r.previousImage)}"} 1`] : [],
  );
  metric("pool_rollout_in_flight", "gauge", "New instances booting on the desired image plus claimed upgrades in flight.", [`pool_rollout_in_flight ${p.inFlight}`]);
  metric("pool_rollout_remaining", "gauge", "Live instances not yet on the desired image, by kind.", [
    `pool_rollout_remaining{kind="idle"} ${p.remaining.idle}`,
    `pool_rollout_remaining{kind="claimed"} ${p.remaining.claimed}`,
  ]);
  metric("pool_rollout_failed", "gauge", "Failures of the newest rollout (boots on its image that died, upgrades rolled back).", [`pool_rollout_failed ${r?.failed ?? 0}`]);
  metric("pool_rollout_upgraded", "gauge", "Claimed instances the newest rollout upgraded.", [`pool_rollout_upgraded ${r?.upgraded ?? 0}`]);
  return out;
}
