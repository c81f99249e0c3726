// The convos plugin's HTTP routes (/convos/*) as the front server and operators call them.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConvosService } from "../../runtime-container/plugins/convos/src/convos-service.ts";
import { handleConvosRequest } from "../../runtime-container/plugins/convos/src/http-routes.ts";
import { CLI_SCHEMA, FAKE_CONVOS, readTranscript, tempDir, waitFor } from "./support.ts";

process.env.FAKE_CONVOS_SCHEMA = CLI_SCHEMA;
const TOKEN = "plugin-route-token";

let server: http.Server;
let base: string;
let service: ConvosService;
let dir: string;
const poolCalls: string[] = [];
let pool: http.Server;

beforeAll(async () => {
  pool = http.createServer((req, res) => {
    poolCalls.push(req.url ?? "");
    req.resume();
    res.writeHead(202).end();
  });
  await new Promise<void>((r) => pool.listen(0, "127.0.0.1", r));
  dir = tempDir("plugin-routes");
  service = new ConvosService({
    bin: FAKE_CONVOS,
    home: path.join(dir, "convos"),
    env: "dev",
    stateFile: path.join(dir, "binding.json"),
    workspaceDir: path.join(dir, "workspace"),
    pool: { poolUrl: `http://127.0.0.1:${(pool.address() as { port: number }).port}`, instanceId: "i-1", gatewayToken: TOKEN },
    serveBackoff: { initialMs: 50, maxMs: 200 },
  });
  server = http.createServer(async (req, res) => {
    if (!(await handleConvosRequest(req, res, { service, gatewayToken: TOKEN, workspaceDir: service.opts.workspaceDir }))) {
      res.writeHead(418).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await service.shutdown();
  await new Promise<void>((r) => server.close(() => r()));
  await new Promise<void>((r) => pool.close(() => r()));
});

async function call(method: string, p: string, body?: unknown, token: string | null = TOKEN) {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), "content-type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => null)) as any };
}

describe("convos plugin routes", () => {
  it("leaves other paths to the host", async () => {
    expect((await fetch(`${base}/not-convos`)).status).toBe(418);
  });

  it("requires the gateway token on every route", async () => {
    for (const [method, p] of [
      ["GET", "/convos/status"],
      ["POST", "/convos/conversation"],
      ["POST", "/convos/explode"],
      ["POST", "/convos/reset"],
    ] as const) {
      const res = await call(method, p, method === "POST" ? {} : undefined, null);
      expect(res.status, `${method} ${p}`).toBe(401);
      expect((await call(method, p, method === "POST" ? {} : undefined, "wrong")).status).toBe(401);
    }
  });

  it("reports a clean instance before anything happens", async () => {
    expect((await call("GET", "/convos/status")).body).toMatchObject({ conversationId: null, inboxId: null, pending: false, clean: true, streaming: false });
  });

  it("validates bodies and names the offending field", async () => {
    const res = await call("POST", "/convos/conversation", { name: 42 });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/^name:/u);
    expect((await call("POST", "/convos/conversation", { permissions: "everyone" })).status).toBe(400);
    expect((await call("POST", "/convos/join", {})).body.error.message).toMatch(/^inviteUrl:/u);
    expect((await call("POST", "/convos/conversation", "{oops")).body.error.code).toBe("invalid_json");
    expect((await call("POST", "/convos/conversation", { instructions: "x".repeat(70_000) })).status).toBe(413);
    expect((await call("GET", "/convos/nope")).status).toBe(404);
  });

  it("needs a conversation before sending", async () => {
    const res = await call("POST", "/convos/conversation/send", { message: "hi" });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("not_bound");
  });

  it("answers a malformed invite with 400 invalid_invite naming the problem, and stays clean", async () => {
    const res = await call("POST", "/convos/join", { inviteUrl: "https://dev.convos.org/v2?i=not-an-invite", profileName: "Ava" });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_invite");
    expect(res.body.error.message).toMatch(/^the invite cannot be used: \S+/u);
    expect(res.body.error.message).not.toMatch(/USAGE|›/u);
    expect((await call("GET", "/convos/status")).body).toMatchObject({ clean: true, conversationId: null });
  });

  it("creates, then refuses a second create or join with 409", async () => {
    const res = await call("POST", "/convos/conversation", { name: "Book club", profileName: "Ava", env: "dev", instructions: "Keep us reading.", permissions: "admin-only" });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(["conversationId", "inviteSlug", "inviteUrl"]);
    expect(fs.readFileSync(path.join(dir, "workspace", "INSTRUCTIONS.md"), "utf8")).toBe("Keep us reading.\n");
    expect((await call("POST", "/convos/conversation", { name: "again" })).status).toBe(409);
    expect((await call("POST", "/convos/join", { inviteUrl: "https://dev.convos.org/v2?i=x" })).status).toBe(409);
    await waitFor(async () => (await call("GET", "/convos/status")).body.streaming, "streaming");
  });

  it("sends, reacts, renames, locks and unlocks through the stream", async () => {
    const before = (await call("GET", "/convos/status")).body.inviteUrl;
    expect((await call("POST", "/convos/conversation/send", { message: "Chapter 3 by Friday!" })).body.messageId).toMatch(/^[0-9a-f]{64}$/u);
    expect((await call("POST", "/convos/conversation/react", { messageId: "m-9", emoji: "👀" })).body.reactionId).toMatch(/^[0-9a-f]{64}$/u);
    expect((await call("POST", "/convos/rename", { name: "Book club 📚" })).body).toEqual({ ok: true, name: "Book club 📚", inviteUrl: expect.stringMatching(/^https:\/\/dev\.convos\.org\/v2\?i=/u) });
    const locked = await call("POST", "/convos/lock", {});
    expect(locked.body).toEqual({ ok: true, locked: true, inviteUrl: expect.any(String) });
    expect(locked.body.inviteUrl).not.toBe(before);
    expect((await call("POST", "/convos/lock", { unlock: true })).body).toEqual({ ok: true, locked: false, inviteUrl: expect.any(String) });
    expect((await call("GET", "/convos/status")).body).toMatchObject({ locked: false, name: "Book club 📚", errorCount: 0, lastError: null });
    const kinds = readTranscript(path.join(dir, "convos")).map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(["sent", "reaction", "rename", "lock", "unlock", "invite_rotated"]));
  });

  it("explodes: the instance is unbound and the pool is asked to destroy it", async () => {
    const res = await call("POST", "/convos/explode");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ exploded: true, selfDestruct: { requested: true } });
    expect(poolCalls).toEqual(["/api/pool/instances/i-1/self-destruct"]);
    expect((await call("GET", "/convos/status")).body).toMatchObject({ conversationId: null, clean: false, streaming: false });
    expect((await call("POST", "/convos/conversation/send", { message: "anyone?" })).status).toBe(409);
  });

  it("reset makes the instance clean again", async () => {
    const res = await call("POST", "/convos/reset");
    expect(res.status).toBe(200);
    expect(res.body.status).toMatchObject({ clean: true, conversationId: null });
  });
});
