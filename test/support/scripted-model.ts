// A scripted OpenAI-compatible model for tests that drive a real OpenClaw gateway: each chat
// completion request takes the next scripted step (final text and/or tool calls) and the
// server records exactly what the agent sent, so a test can assert both what the model was
// given and what the agent did with the chosen answer. Speaks the chat completions wire
// format, streaming (SSE chunks, incremental tool_calls) and not.
import http from "node:http";
import type { AddressInfo } from "node:net";

export type ToolCall = { name: string; arguments: Record<string, unknown> };
/** `error`: the model API refuses instead of answering (HTTP status and JSON body, e.g. OpenRouter's 402). */
export type ModelStep = { text?: string; toolCalls?: ToolCall[]; error?: { status: number; body: unknown } };
/** A step, or a function choosing one from the request (e.g. to echo an id it was given). */
export type ScriptedStep = ModelStep | ((req: ModelRequest) => ModelStep);

type ContentPart = { type: string; text?: string; image_url?: { url: string } };
export type ChatMessage = { role: string; content: string | ContentPart[] | null; tool_calls?: unknown[]; tool_call_id?: string };
export type ModelRequest = {
  model?: string;
  stream?: boolean;
  messages: ChatMessage[];
  tools?: Array<{ type: string; function: { name: string; description?: string; parameters?: unknown } }>;
};

/** Text of a message whatever its content shape (string or parts). */
export function messageText(m: ChatMessage): string {
  if (typeof m.content === "string") return m.content;
  return (m.content ?? []).map((p) => p.text ?? "").join("\n");
}

export function systemPrompt(req: ModelRequest): string {
  return req.messages
    .filter((m) => m.role === "system" || m.role === "developer")
    .map(messageText)
    .join("\n");
}

/** The newest user message: what the agent was asked in this request. */
export function lastUserMessage(req: ModelRequest): ChatMessage | undefined {
  return req.messages.filter((m) => m.role === "user").at(-1);
}

/** Image parts (data URLs) the request carries anywhere in its messages. */
export function imageParts(req: ModelRequest): string[] {
  return req.messages.flatMap((m) => (Array.isArray(m.content) ? m.content : []).filter((p) => p.type === "image_url" && p.image_url).map((p) => p.image_url!.url));
}

export type ScriptedModel = {
  url: string;
  requests: ModelRequest[];
  /** Queues steps; each request consumes one, in order. */
  script: (...steps: ScriptedStep[]) => void;
  /** Steps not consumed yet. */
  pending: () => number;
  /** Replaces what answers once the script runs out (e.g. a key that stays exhausted). */
  setFallback: (step: ModelStep) => void;
  close: () => Promise<void>;
};

let callSeq = 0;

function completion(step: ModelStep) {
  const toolCalls = (step.toolCalls ?? []).map((c) => ({ id: `call_${++callSeq}`, type: "function", function: { name: c.name, arguments: JSON.stringify(c.arguments) } }));
  return { toolCalls, text: step.text ?? "", finish: toolCalls.length ? "tool_calls" : "stop" };
}

function writeStream(res: http.ServerResponse, step: ModelStep): void {
  const { toolCalls, text, finish } = completion(step);
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const chunk = (delta: object, finishReason: string | null = null) =>
    res.write(`data: ${JSON.stringify({ id: "scripted", object: "chat.completion.chunk", created: 1, model: "dev-model", choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`);
  chunk({ role: "assistant", content: "" });
  if (text) chunk({ content: text });
  // Tool calls arrive as the real APIs send them: name first, then the arguments in pieces.
  toolCalls.forEach((c, index) => {
    chunk({ tool_calls: [{ index, id: c.id, type: "function", function: { name: c.function.name, arguments: "" } }] });
    const args = c.function.arguments;
    const mid = Math.ceil(args.length / 2);
    chunk({ tool_calls: [{ index, function: { arguments: args.slice(0, mid) } }] });
    chunk({ tool_calls: [{ index, function: { arguments: args.slice(mid) } }] });
  });
  chunk({}, finish);
  res.write(
    `data: ${JSON.stringify({ id: "scripted", object: "chat.completion.chunk", created: 1, model: "dev-model", choices: [], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } })}\n\n`,
  );
  res.end("data: [DONE]\n\n");
}

function writeJson(res: http.ServerResponse, step: ModelStep): void {
  const { toolCalls, text, finish } = completion(step);
  const message = { role: "assistant", content: text || null, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) };
  res.writeHead(200, { "content-type": "application/json" });
  res.end(
    JSON.stringify({
      id: "scripted",
      object: "chat.completion",
      created: 1,
      model: "dev-model",
      choices: [{ index: 0, message, finish_reason: finish }],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    }),
  );
}

/**
 * Starts the model on a free loopback port. When the script runs out, `fallback` answers
 * (default: the silent token, so an unscripted extra request never puts words in the chat).
 */
/** OpenRouter's answer when the key's credit is gone (its documented 402 error body; test/contracts/openrouter-inference.test.ts checks it against the spec). */
export const OPENROUTER_402: ModelStep = {
  error: { status: 402, body: { error: { code: 402, message: "Insufficient credits. Add more using https://openrouter.ai/credits" } } },
};

export async function startScriptedModel(fallback: ModelStep = { text: "NO_REPLY" }): Promise<ScriptedModel> {
  const requests: ModelRequest[] = [];
  const queue: ScriptedStep[] = [];
  let current = fallback;
  const server = http.createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => (raw += d));
    req.on("end", () => {
      if (!req.url?.endsWith("/chat/completions")) {
        // Model listing and other probes: an empty, well-formed answer.
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ object: "list", data: [{ id: "dev-model", object: "model" }] }));
        return;
      }
      let body: ModelRequest;
      try {
        body = JSON.parse(raw) as ModelRequest;
      } catch {
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: "body is not JSON" } }));
        return;
      }
      requests.push(body);
      const next = queue.shift() ?? current;
      const step = typeof next === "function" ? next(body) : next;
      if (step.error) {
        res.writeHead(step.error.status, { "content-type": "application/json" });
        res.end(JSON.stringify(step.error.body));
        return;
      }
      if (body.stream) writeStream(res, step);
      else writeJson(res, step);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    script: (...steps) => void queue.push(...steps),
    pending: () => queue.length,
    setFallback: (step) => void (current = step),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
