// OpenRouter's inference endpoints an agent's tools call with the instance's own key, on a
// loopback port: chat completions for a Perplexity Sonar model (web search: an answer plus
// `citations` and `url_citation` annotations, as OpenRouter returns them) and
// /audio/transcriptions (voice notes: `{model, input_audio: {data, format}}` in, `{text}` out).
// Every request is recorded so a test can check what left the instance and with which key.
// The shapes are OpenRouter's published ones (ChatResult, STTRequest/STTResponse and the error
// body of ../shared/reference/openrouter/openapi.yaml, copied as
// test/support/fixtures/openrouter/openrouter-inference-subset.openapi.json);
// test/contracts/openrouter-inference.test.ts holds the fake to them.
// OpenClaw's SSRF guard refuses loopback addresses for these calls (rightly), so the fake is
// reached the way a container behind an egress proxy reaches OpenRouter: it is the
// instance's HTTP proxy (HTTP_PROXY) and answers for the host `openrouter.test`.
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";

export type RecordedCall = { path: string; authorization: string | undefined; body: any };
export type SearchAnswer = { content: string; citations: string[] };

export type FakeOpenRouterTools = {
  /** The API root to configure (OPENROUTER_BASE_URL), ending in /api/v1. */
  baseUrl: string;
  /** The proxy the instance must use to reach `baseUrl` (HTTP_PROXY). */
  proxyUrl: string;
  calls: RecordedCall[];
  /** What the next searches answer, by exact query. */
  answers: Map<string, SearchAnswer>;
  /** What transcription answers for audio whose base64 payload is the key; missing → 500. */
  transcripts: Map<string, string>;
  close: () => Promise<void>;
};

const error = (res: http.ServerResponse, status: number, message: string) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify({ error: { code: status, message, metadata: null }, user_id: null }));
};

export async function startFakeOpenRouterTools(): Promise<FakeOpenRouterTools> {
  const calls: RecordedCall[] = [];
  const answers = new Map<string, SearchAnswer>();
  const transcripts = new Map<string, string>();
  const server = http.createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => (raw += d));
    req.on("end", () => {
      // Through the tunnel the request is origin-form; its Host header names the target.
      const target = new URL(req.url ?? "/", `http://${req.headers.host ?? "openrouter.test"}`);
      if (target.hostname !== "openrouter.test") return error(res, 502, `this proxy only reaches openrouter.test, not ${target.host}`);
      const path = target.pathname;
      let body: any;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        return error(res, 400, "Invalid JSON body");
      }
      calls.push({ path, authorization: req.headers.authorization, body });
      if (!req.headers.authorization?.startsWith("Bearer ")) return error(res, 401, "Missing Authentication header");
      if (req.method === "POST" && path === "/api/v1/chat/completions") {
        const query = body?.messages?.at(-1)?.content;
        const answer = answers.get(query);
        if (!answer) return error(res, 400, `no scripted answer for ${JSON.stringify(query)}`);
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(
          JSON.stringify({
            id: "gen-fake-search",
            provider: "Perplexity",
            model: body.model,
            object: "chat.completion",
            created: 1,
            system_fingerprint: null,
            choices: [
              {
                index: 0,
                finish_reason: "stop",
                message: {
                  role: "assistant",
                  content: answer.content,
                  annotations: answer.citations.map((url) => ({ type: "url_citation", url_citation: { url, title: url, start_index: 0, end_index: 0 } })),
                },
              },
            ],
            citations: answer.citations,
            usage: { prompt_tokens: 12, completion_tokens: 40, total_tokens: 52 },
          }),
        );
      }
      if (req.method === "POST" && path === "/api/v1/audio/transcriptions") {
        const data = body?.input_audio?.data;
        if (typeof data !== "string" || typeof body?.input_audio?.format !== "string") return error(res, 400, "input_audio.data and input_audio.format are required");
        const text = transcripts.get(data);
        if (text === undefined) return error(res, 500, "Internal Server Error");
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(JSON.stringify({ text, usage: { seconds: 3 } }));
      }
      return error(res, 404, "Resource not found");
    });
  });
  // undici's proxy agent tunnels every request with CONNECT: the tunnel to openrouter.test
  // ends in this same server; anything else (e.g. https://openrouter.ai) is refused.
  server.on("connect", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!/^openrouter\.test(:\d+)?$/u.test(req.url ?? "")) {
      socket.end("HTTP/1.1 502 Bad Gateway\r\n\r\n");
      return;
    }
    socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    if (head.length) socket.unshift(head);
    server.emit("connection", socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: "http://openrouter.test/api/v1",
    proxyUrl: `http://127.0.0.1:${port}`,
    calls,
    answers,
    transcripts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
