import type { FC } from "hono/jsx";
import type { BreakerView, TickSummary } from "../../../durable-objects/pool-coordinator/outcomes";
import type { InstanceView } from "../../api/schemas";
import type { InstanceStatus } from "../../domain/lifecycle";
import type { StatusCounts } from "../../domain/replenish";
import type { PoolSettings } from "../../domain/settings";
import { duration, statusLabel, utcTime } from "../format";
import { CsrfField, FieldError, type Flash, invalidAttrs, Layout, type PageContext } from "../layout";
import type { FleetCredits } from "../../api/schemas";
import { CreditsBadge, FleetCreditsCard } from "./credits";
import { Ago, DegradedBadge, emptyForm, type FormState, InstanceActionForm, type ProviderLink, StatusBadge } from "./common";

export interface LastEvent {
  at: number;
  from: string | null;
  to: string;
  reason: string | null;
  actor: string | null;
}

export interface InstanceListItem {
  view: InstanceView;
  lastEvent: LastEvent | null;
  links: ProviderLink[];
}

export interface OverviewData {
  now: number;
  counts: StatusCounts;
  filter: InstanceStatus | null;
  instances: InstanceListItem[];
  breaker: BreakerView;
  lastTick: TickSummary | null;
  nextTickAt: number | null;
  settings: PoolSettings;
  templates: { slug: string; name: string }[];
  /** Fresh on every render: a double-submitted launch form claims once. */
  idempotencyKey: string;
  launch?: FormState;
  join?: FormState;
  /** Errors of the replenish / drain forms, keyed by form. */
  actionErrors?: Partial<Record<"replenish" | "drain", string>>;
  /** The fleet's model spend, when OpenRouter is configured. */
  credits?: FleetCredits | null;
}

/** The pills operators filter by; creating and deleting appear only when something is in them. */
const PILLS: InstanceStatus[] = ["idle", "starting", "claiming", "claimed", "crashed", "dead"];

export const OverviewPage: FC<{ ctx: PageContext; data: OverviewData; flash?: Flash | null }> = ({ ctx, data, flash }) => (
  <Layout ctx={ctx} title="Overview" flash={flash} refreshSeconds={10} refreshUrl={data.filter ? `/admin?status=${data.filter}` : "/admin"}>
    <h1>
      Pool overview{" "}
      <span class="muted small">
        · refreshed <span id="refreshed-at">{utcTime(data.now)}</span>
      </span>
    </h1>
    <CountPills data={data} />
    <div class="grid">
      <PoolStatus data={data} />
      <PoolActions ctx={ctx} data={data} />
      <SettingsSummary settings={data.settings} />
      {data.credits ? <FleetCreditsCard credits={data.credits} /> : null}
    </div>
    <div class="grid">
      <LaunchForm ctx={ctx} data={data} state={data.launch ?? emptyForm()} />
      <JoinForm ctx={ctx} data={data} state={data.join ?? emptyForm()} />
    </div>
    <InstanceTable ctx={ctx} data={data} />
  </Layout>
);

