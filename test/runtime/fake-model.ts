// A local OpenAI-compatible model for runs with the real OpenClaw gateway
// (OPENCLAW_DEV_MODEL_URL): records what the agent sends, always answers the same text.
import http from "node:http";

export function fakeModel(answer: string) {
  const requests: Array<{ messages: Array<{ role: string; content: unknown }> }> = [];
  const server = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (d) => (raw += d));
    req.on("end", () => {
      const body = raw ? JSON.parse(raw) : {};
      requests.push(body);
      if (body.stream) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        const chunk = (delta: object, finish: string | null = null) =>
          res.write(`data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", created: 1, model: "dev-model", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
        chunk({ role: "assistant", content: "" });
        chunk({ content: answer });
        chunk({}, "stop");
        res.end("data: [DONE]\n\n");
      } else {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({ id: "c1", object: "chat.completion", created: 1, model: "dev-model", choices: [{ index: 0, message: { role: "assistant", content: answer }, finish_reason: "stop" }] }),
        );
      }
    });
  });
  return { server, requests };
}
