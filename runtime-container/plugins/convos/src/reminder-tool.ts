// The `reminders` agent tool and the cleanup of its jobs, on top of the scheduler OpenClaw
// hands this plugin's service (ctx.getCron). The getter is kept per process, like the service:
// the gateway may register the plugin more than once.
import type { ConvosService } from "./convos-service.ts";
import { REMINDER_TOOL, REMINDER_TOOL_DESCRIPTION, REMINDER_TOOL_PARAMETERS, planReminder, reminderJobIds, type ReminderParams } from "./reminders.ts";

type CronJob = { id: string; name?: string; description?: string; enabled?: boolean; schedule?: unknown; state?: { nextRunAtMs?: number } };
export type CronAccess = {
  list: (opts?: { includeDisabled?: boolean }) => Promise<CronJob[]>;
  add: (input: never) => Promise<unknown>;
  remove: (id: string) => Promise<{ removed?: boolean }>;
};
type CronGetter = () => CronAccess | undefined;

const GETTER = Symbol.for("convos-agent-pool.cron-getter");
const holder = globalThis as { [GETTER]?: CronGetter };

/** The plugin service's start context carries the gateway's scheduler; remember how to reach it. */
export function rememberCron(getCron: CronGetter | undefined): void {
  if (getCron) holder[GETTER] = getCron;
}

function cron(): CronAccess | undefined {
  try {
    return holder[GETTER]?.();
  } catch {
    // The service is stopping or its scheduler was replaced: no scheduler right now.
    return undefined;
  }
}

const reply = (text: string, details: Record<string, unknown> = {}) => ({ content: [{ type: "text", text }], details });

export async function runReminderTool(service: ConvosService, params: ReminderParams, now = new Date()) {
  const plan = planReminder(params, service.status().conversationId ?? null, now);
  if (plan.action === "error") return reply(`Not scheduled: ${plan.message}.`, { ok: false, error: plan.message });
  const scheduler = cron();
  if (!scheduler) return reply("Scheduling is not available on this instance right now; tell the group plainly.", { ok: false, error: "no scheduler" });
  const ours = async () => {
    const jobs = await scheduler.list({ includeDisabled: false });
    const ids = new Set(reminderJobIds(jobs));
    return jobs.filter((j) => ids.has(j.id));
  };
  if (plan.action === "list") {
    const jobs = await ours();
    const lines = jobs.map((j) => `- ${j.id}: ${j.description ?? j.name}${j.state?.nextRunAtMs ? ` (next ${new Date(j.state.nextRunAtMs).toISOString()})` : ""}`);
    return reply(lines.length ? lines.join("\n") : "Nothing is scheduled.", { ok: true, jobs: jobs.map((j) => ({ id: j.id, text: j.description, nextRunAtMs: j.state?.nextRunAtMs ?? null })) });
  }
  if (plan.action === "cancel") {
    // Only this channel's own jobs: the tool cannot remove anything else the gateway schedules.
    if (!(await ours()).some((j) => j.id === plan.id)) return reply(`Not cancelled: there is no reminder ${plan.id}.`, { ok: false, error: "unknown id" });
    const { removed } = await scheduler.remove(plan.id);
    return reply(removed ? `Cancelled ${plan.id}.` : `Not cancelled: ${plan.id} was already gone.`, { ok: Boolean(removed) });
  }
  const created = (await scheduler.add(plan.job as never)) as { id?: string } | undefined;
  return reply(`Done: ${plan.summary} (id ${created?.id ?? "unknown"}).`, { ok: true, id: created?.id ?? null });
}

/** What `api.registerTool` takes: the tool the model sees in every turn. */
export function reminderTool(service: ConvosService) {
  return {
    name: REMINDER_TOOL,
    label: "Reminders",
    description: REMINDER_TOOL_DESCRIPTION,
    parameters: REMINDER_TOOL_PARAMETERS,
    execute: (_id: string, params: ReminderParams) => runReminderTool(service, params),
  };
}

/** Removes every reminder this channel scheduled: the conversation they were for is gone. */
export async function removeReminders(log?: (line: string) => void): Promise<number> {
  const scheduler = cron();
  if (!scheduler) return 0;
  const ids = reminderJobIds(await scheduler.list({ includeDisabled: true }));
  for (const id of ids) await scheduler.remove(id);
  if (ids.length) log?.(`removed ${ids.length} scheduled reminder${ids.length === 1 ? "" : "s"}`);
  return ids.length;
}
