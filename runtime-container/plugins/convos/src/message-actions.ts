// The agent's message tool on Convos: `send` and `react` only. Renaming, locking and
// exploding the conversation are operator actions over HTTP, never agent actions.
import type { ConvosService } from "./convos-service.ts";

export const AGENT_ACTIONS = ["send", "react"] as const;

type ActionContext = { action: string; params: Record<string, unknown> };
type ToolResult = { content: Array<{ type: "text"; text: string }>; details: unknown };

export async function runAgentAction(service: ConvosService, ctx: ActionContext): Promise<ToolResult> {
  if (ctx.action === "react") {
    const messageId = String(ctx.params.messageId ?? ctx.params.message_id ?? "");
    const emoji = String(ctx.params.emoji ?? "");
    const remove = ctx.params.remove === true || ctx.params.reactionAction === "remove";
    if (!messageId || !emoji) throw new Error("react needs messageId and emoji");
    const details = await service.react(messageId, emoji, remove ? "remove" : "add");
    return { content: [{ type: "text", text: `${remove ? "removed" : "added"} ${emoji}` }], details };
  }
  if (ctx.action === "send") {
    const text = String(ctx.params.message ?? ctx.params.text ?? "");
    if (!text.trim()) throw new Error("send needs a message");
    const replyTo = typeof ctx.params.replyTo === "string" ? ctx.params.replyTo : undefined;
    const details = await service.send(text, replyTo);
    return { content: [{ type: "text", text: "sent" }], details };
  }
  throw new Error(`the Convos channel does not let the agent ${ctx.action}`);
}
