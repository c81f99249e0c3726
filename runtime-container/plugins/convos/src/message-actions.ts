// The agent's message tool on Convos: send, react, send a workspace file, and update its own
// profile. Renaming, locking and exploding the conversation are operator actions over HTTP,
// never agent actions.
import fs from "node:fs";
import { MAX_ATTACHMENT_BYTES, resolveWorkspaceFile, writeOutboxFile } from "./attachments.ts";
import type { ConvosService } from "./convos-service.ts";
import { markdownToPlainText } from "./plain-text.ts";
import { profileUpdate } from "./profile.ts";

export const AGENT_ACTIONS = ["send", "react", "sendAttachment", "set-profile"] as const;

/** Extra message-tool parameters for set-profile (OpenClaw's schema has none for a profile). */
export const PROFILE_SCHEMA = {
  actions: ["set-profile"] as const,
  properties: {
    displayName: { type: "string", description: "set-profile: your new display name in this chat." },
    avatar: { type: "string", description: "set-profile: new profile picture, an https URL or a workspace image path." },
  },
};

/**
 * sendAttachment's own parameter for files the agent made. OpenClaw loads `filePath` itself
 * and sends only media, PDFs, Office files and plain text that way, so an .ics invite would
 * be refused; a workspace file named here goes to the CLI as it is, confined to the workspace.
 */
export const WORKSPACE_FILE_SCHEMA = {
  actions: ["sendAttachment"] as const,
  properties: {
    workspaceFile: {
      type: "string",
      description: "sendAttachment: a file you wrote in your workspace (an .ics invite, a .csv list), path relative to the workspace; sent as is.",
    },
  },
};

type ActionContext = { action: string; params: Record<string, unknown> };
type ToolResult = { content: Array<{ type: "text"; text: string }>; details: unknown };

function str(params: Record<string, unknown>, ...keys: string[]): string | undefined {
  for (const key of keys) if (typeof params[key] === "string" && (params[key] as string).trim()) return (params[key] as string).trim();
  return undefined;
}

const done = (text: string, details: unknown): ToolResult => ({ content: [{ type: "text", text }], details });

export async function runAgentAction(service: ConvosService, ctx: ActionContext, workspaceDir?: string): Promise<ToolResult> {
  const p = ctx.params;
  const replyTo = str(p, "replyTo", "reply_to", "replyToId");
  switch (ctx.action) {
    case "react": {
      const messageId = str(p, "messageId", "message_id");
      const emoji = str(p, "emoji");
      const remove = p.remove === true || p.reactionAction === "remove";
      if (!messageId || !emoji) throw new Error("react needs messageId and emoji");
      return done(`${remove ? "removed" : "added"} ${emoji}`, await service.react(messageId, emoji, remove ? "remove" : "add"));
    }
    case "send": {
      const text = str(p, "message", "text");
      if (!text) throw new Error("send needs a message");
      return done("sent", await service.send(markdownToPlainText(text), replyTo));
    }
    case "sendAttachment": {
      if (!workspaceDir) throw new Error("this instance has no workspace to send files from");
      // OpenClaw loads the file (within its media policy and size cap) into `buffer`; a bare
      // workspace path is accepted too, and must stay inside the workspace.
      const buffer = str(p, "buffer");
      const requested = str(p, "workspaceFile", "filePath", "path", "media", "file");
      const file = buffer
        ? writeOutboxFile(workspaceDir, str(p, "filename") ?? (requested ? requested.split("/").at(-1)! : "attachment"), Buffer.from(buffer, "base64"))
        : requested
          ? resolveWorkspaceFile(workspaceDir, requested)
          : undefined;
      if (!file) throw new Error("sendAttachment needs a workspace file (workspaceFile or filePath)");
      const bytes = fs.statSync(file).size;
      if (bytes > MAX_ATTACHMENT_BYTES) throw new Error(`${requested ?? "the file"} is ${bytes} bytes; files up to ${MAX_ATTACHMENT_BYTES} bytes can be sent`);
      let details: unknown;
      try {
        details = await service.serveCommand({ type: "attach", file, ...(replyTo ? { replyTo } : {}) });
      } finally {
        // The CLI has read (and uploaded) the copy by now; the outbox keeps nothing.
        if (buffer) fs.rmSync(file, { force: true });
      }
      const caption = str(p, "caption");
      if (caption) await service.send(markdownToPlainText(caption));
      return done(`sent ${file.split("/").at(-1)}`, details);
    }
    case "set-profile": {
      const update = profileUpdate({ name: str(p, "displayName", "name"), image: str(p, "avatar", "image", "avatarUrl") }, workspaceDir);
      await service.updateProfile(update);
      return done(`profile updated${update.name ? `: now "${update.name}"` : ""}`, update);
    }
    default:
      throw new Error(`the Convos channel does not let the agent ${ctx.action}`);
  }
}