const CountPills: FC<{ data: OverviewData }> = ({ data }) => {
  const total = Object.entries(data.counts)
    .filter(([s]) => s !== "deleted")
    .reduce((n, [, c]) => n + c, 0);
  const shown = [...PILLS];
  if (data.counts.creating > 0 || data.filter === "creating") shown.splice(1, 0, "creating");
  // Claimed instances being redeployed on another image (/admin/rollouts), shown while there are any.
  if (data.counts.upgrading > 0 || data.filter === "upgrading") shown.splice(shown.indexOf("claimed") + 1, 0, "upgrading");
  if (data.counts.deleting > 0 || data.filter === "deleting") shown.push("deleting");
  return (
    <nav id="counts" data-live aria-label="Filter by status">
      <ul class="pills">
        <li>
          <a class="pill" href="/admin" aria-current={data.filter === null ? "true" : undefined} data-testid="pill-all">
            all <b>{total}</b>
          </a>
        </li>
        {shown.map((status) => (
          <li>
            <a class="pill" href={`/admin?status=${status}`} aria-current={data.filter === status ? "true" : undefined} data-testid={`pill-${status}`}>
              <span class={`badge s-${status}`}>{statusLabel(status)}</span> <b data-count={status}>{data.counts[status]}</b>
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
};

const PoolStatus: FC<{ data: OverviewData }> = ({ data }) => {
  const b = data.breaker;
  const t = data.lastTick;
  return (
    <section class="card" id="pool-status" data-live>
      <h2>Pool health</h2>
      <dl class="fields">
        <dt>Create breaker</dt>
        <dd>
          <span class={`badge b-${b.phase}`} data-testid="breaker">
            {b.phase}
          </span>
          {b.consecutiveFailures > 0 ? <span class="muted small"> {b.consecutiveFailures} failed creates in a row</span> : null}
        </dd>
        {b.phase !== "closed" && b.openUntil ? (
          <>
            <dt>Opened</dt>
            <dd>
              {utcTime(b.openedAt)}; {b.phase === "open" ? `retries in ${duration(b.openUntil - data.now)}` : "next create is a probe"}
            </dd>
          </>
        ) : null}
        {b.lastError ? (
          <>
            <dt>{b.phase === "closed" ? "Last create error" : "Reason"}</dt>
            <dd class="mono">{b.lastError}</dd>
          </>
        ) : null}
        <dt>Last tick</dt>
        <dd>
          {t ? (
            <>
              <Ago at={t.startedAt} now={data.now} /> ago ({t.trigger}, {t.durationMs} ms)
              <div class="muted small">
                readied {t.readied} · created {t.created} · failed {t.failed + t.createFailures} · crashed {t.crashed} · torn down {t.tornDown}
              </div>
              {t.listError ? <div class="field-error">provider list failed: {t.listError}</div> : null}
            </>
          ) : (
            <span class="muted">none yet</span>
          )}
        </dd>
        <dt>Next tick</dt>
        <dd>{data.nextTickAt ? data.nextTickAt > data.now ? `in ${duration(data.nextTickAt - data.now)}` : "due now" : <span class="muted">not scheduled</span>}</dd>
      </dl>
    </section>
  );
};

const PoolActions: FC<{ ctx: PageContext; data: OverviewData }> = ({ ctx, data }) => (
  <section class="card">
    <h2>Capacity</h2>
    <div class="actions">
      <form method="post" action="/admin/replenish">
        <CsrfField ctx={ctx} />
        <div>
          <label for="replenish-count">Replenish</label>
          <input id="replenish-count" name="count" type="number" min="1" max="20" value="1" required {...invalidAttrs("replenish-count", data.actionErrors?.replenish)} />
        </div>
        <button type="submit">Create</button>
      </form>
      <form method="post" action="/admin/drain">
        <CsrfField ctx={ctx} />
        <div>
          <label for="drain-count">Drain</label>
          <input id="drain-count" name="count" type="number" min="1" max="20" value="1" required {...invalidAttrs("drain-count", data.actionErrors?.drain)} />
        </div>
        <button type="submit" class="secondary">
          Drain
        </button>
      </form>
      <form method="post" action="/admin/reconcile">
        <CsrfField ctx={ctx} />
        <button type="submit" class="secondary">
          Reconcile now
        </button>
      </form>
    </div>
    <FieldError id="replenish-count" error={data.actionErrors?.replenish} />
    <FieldError id="drain-count" error={data.actionErrors?.drain} />
    <p class="hint">Replenish creates instances beyond the target (within maxTotal). Drain removes unclaimed instances, ready ones first; claimed instances are never drained.</p>
  </section>
);

const SettingsSummary: FC<{ settings: PoolSettings }> = ({ settings: s }) => (
  <section class="card">
    <h2>Settings</h2>
    <dl class="fields" data-testid="settings-summary">
      <dt>minIdle</dt>
      <dd data-setting="minIdle">{s.minIdle}</dd>
      <dt>maxTotal</dt>
      <dd data-setting="maxTotal">{s.maxTotal}</dd>
      <dt>maxCreatesPerTick</dt>
      <dd>{s.maxCreatesPerTick}</dd>
      <dt>Tick every</dt>
      <dd>{duration(s.tickIntervalMs)}</dd>
      <dt>Stuck / claim timeout</dt>
      <dd>
        {duration(s.stuckTimeoutMs)} / {duration(s.claimTimeoutMs)}
      </dd>
      <dt>Breaker</dt>
      <dd>
        after {s.breakerThreshold} failures, back off {duration(s.breakerBackoffMs)}
      </dd>
    </dl>
    <div class="form-actions">
      <a class="button secondary" href="/admin/settings">
        Edit settings
      </a>
    </div>
  </section>
);

const LaunchForm: FC<{ ctx: PageContext; data: OverviewData; state: FormState }> = ({ ctx, data, state }) => (
  <section class="card" id="launch">
    <h2>Launch an agent</h2>
    <p class="hint">Claims a ready instance that creates a new conversation; you get its invite link and QR.</p>
    {state.error ? (
      <p class="field-error" role="alert" data-testid="launch-error">
        {state.error}
      </p>
    ) : null}
    <form method="post" action="/admin/launch">
      <CsrfField ctx={ctx} />
      <input type="hidden" name="idempotencyKey" value={data.idempotencyKey} />
      <label for="launch-agentName">Agent name</label>
      <input id="launch-agentName" name="agentName" maxlength={64} value={state.values.agentName ?? ""} {...invalidAttrs("launch-agentName", state.errors.agentName)} />
      <FieldError id="launch-agentName" error={state.errors.agentName} />
      <label for="launch-instructions">Instructions</label>
      <textarea id="launch-instructions" name="instructions" maxlength={32000} {...invalidAttrs("launch-instructions", state.errors.instructions)}>
        {state.values.instructions ?? ""}
      </textarea>
      <FieldError id="launch-instructions" error={state.errors.instructions} />
      <label for="launch-template">Template</label>
      <select id="launch-template" name="template" {...invalidAttrs("launch-template", state.errors.template)}>
        <option value="">none</option>
        {data.templates.map((t) => (
          <option value={t.slug} selected={state.values.template === t.slug}>
            {t.name} ({t.slug})
          </option>
        ))}
      </select>
      <FieldError id="launch-template" error={state.errors.template} />
      <div class="form-actions">
        <button type="submit">Launch</button>
      </div>
    </form>
  </section>
);

const JoinForm: FC<{ ctx: PageContext; data: OverviewData; state: FormState }> = ({ ctx, data, state }) => (
  <section class="card" id="join">
    <h2>Join a conversation</h2>
    <p class="hint">Claims a ready instance that joins an existing conversation from its Convos invite link.</p>
    {state.error ? (
      <p class="field-error" role="alert" data-testid="join-error">
        {state.error}
      </p>
    ) : null}
    <form method="post" action="/admin/join">
      <CsrfField ctx={ctx} />
      <input type="hidden" name="idempotencyKey" value={data.idempotencyKey} />
      <label for="join-joinUrl">Invite URL</label>
      <input
        id="join-joinUrl"
        name="joinUrl"
        type="url"
        required
        maxlength={2100}
        placeholder="https://dev.convos.org/v2?i=…"
        value={state.values.joinUrl ?? ""}
        {...invalidAttrs("join-joinUrl", state.errors.joinUrl)}
      />
      <FieldError id="join-joinUrl" error={state.errors.joinUrl} />
      <label for="join-agentName">Agent name</label>
      <input id="join-agentName" name="agentName" maxlength={64} value={state.values.agentName ?? ""} {...invalidAttrs("join-agentName", state.errors.agentName)} />
      <FieldError id="join-agentName" error={state.errors.agentName} />
      <label for="join-instructions">Instructions</label>
      <textarea id="join-instructions" name="instructions" maxlength={32000} {...invalidAttrs("join-instructions", state.errors.instructions)}>
        {state.values.instructions ?? ""}
      </textarea>
      <FieldError id="join-instructions" error={state.errors.instructions} />
      <div class="form-actions">
        <button type="submit">Join</button>
      </div>
    </form>
  </section>
);

const InstanceTable: FC<{ ctx: PageContext; data: OverviewData }> = ({ ctx, data }) => (
  <section class="card" id="instances" data-live>
    <h2>
      Instances{data.filter ? ` · ${statusLabel(data.filter)}` : ""} <span class="muted small">({data.instances.length})</span>
    </h2>
    {data.instances.length === 0 ? (
      <p class="muted">No instances{data.filter ? ` in ${statusLabel(data.filter)}` : ""}.</p>
    ) : (
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th>Instance</th>
              <th>Status</th>
              <th>Agent</th>
              <th class="hide-sm">Age</th>
              <th>In state</th>
              <th class="hide-sm">Last event</th>
              <th class="hide-sm">Links</th>
              <th>Actions</th>
            </tr>
          </thead>
          <tbody>
            {data.instances.map(({ view, lastEvent, links }) => (
              <tr data-instance={view.id} data-status={view.status}>
                <td class="mono">
                  <a href={`/admin/instances/${view.id}`}>{view.id}</a>
                </td>
                <td>
                  <StatusBadge status={view.status} />
                  <DegradedBadge view={view} />
                  <CreditsBadge view={view} />
                </td>
                <td>{view.agentName ?? <span class="muted">—</span>}</td>
                <td class="hide-sm">
                  <Ago at={view.createdAt} now={data.now} />
                </td>
                <td>
                  <Ago at={view.statusChangedAt} now={data.now} />
                </td>
                <td class="hide-sm small">
                  {lastEvent ? (
                    <>
                      {lastEvent.from ? `${statusLabel(lastEvent.from)} → ` : ""}
                      {statusLabel(lastEvent.to)}
                      {lastEvent.reason ? <span class="muted">: {lastEvent.reason}</span> : null}
                      {lastEvent.actor ? <span class="muted"> ({lastEvent.actor})</span> : null}
                    </>
                  ) : (
                    <span class="muted">—</span>
                  )}
                </td>
                <td class="hide-sm small">
                  {links.length === 0 ? <span class="muted">—</span> : null}
                  {links.map((l, i) => (
                    <>
                      {i > 0 ? " · " : ""}
                      <a href={l.href} rel="noopener noreferrer" target="_blank">
                        {l.label}
                      </a>
                    </>
                  ))}
                </td>
                <td>
                  <div class="row-actions">
                    {view.inviteUrl ? (
                      <a class="button secondary small" href={`/admin/instances/${view.id}#invite`} data-qr={`/admin/instances/${view.id}/qr.svg`} data-qr-url={view.inviteUrl}>
                        QR
                      </a>
                    ) : null}
                    {view.status === "claimed" ? <InstanceActionForm ctx={ctx} view={view} action="kill" small /> : null}
                    {view.status === "crashed" ? <InstanceActionForm ctx={ctx} view={view} action="dismiss" small /> : null}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    )}
  </section>
);
