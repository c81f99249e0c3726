// The instance's one conversation, persisted next to CONVOS_HOME so a restarted gateway
// resumes the same conversation instead of looking unbound (and being handed out twice).
import fs from "node:fs";
import { readJson, writeJsonAtomic } from "./json-file.ts";

export type Binding = {
  conversationId: string | null;
  inviteUrl: string | null;
  inviteSlug: string | null;
  inboxId: string | null;
  /** A join request is out and the creator has not accepted it yet. */
  pending: boolean;
  joinUrl: string | null;
  profileName: string | null;
  boundAt: string | null;
  /** Set once anything user-specific happened; never cleared except by reset. */
  used: boolean;
  exploded: boolean;
  /** The conversation's name as last set (create, join, rename). */
  name: string | null;
  /** Lock state as last set through this instance. */
  locked: boolean;
  /** The owner scheduled the explosion for this time (ISO). */
  explodesAt: string | null;
};

export const EMPTY_BINDING: Binding = {
  conversationId: null,
  inviteUrl: null,
  inviteSlug: null,
  inboxId: null,
  pending: false,
  joinUrl: null,
  profileName: null,
  boundAt: null,
  used: false,
  exploded: false,
  name: null,
  locked: false,
  explodesAt: null,
};

export class BindingStore {
  readonly file: string;
  constructor(file: string) {
    this.file = file;
  }

  load(): Binding {
    const stored = readJson(this.file);
    return { ...EMPTY_BINDING, ...(stored && typeof stored === "object" ? stored : {}) };
  }

  save(binding: Binding): void {
    writeJsonAtomic(this.file, binding);
  }

  clear(): void {
    fs.rmSync(this.file, { force: true });
  }
}
