import { raw } from "hono/html";
import type { FC } from "hono/jsx";
import type { CheckReport, InstanceView } from "../../api/schemas";
import { statusLabel, utcTime } from "../format";
import { CsrfField, type Flash, Layout, type PageContext } from "../layout";
import { CreditsBadge, TopUpForm } from "./credits";
import { Ago, DegradedBadge, InstanceActionForm, type ProviderLink, StatusBadge } from "./common";
import type { LastEvent } from "./overview";

export interface InstancePageData {
  now: number;
  view: InstanceView;
  /** The invite the instance was asked to join, when it joined rather than created. */
  joinUrl: string | null;
  events: LastEvent[];
  links: ProviderLink[];
  /** Server-rendered QR of the invite (inline SVG of our own making: paths only, no text). */
  qr: string | null;
  /** OpenRouter spend of the instance's key, when known. */
  openrouter: string;
}

const KILLABLE = new Set(["creating", "starting", "idle", "claiming", "claimed", "dead"]);

export const InstancePage: FC<{ ctx: PageContext; data: InstancePageData; flash?: Flash | null }> = ({ ctx, data, flash }) => {
  const v = data.view;
  const invite = v.inviteUrl ?? data.joinUrl;
  return (
    <Layout ctx={ctx} title={v.agentName ? `${v.agentName} (${v.id})` : v.id} flash={flash} refreshSeconds={15} refreshUrl={`/admin/instances/${v.id}`}>
      <p class="small">
        <a href="/admin">← Overview</a>
      </p>
      <h1>
        {v.agentName ?? "Unnamed instance"} <span class="mono muted">{v.id}</span>
      </h1>
      {invite ? (
        <section class="card" id="invite">
          <h2>{v.inviteUrl ? "Invite" : "Joined conversation"}</h2>
          <div class="invite">
            {data.qr ? (
              <div class="qr" role="img" aria-label="QR code of the invite URL" data-testid="invite-qr">
                {raw(data.qr)}
              </div>
            ) : null}
            <div>
              <p class="mono" data-testid="invite-url">
                <a href={invite} rel="noopener noreferrer">
                  {invite}
                </a>
              </p>
              <p class="hint">Scan with the Convos app or open the link on a phone.</p>
            </div>
          </div>
        </section>
      ) : null}
      <div class="grid">
        <section class="card" id="instance-fields" data-live>
          <h2>Instance</h2>
          <dl class="fields">
            <dt>Status</dt>
            <dd>
              <StatusBadge status={v.status} /> for <Ago at={v.statusChangedAt} now={data.now} />
              {v.statusReason ? <span class="muted small"> · {v.statusReason}</span> : null}
            </dd>
            {v.degraded ? (
              <>
                <dt>Health</dt>
                <dd data-testid="degraded">
                  <DegradedBadge view={v} /> for <Ago at={v.degraded.since} now={data.now} /> <span class="muted small"> · {v.degraded.reason}</span>
                </dd>
              </>
            ) : null}
            <Field label="Deadline" value={v.deadlineAt ? utcTime(v.deadlineAt) : null} />
            <Field label="Created" value={utcTime(v.createdAt)} />
            <Field label="Ready since" value={v.readyAt ? utcTime(v.readyAt) : null} />
            <Field label="Provider" value={v.provider} />
            <Field label="Service" value={v.serviceName} mono />
            <Field label="Service id" value={v.serviceId} mono />
            <Field label="URL" value={v.url} mono />
            <Field label="Deployment" value={v.deploymentStatus} />
            <Field label="Runtime version" value={v.runtimeVersion} />
            <Field label="Image" value={v.image} mono />
            {v.upgrade ? (
              <Field label="Upgrade" value={v.upgrade.phase === "rollback" ? `rolling back to ${v.upgrade.previousImage ?? "?"}` : `redeploying on ${v.upgrade.image ?? "?"}`} mono />
            ) : null}
            <Field label="Last error" value={v.lastError} mono />
            <Field label="Template" value={v.template} />
            <Field label="Conversation" value={v.conversationId} mono />
            <Field label="Claim" value={v.claimStatus ? `${v.claimStatus}${v.joined ? " (joined)" : ""}` : null} />
            <Field label="Claimed" value={v.claimedAt ? utcTime(v.claimedAt) : null} />
            <Field label="OpenRouter" value={data.openrouter} />
            {v.creditsExhaustedAt !== null ? (
              <>
                <dt>Credits</dt>
                <dd data-testid="credits-exhausted">
                  <CreditsBadge view={v} /> since {utcTime(v.creditsExhaustedAt)}
                </dd>
              </>
            ) : null}
            <Field label="AgentMail inbox" value={v.resources.agentmailInbox ?? "none"} />
            <Field label="Phone number" value={v.resources.phoneNumber ?? "none"} />
            <Field label="Volume" value={v.resources.volume} mono />
            <dt>Links</dt>
            <dd>
              {data.links.length === 0 ? <span class="muted">—</span> : null}
              {data.links.map((l, i) => (
                <>
                  {i > 0 ? " · " : ""}
                  <a href={l.href} rel="noopener noreferrer" target="_blank">
                    {l.label}
                  </a>
                </>
              ))}
            </dd>
          </dl>
          {v.resources.openrouterKey && v.status !== "deleting" && v.status !== "deleted" ? <TopUpForm ctx={ctx} view={v} /> : null}
          <div class="form-actions">
            {v.status !== "deleted" ? <RecheckForm ctx={ctx} id={v.id} /> : null}
            {v.status === "crashed" ? <InstanceActionForm ctx={ctx} view={v} action="dismiss" /> : null}
            {KILLABLE.has(v.status) ? <InstanceActionForm ctx={ctx} view={v} action="kill" /> : null}
          </div>
        </section>
        <section class="card" id="events" data-live>
          <h2>Event history</h2>
          <div class="table-wrap">
            <table data-testid="events">
              <thead>
                <tr>
                  <th>When</th>
                  <th>Transition</th>
                  <th>Reason</th>
                  <th>By</th>
                </tr>
              </thead>
              <tbody>
                {data.events.map((e) => (
                  <tr>
                    <td class="small">
                      <time datetime={new Date(e.at).toISOString()}>{utcTime(e.at)}</time>
                    </td>
                    <td>
                      {e.from ? `${statusLabel(e.from)} → ` : ""}
                      {statusLabel(e.to)}
                    </td>
                    <td class="small">{e.reason ?? ""}</td>
                    <td class="small">{e.actor ?? ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      </div>
    </Layout>
  );
};

const Field: FC<{ label: string; value: string | null | undefined; mono?: boolean }> = ({ label, value, mono }) => (
  <>
    <dt>{label}</dt>
    <dd class={mono && value ? "mono" : undefined}>{value ?? <span class="muted">—</span>}</dd>
  </>
);

// --- per-instance recheck (issue 15 §4) -----------------------------------------------------

/** Runs the tick's checks for this instance now; nothing is destroyed by it that the tick would not destroy, so no confirmation. */
const RecheckForm: FC<{ ctx: PageContext; id: string }> = ({ ctx, id }) => (
  <form method="post" action={`/admin/instances/${id}/recheck`}>
    <CsrfField ctx={ctx} />
    <button type="submit" data-testid={`recheck-${id}`}>
      Recheck now
    </button>
  </form>
);

/** One line saying what a recheck found and did. */
export function recheckFlash(r: CheckReport): Flash {
  const host = r.host.error ? `host list failed (${r.host.error})` : r.host.found ? `host: ${r.host.rawStatus}` : r.host.listed ? "host: no service" : "host: not asked";
  const health = r.health ? `health: ${r.health.ok ? "ok" : (r.health.reason ?? "failed")} (${r.health.verdict})` : "health: not asked";
  const what = r.transition ? `${statusLabel(r.transition.from)} → ${statusLabel(r.transition.to)}` : r.outcome === "updated" ? "recorded, no change of state" : "no change";
  return { kind: r.transition && (r.transition.to === "dead" || r.transition.to === "crashed") ? "error" : "ok", text: `Recheck: ${what}. ${host}; ${health}. ${r.reasons.join("; ")}` };
}
