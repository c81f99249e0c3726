// The agent's own Convos profile (display name, avatar): one rule for what a valid update
// is, used by the message tool (set-profile) and by POST /convos/profile (pool auth).
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import fs from "node:fs";
import { MAX_IMAGE_BYTES, resolveWorkspaceFile, sniffImageType } from "./attachments.ts";
import { bearerMatches } from "./bearer.ts";
import { ServiceError, type ConvosService } from "./convos-service.ts";

export const PROFILE_PATH = "/convos/profile";

export const ProfileUpdateBody = z
  .strictObject({
    name: z
      .string()
      .trim()
      .min(1, "name must not be empty")
      .max(100)
      .refine((n) => !/[\n\r]/u.test(n), "name must be one line")
      .optional(),
    /** An https URL, or (for the agent's tool) an image file in its workspace. */
    image: z.string().trim().min(1).max(2048).optional(),
  })
  .refine((b) => b.name !== undefined || b.image !== undefined, "give a name and/or an image");
export type ProfileUpdate = z.infer<typeof ProfileUpdateBody>;

/**
 * Validates an update. A non-URL image must be an image file inside the workspace; it is
 * handed to the CLI as a data: URL, because the CLI fetch()es the image and fetch reads no
 * file paths.
 */
export function profileUpdate(input: { name?: string; image?: string }, workspaceDir: string | undefined): ProfileUpdate {
  const parsed = ProfileUpdateBody.safeParse(Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ServiceError(400, "invalid_request", `${issue?.path.join(".") || "body"}: ${issue?.message ?? "invalid"}`);
  }
  const { image } = parsed.data;
  if (image && !/^https:\/\//iu.test(image)) {
    if (/^[a-z]+:/iu.test(image) || !workspaceDir) throw new ServiceError(400, "invalid_request", "image: must be an https URL or an image file in the workspace");
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(resolveWorkspaceFile(workspaceDir, image));
    } catch (err) {
      throw new ServiceError(400, "invalid_request", `image: ${err instanceof Error ? err.message : String(err)}`);
    }
    const type = sniffImageType(bytes.subarray(0, 16));
    if (!type) throw new ServiceError(400, "invalid_request", `image: ${image} is not a PNG, JPEG, GIF or WebP image`);
    if (bytes.length > MAX_IMAGE_BYTES) throw new ServiceError(400, "invalid_request", `image: ${image} is larger than ${MAX_IMAGE_BYTES / (1024 * 1024)} MB`);
    return { ...parsed.data, image: `data:${type};base64,${bytes.toString("base64")}` };
  }
  return parsed.data;
}

function reply(res: ServerResponse, status: number, body: unknown): true {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "content-length": Buffer.byteLength(text) });
  res.end(text);
  return true;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  let raw = "";
  for await (const chunk of req) {
    raw += String(chunk);
    if (raw.length > 8192) throw new ServiceError(413, "payload_too_large", "request body exceeds 8 KiB");
  }
  if (!raw.trim()) return {};
  try {
    return JSON.parse(raw);
  } catch {
    throw new ServiceError(400, "invalid_json", "request body is not valid JSON");
  }
}

/** POST /convos/profile {name?, image?}: the same bearer as every /convos route. */
export async function handleProfileRequest(req: IncomingMessage, res: ServerResponse, ctx: { service: ConvosService; gatewayToken: string | undefined; workspaceDir?: string }): Promise<boolean> {
  if (!bearerMatches(req.headers.authorization, ctx.gatewayToken)) return reply(res, 401, { error: { code: "unauthorized", message: "missing or wrong bearer token" } });
  if (req.method !== "POST") return reply(res, 405, { error: { code: "method_not_allowed", message: `use POST ${PROFILE_PATH}` } });
  try {
    const body = (await readBody(req)) as { name?: string; image?: string };
    const update = profileUpdate(typeof body === "object" && body ? body : {}, ctx.workspaceDir);
    await ctx.service.updateProfile(update);
    return reply(res, 200, { ok: true, ...(update.name ? { name: update.name } : {}), imageUpdated: update.image !== undefined });
  } catch (err) {
    if (err instanceof ServiceError) return reply(res, err.status, { error: { code: err.code, message: err.message } });
    return reply(res, 500, { error: { code: "internal", message: err instanceof Error ? err.message : String(err) } });
  }
}
