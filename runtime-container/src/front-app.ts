// The front server's own routes (/pool/*). Everything else is proxied to the gateway.
import type { IncomingMessage } from "node:http";
import { Hono } from "hono";
import { z } from "zod";
import { bearerMatches } from "../plugins/convos/src/bearer.ts";
import { writeInstructions } from "../plugins/convos/src/http-routes.ts";
import { requestSelfDestruct, type SelfDestructConfig } from "../plugins/convos/src/pool-client.ts";
import type { PluginClient } from "./plugin-client.ts";
import type { ReadinessProbe } from "./readiness.ts";

export type FrontDeps = {
  version: string;
  xmtpEnv: "dev" | "production";
  gatewayToken: string;
  workspaceDir: string;
  plugin: PluginClient;
  readiness: ReadinessProbe;
  pool: SelfDestructConfig;
  provisionTimeoutMs?: number;
  log?: (line: string) => void;
};

type Bindings = { incoming: IncomingMessage };

const INVITE_HOSTS: Record<string, "dev" | "production"> = { "dev.convos.org": "dev", "popup.convos.org": "production" };

const provisionBody = z.object({
  agentName: z.string().trim().min(1).max(100).optional(),
  instructions: z.string().max(32_000).optional(),
  joinUrl: z.string().trim().url().max(4096).optional(),
  profileImage: z.string().url().max(2048).refine((u) => /^https?:\/\//u.test(u), "must be an http(s) URL").optional(),
  metadata: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/u, "metadata keys are letters, digits, _ . -"), z.union([z.string().max(512), z.number(), z.boolean()])).refine((m) => Object.keys(m).length <= 20, "at most 20 fields").optional(),
}).strict();

function error(code: string, message: string) {
  return { error: { code, message } };
}

function inviteProblem(joinUrl: string, env: "dev" | "production"): string | null {
  const url = new URL(joinUrl);
  if (!/^https?:$/u.test(url.protocol)) return "joinUrl must be an http(s) Convos invite URL";
  if (!url.searchParams.get("i") && !/\/v2\/[^/]+/u.test(url.pathname)) return "joinUrl has no invite slug (expected …/v2?i=<slug>)";
  const inviteEnv = INVITE_HOSTS[url.hostname];
  if (inviteEnv && inviteEnv !== env) return `joinUrl is a ${inviteEnv} invite but this instance runs on XMTP ${env}`;
  return null;
}

function isLoopback(address: string | undefined): boolean {
  return !!address && (address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127."));
}

export function createFrontApp(deps: FrontDeps): Hono<{ Bindings: Bindings }> {
  const app = new Hono<{ Bindings: Bindings }>();

  app.get("/pool/health", async (c) => {
    const r = await deps.readiness.check();
    if (!r.ready) return c.json({ ready: false, reason: r.reason }, 503);
    // Bound = no longer a fresh instance: it has (or had, or is getting) its conversation.
    return c.json({ ready: true, version: deps.version, bound: !r.status.clean });
  });

  app.post("/pool/provision", async (c) => {
    if (!bearerMatches(c.req.header("authorization"), deps.gatewayToken)) return c.json(error("unauthorized", "missing or wrong bearer token"), 401);
    const readiness = await deps.readiness.check();
    if (!readiness.ready) return c.json(error("not_ready", readiness.reason), 503);
    let raw: unknown;
    try {
      const text = await c.req.text();
      if (text.length > 64 * 1024) return c.json(error("payload_too_large", "request body exceeds 64 KiB"), 413);
      raw = text.trim() ? JSON.parse(text) : {};
    } catch {
      return c.json(error("invalid_json", "request body is not valid JSON"), 400);
    }
    const parsed = provisionBody.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return c.json(error("invalid_request", `${issue?.path.join(".") || "body"}: ${issue?.message}`), 400);
    }
    const body = parsed.data;
    if (body.joinUrl) {
      const problem = inviteProblem(body.joinUrl, deps.xmtpEnv);
      if (problem) return c.json(error("invalid_request", problem), 400);
    }
    const status = readiness.status;
    if (status.conversationId || status.pending || !status.clean) {
      return c.json(error("already_bound", "this instance already has its conversation"), 409);
    }
    writeInstructions(deps.workspaceDir, body.instructions);
    const common = { profileName: body.agentName, env: deps.xmtpEnv, instructions: body.instructions, profileImage: body.profileImage, metadata: body.metadata };
    const timeout = deps.provisionTimeoutMs ?? 70_000;
    try {
      if (body.joinUrl) {
        const reply = await deps.plugin.call<{ status: "joined" | "pending_acceptance"; conversationId: string | null }>("POST", "/convos/join", { ...common, inviteUrl: body.joinUrl }, timeout);
        if (reply.status !== 200) return c.json(reply.body as object, reply.status as 400);
        deps.readiness.invalidate();
        deps.log?.(`provisioned: ${reply.body.status}`);
        return c.json({ status: reply.body.status, conversationId: reply.body.conversationId, inviteUrl: body.joinUrl, joined: reply.body.status === "joined" });
      }
      const reply = await deps.plugin.call<{ conversationId: string; inviteUrl: string }>("POST", "/convos/conversation", { ...common, name: body.agentName }, timeout);
      if (reply.status !== 200) return c.json(reply.body as object, reply.status as 400);
      deps.readiness.invalidate();
      deps.log?.("provisioned: created");
      return c.json({ status: "created", conversationId: reply.body.conversationId, inviteUrl: reply.body.inviteUrl, joined: false });
    } catch (err) {
      return c.json(error("gateway_unavailable", `the gateway did not answer: ${err instanceof Error ? err.message : String(err)}`), 502);
    }
  });

  app.post("/pool/self-destruct", async (c) => {
    // Meant for the agent's own tools on this machine; never reachable from outside.
    if (!isLoopback(c.env?.incoming?.socket?.remoteAddress)) return c.json(error("forbidden", "self-destruct is only accepted from localhost"), 403);
    const result = await requestSelfDestruct(deps.pool, "requested from inside the instance");
    return c.json(result, result.requested ? 202 : 502);
  });

  app.all("/pool/*", (c) => c.json(error("not_found", `no route ${c.req.method} ${c.req.path}`), 404));
  app.onError((err, c) => c.json(error("internal", err.message), 500));
  return app;
}
