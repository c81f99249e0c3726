// When the agent's model key runs out (OpenRouter answers 402, or 403 "Key limit exceeded"),
// OpenClaw turns the failure into an error reply ("⚠️ … returned a billing error — …") and
// hands it to the channel like any answer. The chat gets one plain notice instead, once per
// exhaustion period, and the pool is told so its dashboard marks the instance. The period
// ends with the first real answer (someone topped the key up) or a new UTC month (OpenRouter's
// monthly limit reset). The state sits on the volume, so a restart does not repeat the notice.
import path from "node:path";
import { readJson, writeJsonAtomic } from "./json-file.ts";
import type { CreditsExhaustedReport } from "../../../contract/pool-runtime.ts";
import { reportCreditsExhausted, type SelfDestructConfig } from "./pool-client.ts";

export const CREDIT_NOTICE = "I've used up my credits for this month, so I can't answer for now. Once someone tops them up, I'll be back.";

// OpenClaw's billing copy (its failover user-copy), the raw provider texts it may pass through,
// and OpenRouter's own words for an exhausted key or account.
const EXHAUSTED = [
  /returned a billing error/iu,
  /run out of credits/iu,
  /insufficient (?:credits?|balance|funds)/iu,
  /key limit exceeded/iu,
  /credit (?:balance|limit)/iu,
  /payment required/iu,
  /\b402\b/u,
];

export type ReplyLike = { text?: string; isError?: boolean };

/** What the pool is told when a reply is the model refusing for lack of credits; null for any other reply. */
export function creditExhaustion(payload: ReplyLike): CreditsExhaustedReport | null {
  const text = payload.text ?? "";
  // Only error replies: an agent may well talk about credits in a real answer.
  if (!payload.isError && !/^\s*⚠️/u.test(text)) return null;
  if (!EXHAUSTED.some((re) => re.test(text))) return null;
  const status = /key limit exceeded/iu.test(text) ? 403 : 402;
  return { status, detail: text.replace(/^\s*⚠️\s*/u, "").slice(0, 300) };
}

const monthOf = (d: Date) => `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;

export type NoticeDecision = { action: "announce" } | { action: "suppress" };

/** Once-per-period bookkeeping, persisted in `file`. */
export class CreditNotice {
  private readonly file: string;
  private readonly now: () => Date;

  constructor(file: string, now: () => Date = () => new Date()) {
    this.file = file;
    this.now = now;
  }

  private noticedMonth(): string | null {
    const saved = readJson(this.file) as { noticedAt?: string } | undefined;
    return saved?.noticedAt ? monthOf(new Date(saved.noticedAt)) : null;
  }

  /** An exhaustion error reached the channel: announce it if this period has not been told yet. */
  onExhausted(): NoticeDecision {
    if (this.noticedMonth() === monthOf(this.now())) return { action: "suppress" };
    writeJsonAtomic(this.file, { noticedAt: this.now().toISOString() });
    return { action: "announce" };
  }

  /** A real answer went out: the credits are back, a later exhaustion is a new period. */
  onAnswered(): void {
    if (this.noticedMonth() !== null) writeJsonAtomic(this.file, {});
  }
}

/** The notice state beside the binding file, on the volume. */
export function creditNoticeBeside(stateFile: string): CreditNotice {
  return new CreditNotice(path.join(path.dirname(stateFile), "credit-notice.json"));
}

type Log = { info?: (m: string) => void; warn?: (m: string) => void };

export type CreditReply = { kind: "pass" } | { kind: "notice"; text: string } | { kind: "drop" };

/**
 * What the channel sends for a reply: as is (`pass`), the plain notice instead of an
 * exhausted-key error (the first time in the period; the pool is told in the background), or
 * nothing (the chat was already told). A real answer ends the period.
 */
export function creditReply(payload: ReplyLike, notice: CreditNotice, pool: SelfDestructConfig, log?: Log): CreditReply {
  const exhausted = creditExhaustion(payload);
  if (!exhausted) {
    if (!payload.isError && payload.text?.trim()) notice.onAnswered();
    return { kind: "pass" };
  }
  if (notice.onExhausted().action === "suppress") {
    log?.info?.("convos: credits still exhausted; the notice was already given this period");
    return { kind: "drop" };
  }
  log?.warn?.(`convos: model credits exhausted (${exhausted.detail ?? exhausted.status}); telling the chat once`);
  void reportCreditsExhausted(pool, exhausted).then((r) =>
    r.reported ? log?.info?.("convos: reported exhausted credits to the pool") : log?.warn?.(`convos: reporting exhausted credits to the pool failed: ${r.error}`),
  );
  return { kind: "notice", text: CREDIT_NOTICE };
}
