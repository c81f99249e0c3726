// The front server's own routes (/pool/*). Everything else is proxied to the gateway.
import type { IncomingMessage } from "node:http";
import { Hono } from "hono";
import { checkInviteUrl, decodeUtf8, type ErrorBody, firstIssue, PROVISION_BODY_MAX_BYTES, ProvisionRequestSchema } from "../contract/pool-runtime.ts";
import { bearerMatches } from "../plugins/convos/src/bearer.ts";
import { writeInstructions } from "../plugins/convos/src/http-routes.ts";
import { requestSelfDestruct, type SelfDestructConfig } from "../plugins/convos/src/pool-client.ts";
import type { PluginClient } from "./plugin-client.ts";
import type { ReadinessProbe } from "./readiness.ts";

export type FrontDeps = {
  version: string;
  /** What this instance can really do (see capabilities.ts); reported with health. */
  capabilities?: string[];
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

function error(code: string, message: string): ErrorBody {
  return { error: { code, message } };
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
    return c.json({ ready: true, version: deps.version, bound: !r.status.clean, capabilities: deps.capabilities ?? [] });
  });

  app.post("/pool/provision", async (c) => {
    if (!bearerMatches(c.req.header("authorization"), deps.gatewayToken)) return c.json(error("unauthorized", "missing or wrong bearer token"), 401);
    const readiness = await deps.readiness.check();
    if (!readiness.ready) return c.json(error("not_ready", readiness.reason), 503);
    // Limits are on bytes, the unit the plugin behind us counts in.
    const bytes = await c.req.arrayBuffer();
    if (bytes.byteLength > PROVISION_BODY_MAX_BYTES) return c.json(error("payload_too_large", `request body exceeds ${PROVISION_BODY_MAX_BYTES} bytes`), 413);
    const text = decodeUtf8(bytes);
    if (text === null) return c.json(error("invalid_utf8", "request body is not valid UTF-8"), 400);
    let raw: unknown;
    try {
      raw = text.trim() ? JSON.parse(text) : {};
    } catch {
      return c.json(error("invalid_json", "request body is not valid JSON"), 400);
    }
    const parsed = ProvisionRequestSchema.safeParse(raw);
    if (!parsed.success) return c.json(error("invalid_request", firstIssue(parsed.error)), 400);
    const body = parsed.data;
    if (body.joinUrl !== undefined) {
      const invite = checkInviteUrl(body.joinUrl, deps.xmtpEnv);
      if (!invite.ok) return c.json(error("invalid_request", invite.message), 400);
      body.joinUrl = invite.url;
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
