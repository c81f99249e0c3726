// Where the instance left off reading its conversation, kept on the volume next to the
// binding. A fresh `agent serve` replays nothing (cli-protocol.ts header), so after any
// restart — of serve, of the gateway, of the container — the messages sent meanwhile are
// fetched with `conversation messages --sent-after <ns>` from here, and the ids already
// handed to the agent are remembered so none is dispatched twice.
import fs from "node:fs";
import { z } from "zod";
import type { MessageRow } from "./cli-protocol.ts";
import { isDisplayableContentType } from "./inbound-message.ts";
import { readJson, writeJsonAtomic } from "./json-file.ts";

const RECENT_IDS = 500;

const CursorFile = z.object({
  /** sentAt of the newest message seen (ISO, millisecond precision as the CLI prints it). */
  lastSentAt: z.string().nullable(),
  /** Ids handed to the agent (or deliberately skipped), newest last. */
  seen: z.array(z.string()),
});
export type Cursor = z.infer<typeof CursorFile>;

export const EMPTY_CURSOR: Cursor = { lastSentAt: null, seen: [] };

/** `--sent-after` in nanoseconds: from just before `from` (that message's own id is deduplicated), else since binding. */
export function sentAfterNs(fromSentAt: string | null, boundAt: string | null): string | null {
  const from = fromSentAt ?? boundAt;
  if (!from) return null;
  const ms = Date.parse(from);
  if (Number.isNaN(ms)) return null;
  return (BigInt(ms) * 1_000_000n - 1n).toString();
}

/**
 * Where a catch-up must start after an interruption: the newest message seen before it,
 * `lookbackMs` earlier when the interruption's start is not known exactly (the CLI's own
 * in-process catch-up failed, after its restarted stream may already have delivered newer
 * messages), and never later than a gap already pending.
 */
export function gapStart(pending: string | null, cursor: Cursor, boundAt: string | null, lookbackMs = 0): string | null {
  const base = cursor.lastSentAt ?? boundAt;
  if (!base) return pending;
  const from = new Date(Date.parse(base) - lookbackMs).toISOString();
  return pending && Date.parse(pending) <= Date.parse(from) ? pending : from;
}

/** The catch-up rows to dispatch, oldest first: other members' displayable messages not yet seen. */
export function rowsToDispatch(rows: MessageRow[], cursor: Cursor, ownInboxId: string | null): MessageRow[] {
  const seen = new Set(cursor.seen);
  return rows.filter((r) => r.senderInboxId !== ownInboxId && !seen.has(r.id) && isDisplayableContentType(r.contentType)).sort((a, b) => Date.parse(a.sentAt) - Date.parse(b.sentAt));
}

/** The cursor after `id` (sent at `sentAt`) was handled. */
export function advance(cursor: Cursor, id: string, sentAt: string): Cursor {
  const seen = cursor.seen.includes(id) ? cursor.seen : [...cursor.seen, id].slice(-RECENT_IDS);
  const newer = !cursor.lastSentAt || Date.parse(sentAt) > Date.parse(cursor.lastSentAt);
  return { lastSentAt: newer && !Number.isNaN(Date.parse(sentAt)) ? sentAt : cursor.lastSentAt, seen };
}

export class CursorStore {
  readonly file: string;
  constructor(file: string) {
    this.file = file;
  }

  load(): Cursor {
    const parsed = CursorFile.safeParse(readJson(this.file));
    return parsed.success ? parsed.data : { ...EMPTY_CURSOR };
  }

  save(cursor: Cursor): void {
    writeJsonAtomic(this.file, cursor);
  }

  clear(): void {
    fs.rmSync(this.file, { force: true });
  }
}
