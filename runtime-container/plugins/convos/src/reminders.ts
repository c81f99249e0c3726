// Reminders and recurring tasks the agent sets for its group, kept in OpenClaw's own scheduler
// (cron jobs in the gateway's SQLite state under STATE_DIR/openclaw, so they survive a restart)
// and delivered into the conversation through this channel's outbound path (announce delivery
// to channel "convos"). OpenClaw's `cron` tool is owner-only and nobody in a Convos group is a
// gateway owner, so the agent gets this narrow tool instead: it can only schedule a message
// into its own conversation, never a command, a webhook or another channel.
import { CHANNEL_ID } from "./inbound-dispatch.ts";

export const REMINDER_TOOL = "reminders";
/** Every job this channel creates is named with this prefix: what an explosion removes. */
export const REMINDER_JOB_PREFIX = "convos-reminder:";
const TEXT_MAX = 1_000;
export const SCHEDULED_RUN_TOOLS = ["read", "web_search", "web_fetch"] as const;
/** The scheduler refuses nothing this short, but a group does not need reminders every few seconds. */
const MIN_LEAD_MS = 1_000;

export type ReminderParams = {
  action?: unknown;
  text?: unknown;
  at?: unknown;
  inMinutes?: unknown;
  cron?: unknown;
  tz?: unknown;
  id?: unknown;
};

/** The cron job as OpenClaw's scheduler takes it (its create input, with delivery). */
export type ReminderJob = {
  name: string;
  description: string;
  enabled: true;
  schedule: { kind: "at"; at: string } | { kind: "cron"; expr: string; tz?: string };
  sessionTarget: "isolated";
  wakeMode: "now";
  payload: { kind: "agentTurn"; message: string; lightContext: true; toolsAllow: string[] };
  delivery: { mode: "announce"; channel: typeof CHANNEL_ID; to: string };
  deleteAfterRun: boolean;
};

export type ReminderPlan = { action: "set"; job: ReminderJob; summary: string } | { action: "list" } | { action: "cancel"; id: string } | { action: "error"; message: string };

export const REMINDER_TOOL_DESCRIPTION =
  "Schedule a reminder or a recurring task for this group chat; when it is due you are woken with its text and what you answer is posted in the chat. " +
  'action="set" with text and one of: at (ISO-8601 time), inMinutes (from now), or cron (5-field expression, with tz as an IANA time zone). ' +
  'action="list" shows what is scheduled; action="cancel" with id removes one.';

export const REMINDER_TOOL_PARAMETERS = {
  type: "object",
  additionalProperties: false,
  properties: {
    action: { type: "string", enum: ["set", "list", "cancel"] },
    text: { type: "string", description: "What to remind the group of, or the task to do when due" },
    at: { type: "string", description: "ISO-8601 time, e.g. 2026-12-04T18:00:00Z (one-off)" },
    inMinutes: { type: "number", description: "Minutes from now (one-off)" },
    cron: { type: "string", description: 'Cron expression for a recurring task, e.g. "0 9 * * 1" (Mondays 09:00)' },
    tz: { type: "string", description: "IANA time zone for cron, e.g. Europe/Lisbon" },
    id: { type: "string", description: 'Job id to cancel (from action="list")' },
  },
  required: ["action"],
} as const;

const isTimeZone = (tz: string): boolean => {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

/** Decides what a tool call asks for; every refusal is a sentence the agent can pass on. */
export function planReminder(params: ReminderParams, conversationId: string | null, now: Date): ReminderPlan {
  const action = params.action;
  if (action === "list") return { action: "list" };
  if (action === "cancel") {
    return typeof params.id === "string" && params.id.trim() ? { action: "cancel", id: params.id.trim() } : { action: "error", message: 'cancel needs the job id from action="list"' };
  }
  if (action !== "set") return { action: "error", message: 'action must be "set", "list" or "cancel"' };
  if (!conversationId) return { action: "error", message: "this agent is not in a conversation yet, so there is nowhere to deliver a reminder" };
  const text = typeof params.text === "string" ? params.text.trim() : "";
  if (!text) return { action: "error", message: "text is required: what should the group be reminded of?" };
  if (text.length > TEXT_MAX) return { action: "error", message: `text is at most ${TEXT_MAX} characters` };
  const given = ["at", "inMinutes", "cron"].filter((k) => params[k as keyof ReminderParams] !== undefined && params[k as keyof ReminderParams] !== null);
  if (given.length !== 1) return { action: "error", message: "give exactly one of at, inMinutes or cron" };

  let schedule: ReminderJob["schedule"];
  let when: string;
  if (given[0] === "cron") {
    const expr = typeof params.cron === "string" ? params.cron.trim() : "";
    if (!/^(\S+\s+){4}\S+$/u.test(expr)) return { action: "error", message: 'cron must be a 5-field expression like "0 9 * * 1"' };
    const tz = typeof params.tz === "string" && params.tz.trim() ? params.tz.trim() : undefined;
    if (tz && !isTimeZone(tz)) return { action: "error", message: `tz ${JSON.stringify(tz)} is not an IANA time zone` };
    schedule = tz ? { kind: "cron", expr, tz } : { kind: "cron", expr };
    when = `on "${expr}"${tz ? ` (${tz})` : " (UTC)"}`;
  } else {
    let at: number;
    if (given[0] === "inMinutes") {
      const minutes = Number(params.inMinutes);
      if (!Number.isFinite(minutes) || minutes <= 0) return { action: "error", message: "inMinutes must be a positive number" };
      at = now.getTime() + minutes * 60_000;
    } else {
      at = typeof params.at === "string" ? Date.parse(params.at) : Number.NaN;
      if (Number.isNaN(at)) return { action: "error", message: "at must be an ISO-8601 time like 2026-12-04T18:00:00Z" };
    }
    if (at - now.getTime() < MIN_LEAD_MS) return { action: "error", message: "that time has already passed" };
    const iso = new Date(at).toISOString();
    schedule = { kind: "at", at: iso };
    when = `at ${iso}`;
  }
  return {
    action: "set",
    summary: `scheduled ${when}: ${text}`,
    job: {
      name: `${REMINDER_JOB_PREFIX}${text.slice(0, 60)}`,
      description: text,
      enabled: true,
      schedule,
      // A fresh session per run: a reminder must not drag the whole chat history into a model call.
      sessionTarget: "isolated",
      wakeMode: "now",
      payload: {
        kind: "agentTurn",
        message: `It is time for something you scheduled for this group chat. Write the message to post in the chat now (short, plain text), or do the task and post its result: ${text}`,
        lightContext: true,
        // Scheduled runs execute with the gateway's authority, not a member's: they may read
        // and look things up, nothing more (no exec, no gateway or computer tools).
        toolsAllow: [...SCHEDULED_RUN_TOOLS],
      },
      delivery: { mode: "announce", channel: CHANNEL_ID, to: conversationId },
      deleteAfterRun: schedule.kind === "at",
    },
  };
}

/** The jobs an explosion (or a reset) of this instance's conversation removes. */
export function reminderJobIds(jobs: ReadonlyArray<{ id: string; name?: string }>): string[] {
  return jobs.filter((j) => j.name?.startsWith(REMINDER_JOB_PREFIX)).map((j) => j.id);
}
