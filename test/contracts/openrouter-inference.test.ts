import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOpenRouterTools, type FakeOpenRouterTools } from "../runtime/fake-openrouter-tools.ts";
import { OPENROUTER_402 } from "../support/scripted-model.ts";
import { check, loadSpec, operationSchema } from "./openapi-check";

/**
 * The inference fakes an agent's tools meet (web search's chat completions, voice notes'
 * transcriptions, the exhausted key's 402) against OpenRouter's published OpenAPI
 * (test/support/fixtures/openrouter/openrouter-inference-subset.openapi.json, extracted from
 * ../shared/reference/openrouter/openapi.yaml): a fake drifting from the wire format fails here.
 */
const spec = loadSpec("openrouter/openrouter-inference-subset.openapi.json");
let fake: FakeOpenRouterTools;

// The fake answers for the host openrouter.test (it is the instance's proxy); a direct request names it.
function post(path: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const { port } = new URL(fake.proxyUrl);
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, path, method: "POST", headers: { host: "openrouter.test", authorization: "Bearer sk-or-v1-instance", "content-type": "application/json" } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

beforeAll(async () => {
  fake = await startFakeOpenRouterTools();
});
afterAll(async () => {
  await fake?.close();
});

describe("OpenRouter inference fakes against OpenRouter's OpenAPI", () => {
  it("a search through Sonar: the request and the answer with its citations are documented chat completions", async () => {
    const request = { model: "perplexity/sonar", messages: [{ role: "user", content: "ferries on Lake Annecy" }] };
    fake.answers.set("ferries on Lake Annecy", { content: "At 10:00 and 14:30.", citations: ["https://bateaux-annecy.example/horaires"] });
    expect(check(spec, operationSchema(spec, "/chat/completions", "post", "request"), request)).toEqual([]);
    const res = await post("/api/v1/chat/completions", request);
    expect(res.status).toBe(200);
    expect(check(spec, operationSchema(spec, "/chat/completions", "post", "200"), res.body)).toEqual([]);
  });

  it("a voice note: the base64 request and the transcript are documented transcriptions", async () => {
    const request = { model: "openai/whisper-large-v3-turbo", input_audio: { data: "T2dnUw==", format: "ogg" } };
    fake.transcripts.set("T2dnUw==", "Bring the tent.");
    expect(check(spec, operationSchema(spec, "/audio/transcriptions", "post", "request"), request)).toEqual([]);
    const res = await post("/api/v1/audio/transcriptions", request);
    expect(res.status).toBe(200);
    expect(check(spec, operationSchema(spec, "/audio/transcriptions", "post", "200"), res.body)).toEqual([]);
    const failed = await post("/api/v1/audio/transcriptions", { ...request, input_audio: { data: "unknown", format: "ogg" } });
    expect(failed.status).toBe(500);
    expect(check(spec, operationSchema(spec, "/audio/transcriptions", "post", "500"), failed.body)).toEqual([]);
  });

  it("the exhausted key's answer is OpenRouter's documented 402", () => {
    const step = OPENROUTER_402 as { error: { status: number; body: unknown } };
    expect(step.error.status).toBe(402);
    expect(check(spec, operationSchema(spec, "/chat/completions", "post", "402"), step.error.body)).toEqual([]);
  });
});
