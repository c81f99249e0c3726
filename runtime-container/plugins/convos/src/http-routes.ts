// The plugin's HTTP surface (/convos/*), as a plain node:http handler so it mounts the same
// way in the OpenClaw gateway (registerHttpRoute) and in the stand-in gateway.
import fs from "node:fs";
import path from "node:path";
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { InstructionsSchema, MetadataSchema, ProfileImageSchema } from "../../../contract/pool-runtime.ts";
import { bearerMatches } from "./bearer.ts";
import { ServiceError, type ConvosService } from "./convos-service.ts";

const MAX_BODY = 64 * 1024;
const env = z.enum(["dev", "production"]);
// What a provision may carry is the pool ↔ runtime contract's (runtime-container/contract/).
const metadata = MetadataSchema;
const httpUrl = ProfileImageSchema;

const schemas = {
  create: z.object({
    name: z.string().trim().max(100).optional(),
    profileName: z.string().trim().max(100).optional(),
    description: z.string().max(500).optional(),
    env: env.optional(),
    instructions: InstructionsSchema.optional(),
    permissions: z.enum(["all-members", "admin-only"]).optional(),
    profileImage: httpUrl.optional(),
    metadata: metadata.optional(),
  }),
  join: z.object({
    inviteUrl: z.string().trim().min(1).max(4096),
    profileName: z.string().trim().max(100).optional(),
    env: env.optional(),
    instructions: InstructionsSchema.optional(),
    profileImage: httpUrl.optional(),
    metadata: metadata.optional(),
  }),
  send: z.object({ message: z.string().min(1).max(16_000), replyTo: z.string().max(200).optional() }),
  react: z.object({ messageId: z.string().min(1).max(200), emoji: z.string().min(1).max(32), action: z.enum(["add", "remove"]).optional() }),
  rename: z.object({ name: z.string().trim().min(1).max(100) }),
  lock: z.object({ unlock: z.boolean().optional() }),
};

export type RouteContext = {
  service: ConvosService;
  gatewayToken: string | undefined;
  workspaceDir?: string;
};

function send(res: ServerResponse, status: number, body: unknown): true {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "content-length": Buffer.byteLength(text) });
  res.end(text);
  return true;
}

function fail(res: ServerResponse, status: number, code: string, message: string, details?: unknown): true {
  return send(res, status, { error: { code, message, ...(details ? { details } : {}) } });
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new ServiceError(413, "payload_too_large", "request body exceeds 64 KiB");
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ServiceError(400, "invalid_json", "request body is not valid JSON");
  }
}

function parse<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const result = schema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path.join(".") || "body";
    throw new ServiceError(400, "invalid_request", `${field}: ${issue?.message ?? "invalid"}`);
  }
  return result.data;
}

export function writeInstructions(workspaceDir: string | undefined, instructions: string | undefined): void {
  if (!workspaceDir || instructions === undefined) return;
  fs.mkdirSync(workspaceDir, { recursive: true });
  fs.writeFileSync(path.join(workspaceDir, "INSTRUCTIONS.md"), instructions.endsWith("\n") ? instructions : `${instructions}\n`);
}

/** Handles /convos/*; returns false for other paths so the host can route them elsewhere. */
export async function handleConvosRequest(req: IncomingMessage, res: ServerResponse, ctx: RouteContext): Promise<boolean> {
  const url = new URL(req.url ?? "/", "http://localhost");
  const route = `${req.method} ${url.pathname.replace(/\/+$/u, "")}`;
  if (!url.pathname.startsWith("/convos/") && url.pathname !== "/convos") return false;
  if (!bearerMatches(req.headers.authorization, ctx.gatewayToken)) {
    return fail(res, 401, "unauthorized", "missing or wrong bearer token");
  }
  const { service } = ctx;
  try {
    switch (route) {
      case "GET /convos/status":
        return send(res, 200, service.status());
      case "POST /convos/conversation": {
        const body = parse(schemas.create, await readJson(req));
        const result = await service.create({ ...body, profileName: body.profileName ?? body.name });
        writeInstructions(ctx.workspaceDir, body.instructions);
        return send(res, 200, result);
      }
      case "POST /convos/join": {
        const body = parse(schemas.join, await readJson(req));
        const result = await service.join(body);
        writeInstructions(ctx.workspaceDir, body.instructions);
        return send(res, 200, result);
      }
      case "POST /convos/conversation/send": {
        const body = parse(schemas.send, await readJson(req));
        return send(res, 200, await service.send(body.message, body.replyTo));
      }
      case "POST /convos/conversation/react": {
        const body = parse(schemas.react, await readJson(req));
        return send(res, 200, await service.react(body.messageId, body.emoji, body.action));
      }
      case "POST /convos/rename": {
        const body = parse(schemas.rename, await readJson(req));
        return send(res, 200, { ok: true, ...(await service.rename(body.name)) });
      }
      case "POST /convos/lock": {
        const body = parse(schemas.lock, await readJson(req));
        return send(res, 200, { ok: true, ...(await service.lock(body.unlock === true)) });
      }
      case "POST /convos/explode":
        return send(res, 200, await service.explode());
      case "POST /convos/reset":
        await service.reset();
        return send(res, 200, { ok: true, status: service.status() });
      default:
        return fail(res, 404, "not_found", `no route ${route}`);
    }
  } catch (err) {
    if (err instanceof ServiceError) return fail(res, err.status, err.code, err.message);
    return fail(res, 500, "internal", err instanceof Error ? err.message : String(err));
  }
}
