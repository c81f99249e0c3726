import type { FC } from "hono/jsx";
import type { InstanceView } from "../../api/schemas";
import { imageLabel, MAX_ROLLOUT_BATCH, ROLLOUT_ACTIONS, type RolloutAction, type RolloutProgress, type RolloutState } from "../../domain/rollout";
import { utcTime } from "../format";
import { CsrfField, FieldError, type Flash, invalidAttrs, Layout, type PageContext } from "../layout";
import type { FormState } from "./common";
import { StatusBadge } from "./common";

export interface RolloutsData {
  progress: RolloutProgress;
  /** Claimed (and upgrading) instances not on the desired image: the operator's upgrade list. */
  toUpgrade: InstanceView[];
}

/** Segment colours of the chart, one per kind of instance; the table below says the same in words. */
const SEGMENTS = [
  { key: "idle", label: "ready", fill: "#2b8a3e" },
  { key: "claimed", label: "claimed", fill: "#364fc7" },
  { key: "booting", label: "booting", fill: "#f08c00" },
  { key: "upgrading", label: "upgrading", fill: "#9c36b5" },
] as const;

/** Live instances per image as horizontal stacked bars, server-rendered SVG (no script, no third party). */
export const VersionChart: FC<{ progress: RolloutProgress }> = ({ progress }) => {
  const rows = progress.images;
  if (rows.length === 0) return <p class="small">No live instances.</p>;
  const max = Math.max(...rows.map((r) => r.total), 1);
  const barX = 190;
  const barW = 360;
  const rowH = 26;
  const height = rows.length * rowH + 28;
  return (
    <svg class="version-chart" viewBox={`0 0 600 ${height}`} width="100%" role="img" aria-labelledby="version-chart-title" data-testid="version-chart">
      <title id="version-chart-title">Live instances per image</title>
      {rows.map((r, i) => {
        let x = barX;
        const y = i * rowH + 4;
        const desired = r.image === progress.desiredImage;
        return (
          <g data-image={r.image ?? "unrecorded"}>
            <text x={barX - 8} y={y + 14} text-anchor="end" font-size="12" font-weight={desired ? "700" : "400"} fill="currentColor">
              {`${imageLabel(r.image)}${desired ? " ★" : ""}`}
            </text>
            {SEGMENTS.map((s) => {
              const n = r[s.key];
              if (n === 0) return null;
              const w = (n / max) * barW;
              const rect = (
                <rect x={x} y={y} width={w} height={18} fill={s.fill}>
                  <title>{`${n} ${s.label} on ${imageLabel(r.image)}`}</title>
                </rect>
              );
              x += w;
              return rect;
            })}
            <text x={x + 6} y={y + 14} font-size="12" fill="currentColor">
              {String(r.total)}
            </text>
          </g>
        );
      })}
      {SEGMENTS.map((s, i) => (
        <g>
          <rect x={barX + i * 95} y={height - 16} width={10} height={10} fill={s.fill} />
          <text x={barX + i * 95 + 14} y={height - 7} font-size="11" fill="currentColor">
            {s.label}
          </text>
        </g>
      ))}
    </svg>
  );
};

const ACTION_LABELS: Record<RolloutAction, string> = { pause: "Pause", resume: "Resume", rollback: "Roll back" };

