import type { JoinReport } from "../../runtime-container/plugins/convos/src/join-report";
import { getInstance, patchInState, transition } from "../../worker/db/instances";
import type { PoolSettings } from "../../worker/domain/settings";
import type { PoolContext } from "./context";
import type { InstanceActionOutcome } from "./outcomes";
import { joinAccepted } from "./tick";

/**
 * An instance's report of how its pending join ended, recorded on its row: accepted → the
 * conversation id and `joined`; refused → `crashed` (the agent is in no conversation; the
 * operator dismisses it). A repeat of what is already recorded is accepted again, so the
 * instance's retries are harmless; anything else about a row that is not waiting is a 409.
 */
export async function recordJoinReport(ctx: PoolContext, settings: PoolSettings, id: string, report: JoinReport): Promise<InstanceActionOutcome> {
  const row = await getInstance(ctx.db, id);
  if (!row) return { ok: false, code: "not_found", message: `instance ${id} does not exist` };
  if (report.outcome === "accepted" && row.status === "claimed" && row.conversationId === report.conversationId) return { ok: true, id, status: row.status };
  const waiting = row.status === "claimed" && row.claimStatus === "pending_acceptance" && row.conversationId === null;
  if (!waiting) return { ok: false, code: "invalid_state", message: `instance ${id} is not waiting on a join (status ${row.status}, ${row.claimStatus ?? "no claim"})` };

  const moved =
    report.outcome === "accepted"
      ? await patchInState(ctx.db, id, "claimed", joinAccepted(report.conversationId))
      : await transition(
          ctx.db,
          {
            id,
            from: "claimed",
            to: "crashed",
            reason: `the conversation's creator refused the join${report.reason ? `: ${report.reason}` : ""}`,
            actor: "instance",
            now: ctx.now(),
            set: { lastError: "join refused" },
          },
          settings,
        );
  if (!moved) return { ok: false, code: "invalid_state", message: `instance ${id} changed state meanwhile; try again` };
  return { ok: true, id, status: moved.status };
}
