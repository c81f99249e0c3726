// Which stdout event answers which stdin command of `agent serve`. The real CLI has no
// request id and runs stdin commands strictly one at a time, in order, each ending in
// exactly one `sent` or `error` line (cli-protocol.ts header, from commands/agent/serve.js):
// so the oldest unanswered command owns the next answer, provided the answer is told apart
// from unsolicited stream errors — and, as a guard against drift, a `sent` line must carry
// the type the head command produces.
import { classifyServeError, type ErrorEvent, type ServeCommandType } from "./cli-protocol.ts";

/** The `type` of the `sent` line each command produces (`send`'s has none, only `text`). */
const SENT_TYPE: Partial<Record<ServeCommandType, string | undefined>> = {
  send: undefined,
  react: "reaction",
  attach: "attachment",
  "remote-attach": "remote-attachment",
  rename: "rename",
  "update-profile": "update-profile",
  lock: "lock",
  unlock: "unlock",
  explode: "explode",
  "read-receipt": "read-receipt",
  typing: "typing",
  thinking: "thinking",
};

export type AnswerVerdict = "sent" | "failed" | "unrelated";

type EventLike = { event: string; type?: unknown } & Partial<Pick<ErrorEvent, "message" | "command" | "input">>;

/** Does `event` answer the command of type `type` at the head of the queue? */
export function answerFor(type: ServeCommandType, event: EventLike): AnswerVerdict {
  if (!(type in SENT_TYPE)) return "unrelated";
  if (event.event === "sent") return (typeof event.type === "string" ? event.type : undefined) === SENT_TYPE[type] ? "sent" : "unrelated";
  if (event.event !== "error" || typeof event.message !== "string") return "unrelated";
  if (classifyServeError({ message: event.message, command: event.command, input: event.input }) !== "command") return "unrelated";
  // "Command failed: …" echoes the command it failed on.
  const echoed = event.command as { type?: unknown } | undefined;
  if (echoed && typeof echoed === "object" && echoed.type !== type) return "unrelated";
  return "failed";
}

/** The unsolicited errors that mean the message stream itself is gone (the process lives on). */
export function isStreamDeath(message: string): boolean {
  return /^(Message stream ended|Failed to start message stream)/u.test(message);
}
