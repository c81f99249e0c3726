import type { Child, FC } from "hono/jsx";
import type { InstanceView } from "../../api/schemas";
import { CsrfField, Layout, type PageContext } from "../layout";
import { StatusBadge } from "./common";

/** A page that explains why a request did not go through and where to go next. */
export const MessagePage: FC<{ ctx: PageContext; title: string; children?: Child; back?: { href: string; label: string } }> = ({ ctx, title, children, back }) => (
  <Layout ctx={ctx} title={title}>
    <section class="card">
      <h1>{title}</h1>
      {children}
      <div class="form-actions">
        <a class="button secondary" href={back?.href ?? "/admin"}>
          {back?.label ?? "Back to the overview"}
        </a>
      </div>
    </section>
  </Layout>
);

/** The no-JavaScript confirmation of a kill or a dismiss: the same post again, with `confirmed`. */
export const ConfirmPage: FC<{ ctx: PageContext; view: InstanceView; action: "kill" | "dismiss" }> = ({ ctx, view, action }) => (
  <Layout ctx={ctx} title={action === "kill" ? "Confirm kill" : "Confirm dismiss"}>
    <section class="card">
      <h1>{action === "kill" ? "Kill this instance?" : "Dismiss this crashed instance?"}</h1>
      <p>
        <strong>{view.agentName ?? "Unnamed instance"}</strong> <span class="mono">{view.id}</span> <StatusBadge status={view.status} />
      </p>
      <p>
        {action === "kill"
          ? "The agent leaves its conversation for good: the instance and its provider resources are destroyed. This cannot be undone."
          : "The crashed instance is removed and its provider resources are released."}
      </p>
      <div class="form-actions">
        <form method="post" action={`/admin/instances/${view.id}/${action}`}>
          <CsrfField ctx={ctx} />
          <input type="hidden" name="confirmed" value="yes" />
          <button type="submit" class="danger">
            {action === "kill" ? "Yes, kill it" : "Yes, dismiss it"}
          </button>
        </form>
        <a class="button secondary" href={`/admin/instances/${view.id}`}>
          Cancel
        </a>
      </div>
    </section>
  </Layout>
);
