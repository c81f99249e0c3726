import type { FC } from "hono/jsx";
import type { InstanceView } from "../../api/schemas";
import { duration, isoTime, statusLabel, utcTime } from "../format";
import { CsrfField, type PageContext } from "../layout";

export interface FormState {
  values: Record<string, string>;
  errors: Record<string, string>;
  /** An error about the whole form (pool empty, provision failed…). */
  error?: string;
}

export const emptyForm = (): FormState => ({ values: {}, errors: {} });

export const StatusBadge: FC<{ status: string }> = ({ status }) => <span class={`badge s-${status}`}>{statusLabel(status)}</span>;

/** A claimed instance whose stream is down or that does not answer, before the tick declares it crashed. */
export const DegradedBadge: FC<{ view: InstanceView }> = ({ view }) =>
  view.status === "claimed" && view.degraded ? (
    <span class="badge s-claiming" title={view.degraded.reason} data-degraded>
      degraded
    </span>
  ) : null;

export const Ago: FC<{ at: number | null | undefined; now: number }> = ({ at, now }) =>
  at ? (
    <time datetime={isoTime(at)} title={utcTime(at)}>
      {duration(now - at)}
    </time>
  ) : (
    <span class="muted">—</span>
  );

export interface ProviderLink {
  label: string;
  href: string;
}

/** Where an operator can look at the instance outside the pool: its provider's console and its own health page. */
export function providerLinks(view: InstanceView, env: Pick<Env, "RAILWAY_PROJECT_ID">): ProviderLink[] {
  const links: ProviderLink[] = [];
  if (view.provider === "railway" && view.serviceId && env.RAILWAY_PROJECT_ID) {
    links.push({
      label: "Railway",
      href: `https://railway.com/project/${encodeURIComponent(env.RAILWAY_PROJECT_ID)}/service/${encodeURIComponent(view.serviceId)}`,
    });
  }
  if (view.url && /^https?:\/\//.test(view.url)) links.push({ label: "health", href: `${view.url.replace(/\/$/, "")}/pool/health` });
  return links;
}

/** Kill and dismiss are posts that the server confirms on a page of its own when JavaScript did not already ask. */
export const InstanceActionForm: FC<{ ctx: PageContext; view: InstanceView; action: "kill" | "dismiss"; small?: boolean }> = ({ ctx, view, action, small }) => {
  const who = view.agentName ? `${view.agentName} (${view.id})` : view.id;
  const question = action === "kill" ? `Kill ${who}? Its conversation loses the agent and the instance is destroyed.` : `Dismiss crashed instance ${who}? Its resources are released.`;
  return (
    <form method="post" action={`/admin/instances/${view.id}/${action}`} data-confirm={question}>
      <CsrfField ctx={ctx} />
      <button type="submit" class={small ? "danger small" : "danger"} data-testid={`${action}-${view.id}`}>
        {action === "kill" ? "Kill" : "Dismiss"}
      </button>
    </form>
  );
};
