import { timingSafeEqual } from "node:crypto";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { serve, type ServerType } from "@hono/node-server";
import { Hono } from "hono";
import { z } from "zod";
import { ProcessSupervisor, ROOT, SupervisorError } from "./processes.ts";
import { LOCAL_IMAGE } from "./protocol.ts";

/**
 * The HTTP face of the process supervisor, in the wire format of protocol.ts that the
 * Worker's `local` compute provider speaks. Loopback only, bearer LOCAL_SUPERVISOR_TOKEN.
 */
const CreateSchema = z
  .object({
    name: z.string().min(1).max(200),
    instanceId: z.string().min(1).max(200),
    variables: z.record(z.string(), z.string()),
    image: z.string().regex(LOCAL_IMAGE).optional(),
  })
  .strict();

const RedeploySchema = z.object({ image: z.string().regex(LOCAL_IMAGE) }).strict();

/** An operator's (or a test's) container restart: keep the volume, or come back blank. */
const RestartSchema = z.object({ keepVolume: z.boolean() }).strict();

const error = (code: string, message: string) => ({ error: { code, message } });

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = /^Bearer\s+(.+)$/i.exec(header ?? "")?.[1]?.trim();
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function createSupervisorApp(supervisor: ProcessSupervisor, token: string): Hono {
  if (!token) throw new Error("the local supervisor needs a token (LOCAL_SUPERVISOR_TOKEN)");
  const app = new Hono();
  app.use("*", async (c, next) => {
    if (!tokenMatches(c.req.header("authorization"), token)) return c.json(error("unauthorized", "bad supervisor token"), 401);
    await next();
  });

  app.post("/services", async (c) => {
    const parsed = CreateSchema.safeParse(await c.req.json().catch(() => null));
    if (!parsed.success) return c.json(error("invalid_request", parsed.error.issues[0]?.message ?? "bad body"), 400);
    return c.json(await supervisor.create(parsed.data), 201);
  });
  app.get("/services", (c) => c.json({ services: supervisor.list() }));
  app.post("/services/:id/restart", async (c) => {
    const parsed = RestartSchema.safeParse(await c.req.json().catch(() => null));
    if (!parsed.success) return c.json(error("invalid_request", 'body must be {"keepVolume": true|false}'), 400);
    return c.json(await supervisor.restart(c.req.param("id"), parsed.data));
  });
  app.post("/services/:id/redeploy", async (c) => {
    const parsed = RedeploySchema.safeParse(await c.req.json().catch(() => null));
    if (!parsed.success) return c.json(error("invalid_request", 'body must be {"image": "<runtime version label>"}'), 400);
    return c.json(await supervisor.redeploy(c.req.param("id"), parsed.data.image));
  });
  app.delete("/services/:id", (c) => (supervisor.remove(c.req.param("id")) ? c.body(null, 204) : c.json(error("not_found", "no such service"), 404)));

  app.notFound((c) => c.json(error("not_found", `no route ${c.req.method} ${c.req.path}`), 404));
  app.onError((err, c) => {
    if (err instanceof SupervisorError) return c.json(error(err.code, err.message), err.status as 409);
    return c.json(error("internal", err.message), 500);
  });
  return app;
}

export interface SupervisorServer {
  url: string;
  close(): Promise<void>;
}

/** Serves the supervisor on 127.0.0.1 (port 0 picks a free one). */
export async function serveSupervisor(supervisor: ProcessSupervisor, opts: { token: string; port?: number }): Promise<SupervisorServer> {
  const app = createSupervisorApp(supervisor, opts.token);
  const server: ServerType = serve({ fetch: app.fetch, port: opts.port ?? 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve, reject) => {
    server.once("listening", () => resolve());
    server.once("error", reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive sockets from the Worker would hold close() open.
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

// Standalone: `node local/supervisor/server.ts` runs only the supervisor (a Worker elsewhere
// points LOCAL_SUPERVISOR_URL at it). `npm start` embeds it instead.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const token = process.env.LOCAL_SUPERVISOR_TOKEN ?? "";
  const supervisor = new ProcessSupervisor({
    stateRoot: process.env.POOL_INSTANCES_DIR ?? path.join(ROOT, ".local", "instances"),
    log: (line) => console.log(line),
  });
  const server = await serveSupervisor(supervisor, { token, port: Number(process.env.SUPERVISOR_PORT ?? 8790) });
  console.log(`local supervisor on ${server.url} (state under ${supervisor.stateRoot})`);
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await server.close();
    await supervisor.stopAll();
    process.exit(code);
  };
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
  process.on("uncaughtException", (err) => {
    console.error(err);
    void stop(1);
  });
}