export const RolloutsPage: FC<{ ctx: PageContext; data: RolloutsData; form?: FormState; flash?: Flash | null }> = ({ ctx, data, form, flash }) => {
  const { progress } = data;
  const r = progress.rollout;
  const state = r?.state as RolloutState | undefined;
  const actions = (Object.keys(ROLLOUT_ACTIONS) as RolloutAction[]).filter(
    // Rolling back needs somewhere to go back to.
    (a) => state && (ROLLOUT_ACTIONS[a].from as readonly RolloutState[]).includes(state) && !(a === "rollback" && r?.previousImage === null),
  );
  const canUpgradeClaimed = state !== undefined && state !== "superseded";
  return (
    <Layout ctx={ctx} title="Rollouts" flash={flash} refreshSeconds={10} refreshUrl="/admin/rollouts">
      <div class="grid">
        <section class="card" data-live="rollout-state">
          <h1>Runtime image</h1>
          <p>
            Desired image:{" "}
            <span class="mono" data-testid="desired-image">
              {progress.desiredImage ?? "the host's default"}
            </span>
          </p>
          {r ? (
            <dl class="fields">
              <dt>Rollout</dt>
              <dd>
                <span class={`badge rollout-${r.state}`} data-testid="rollout-state">
                  {r.state.replace("_", " ")}
                </span>{" "}
                {r.stateReason ? <span class="small">{r.stateReason}</span> : null}
              </dd>
              <dt>Target</dt>
              <dd class="mono">{r.targetImage}</dd>
              <dt>Previous</dt>
              <dd class="mono">{r.previousImage ?? "—"}</dd>
              <dt>At once</dt>
              <dd>{r.batchSize}</dd>
              <dt>In flight</dt>
              <dd data-testid="rollout-in-flight">{progress.inFlight}</dd>
              <dt>Left to replace</dt>
              <dd>
                {progress.remaining.idle} unclaimed, {progress.remaining.claimed} claimed{r.upgradeClaimed ? " (claimed ones are being upgraded)" : ""}
              </dd>
              <dt>Failed</dt>
              <dd data-testid="rollout-failed">{r.failed}</dd>
              <dt>Upgraded</dt>
              <dd>{r.upgraded}</dd>
              <dt>Started</dt>
              <dd>{utcTime(r.createdAt)}</dd>
            </dl>
          ) : (
            <p class="small">No rollout yet: new instances use the host's default image.</p>
          )}
          <div class="form-actions">
            {actions.map((a) => (
              <form method="post" action={`/admin/rollouts/${a}`}>
                <CsrfField ctx={ctx} />
                <button type="submit" class={a === "rollback" ? "danger" : "secondary"}>
                  {ACTION_LABELS[a]}
                </button>
              </form>
            ))}
            {canUpgradeClaimed && progress.remaining.claimed > 0 && !r?.upgradeClaimed ? (
              <form method="post" action="/admin/rollouts/upgrade-claimed">
                <CsrfField ctx={ctx} />
                <button type="submit" class="secondary">
                  Upgrade all claimed ({progress.remaining.claimed})
                </button>
              </form>
            ) : null}
          </div>
        </section>
        <section class="card">
          <h2>Set the desired image</h2>
          {form?.error ? (
            <p class="field-error" role="alert">
              {form.error}
            </p>
          ) : null}
          <form method="post" action="/admin/rollouts/image" novalidate>
            <CsrfField ctx={ctx} />
            <label for="rollout-image">Image</label>
            <input id="rollout-image" name="image" class="mono" value={form?.values.image ?? ""} placeholder="registry/runtime:1.2.0@sha256:…" {...invalidAttrs("rollout-image", form?.errors.image)} />
            <FieldError id="rollout-image" error={form?.errors.image} />
            <p class="hint">Railway needs a digest-pinned reference; the local host takes a runtime version label (e.g. v2).</p>
            <label for="rollout-batch">At once (batch size)</label>
            <input id="rollout-batch" name="batchSize" inputmode="numeric" value={form?.values.batchSize ?? String(r?.batchSize ?? 2)} {...invalidAttrs("rollout-batch", form?.errors.batchSize)} />
            <FieldError id="rollout-batch" error={form?.errors.batchSize} />
            <p class="hint">
              New instances booting at once (1–{MAX_ROLLOUT_BATCH}); idle ones on the old image are drained as their replacements are ready. Claimed ones are never touched unless you upgrade them.
            </p>
            <div class="form-actions">
              <button type="submit">Start rollout</button>
            </div>
          </form>
        </section>
      </div>
      <section class="card" data-live="rollout-chart">
        <h2>Instances per image</h2>
        <VersionChart progress={progress} />
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Image</th>
                <th>Ready</th>
                <th>Claimed</th>
                <th>Booting</th>
                <th>Upgrading</th>
                <th>Total</th>
              </tr>
            </thead>
            <tbody>
              {progress.images.map((i) => (
                <tr data-testid="image-row">
                  <td class="mono" title={i.image ?? "created before images were recorded"}>
                    {imageLabel(i.image)}
                  </td>
                  <td>{i.idle}</td>
                  <td>{i.claimed}</td>
                  <td>{i.booting}</td>
                  <td>{i.upgrading}</td>
                  <td>{i.total}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <section class="card" data-live="rollout-claimed">
        <h2>Claimed instances on another image</h2>
        {data.toUpgrade.length === 0 ? (
          <p class="small">Every claimed instance runs the desired image.</p>
        ) : (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>Agent</th>
                  <th>Status</th>
                  <th>Image</th>
                  <th>Runtime</th>
                  <th></th>
                </tr>
              </thead>
              <tbody>
                {data.toUpgrade.map((v) => (
                  <tr data-testid="upgrade-row">
                    <td>
                      <a href={`/admin/instances/${v.id}`}>{v.agentName ?? v.id}</a>
                    </td>
                    <td>
                      <StatusBadge status={v.status} />
                      {v.upgrade ? <span class="small"> {v.upgrade.phase === "rollback" ? `rolling back to ${imageLabel(v.upgrade.previousImage)}` : `to ${imageLabel(v.upgrade.image)}`}</span> : null}
                    </td>
                    <td class="mono">{imageLabel(v.image)}</td>
                    <td>{v.runtimeVersion ?? "—"}</td>
                    <td>
                      {v.status === "claimed" && progress.desiredImage ? (
                        <form method="post" action={`/admin/rollouts/instances/${v.id}/upgrade`}>
                          <CsrfField ctx={ctx} />
                          <button type="submit" class="secondary">
                            Upgrade to {imageLabel(progress.desiredImage)}
                          </button>
                        </form>
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </Layout>
  );
};
