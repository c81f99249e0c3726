// The agent introduces itself once per conversation: after it created the chat, or once its
// join was accepted — never again after a restart. The marker lives on the state volume next
// to the binding, so it survives restarts and is moot after a reset (new conversation id).
import path from "node:path";
import { readJson, writeJsonAtomic } from "./json-file.ts";

const MAX_BRIEF = 160;

/** The first sentence (or line) of the instructions, short enough for a chat intro. */
export function briefFromInstructions(instructions: string | null | undefined): string | null {
  const text = (instructions ?? "")
    .split("\n")
    .map((l) => l.replace(/^\s*(#+|[-*+]|\d+[.)])\s*/u, "").trim())
    .filter(Boolean)
    .join(" ");
  if (!text) return null;
  const sentence = /^(.+?[.!?])(\s|$)/u.exec(text)?.[1] ?? text;
  const brief = sentence.length > MAX_BRIEF ? `${sentence.slice(0, MAX_BRIEF - 1).replace(/\s+\S*$/u, "")}…` : sentence;
  return brief.replace(/[.!?]+$/u, "");
}

/** The intro line: who it is, what it is here for, how to get its attention. */
export function greetingText(name: string | null | undefined, instructions: string | null | undefined): string {
  const who = name?.trim() ? `Hi everyone, I'm ${name.trim()}, an AI agent in this chat.` : "Hi everyone, I'm an AI agent in this chat.";
  const brief = briefFromInstructions(instructions);
  const what = brief ? ` My brief: ${brief}.` : "";
  const how = name?.trim() ? ` Say "${name.trim()}" or reply to one of my messages when you need me.` : " Reply to one of my messages when you need me.";
  return `${who}${what}${how}`;
}

type Marker = { conversationId: string; messageId: string | null; at: string };

export class GreetingMarker {
  readonly file: string;
  constructor(file: string) {
    this.file = file;
  }

  /** Visible for tests: where the marker lives for a given binding file. */
  static besideBinding(bindingFile: string): GreetingMarker {
    return new GreetingMarker(path.join(path.dirname(bindingFile), "convos-greeting.json"));
  }

  greeted(conversationId: string): boolean {
    return (readJson(this.file) as Marker | undefined)?.conversationId === conversationId;
  }

  record(conversationId: string, messageId: string | null): void {
    // Atomic: a crash mid-write must not leave a marker that reads as "not greeted".
    writeJsonAtomic(this.file, { conversationId, messageId, at: new Date().toISOString() } satisfies Marker);
  }
}

/** Sends the intro unless this conversation already had one; true when it sent. */
export async function greetOnce(p: {
  conversationId: string;
  marker: GreetingMarker;
  name: string | null;
  instructions: string | null;
  send: (text: string) => Promise<{ messageId: string | null }>;
}): Promise<boolean> {
  if (p.marker.greeted(p.conversationId)) return false;
  const { messageId } = await p.send(greetingText(p.name, p.instructions));
  // Recorded only once the CLI confirmed the send: a failed intro is retried on the next start.
  p.marker.record(p.conversationId, messageId);
  return true;
}
