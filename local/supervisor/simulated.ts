import { Hono } from "hono";
import { checkInviteUrl, decodeUtf8, firstIssue, INVITE_HOSTS, PROVISION_BODY_MAX_BYTES, ProvisionRequestSchema } from "../../runtime-container/contract/pool-runtime.ts";
import { IMAGE_SKILL_GATES, instanceCapabilities } from "../../runtime-container/src/capabilities.ts";
import type { CreateServiceRequest, LocalService, LocalServiceStatus } from "./protocol.ts";

/**
 * A simulated container host: services are records in memory and each "instance" answers the
 * runtime's HTTP contract (/pool/health, /pool/provision, /convos/status) under
 * `<baseUrl>/instances/<id>`. It stands in for real runtime processes when they are not
 * wanted (unit suites, benchmarks) and carries the fault switches tests drive through
 * `/_control/*`.
 */
export interface SimulatedOptions {
  token: string;
  /** Public base URL of this supervisor (a function when the port is known only after listening). */
  baseUrl: string | (() => string);
  readyDelayMs?: number;
  xmtpEnv?: "dev" | "production";
}

export interface Faults {
  /** The next N creates answer 500. */
  failCreates: number;
  /** New services never leave `starting`. */
  stickInStarting: boolean;
  /** Health answers with this status and a non-JSON body. */
  healthGarbage: boolean;
  /** Health never answers (the pool's timeout must cut it). */
  healthHang: boolean;
  provisionDelayMs: number;
  /** Provision answers with this HTTP status instead of succeeding. */
  provisionStatus: number | null;
  /** After a failed provision, /convos/status reports the instance as not clean. */
  dirtyAfterFailedProvision: boolean;
  listFails: boolean;
  /** Provisions with a joinUrl end in `pending_acceptance` (the creator must accept; see /_control/services/:id/join). */
  joinPending: boolean;
  /** Images (runtime version labels) whose runtime dies at boot: a broken release. */
  badImages: string[];
}

/**
 * One instance misbehaving, as a process can: `hang` is a stopped process (SIGSTOP: nothing
 * answers), `refuse` a dead one (connection refused), `not_ready` a front server whose gateway
 * died (503 not_ready until it is back).
 */
export type InstanceFault = "hang" | "refuse" | "not_ready" | null;

interface SimInstance {
  service: LocalService;
  instanceId: string;
  variables: Record<string, string>;
  /** The runtime version label it was started with (null: the runtime's own). */
  image: string | null;
  /** Every (re)deploy's image, oldest first: how a test sees an upgrade and its rollback. */
  deploys: (string | null)[];
  readyAt: number;
  conversationId: string | null;
  inviteUrl: string | null;
  dirty: boolean;
  messages: string[];
  fault: InstanceFault;
  /** The conversation stream; down means the instance is bound but deaf. */
  streaming: boolean;
  /** A join waiting for the creator's acceptance. */
  pending: boolean;
}

const noFaults = (): Faults => ({
  failCreates: 0,
  stickInStarting: false,
  healthGarbage: false,
  healthHang: false,
  provisionDelayMs: 0,
  provisionStatus: null,
  dirtyAfterFailedProvision: false,
  listFails: false,
  joinPending: false,
  badImages: [],
});

const blank = () => ({ conversationId: null, inviteUrl: null, dirty: false, messages: [], fault: null, streaming: true, pending: false });

export function createSimulatedSupervisor(options: SimulatedOptions) {
  const services = new Map<string, SimInstance>();
  let faults = noFaults();
  let seq = 0;
  const calls: Record<string, number> = {};
  const count = (name: string) => (calls[name] = (calls[name] ?? 0) + 1);
  const base = () => (typeof options.baseUrl === "function" ? options.baseUrl() : options.baseUrl);
  const inviteHost = INVITE_HOSTS[options.xmtpEnv ?? "dev"];

  const statusOf = (inst: SimInstance): LocalServiceStatus => {
    if (inst.service.status === "exited" || inst.service.status === "failed") return inst.service.status;
    if (inst.image !== null && faults.badImages.includes(inst.image)) return "failed";
    return !faults.stickInStarting && Date.now() >= inst.readyAt ? "running" : "starting";
  };
  const view = (inst: SimInstance): LocalService => ({ ...inst.service, status: statusOf(inst) });

  const app = new Hono();
  const json = (status: number, code: string, message: string) => new Response(JSON.stringify({ error: { code, message } }), { status, headers: { "content-type": "application/json" } });

  // --- supervisor API --------------------------------------------------------------------
  app.use("/services/*", async (c, next) => {
    if (c.req.header("authorization") !== `Bearer ${options.token}`) return json(401, "unauthorized", "bad supervisor token");
    await next();
  });
  app.use("/services", async (c, next) => {
    if (c.req.header("authorization") !== `Bearer ${options.token}`) return json(401, "unauthorized", "bad supervisor token");
    await next();
  });

  app.post("/services", async (c) => {
    count("create");
    const body = (await c.req.json()) as CreateServiceRequest;
    if (faults.failCreates > 0) {
      faults.failCreates--;
      return json(500, "create_failed", "simulated create failure");
    }
    if ([...services.values()].some((s) => s.service.name === body.name)) return json(409, "exists", `service ${body.name} exists`);
    const id = `sim-${++seq}`;
    const inst: SimInstance = {
      service: { id, name: body.name, url: `${base()}/instances/${id}`, status: "starting" },
      instanceId: body.instanceId,
      variables: body.variables,
      image: body.image ?? null,
      deploys: [body.image ?? null],
      readyAt: Date.now() + (options.readyDelayMs ?? 0),
      ...blank(),
    };
    services.set(id, inst);
    return c.json(view(inst), 201);
  });

  app.get("/services", (c) => {
    count("list");
    if (faults.listFails) return json(503, "unavailable", "simulated list failure");
    return c.json({ services: [...services.values()].map(view) });
  });

  /** A redeploy on another image keeps the instance's volume: its conversation survives. */
  app.post("/services/:id/redeploy", async (c) => {
    count("redeploy");
    const inst = services.get(c.req.param("id"));
    if (!inst) return json(404, "not_found", "no such service");
    const body = (await c.req.json().catch(() => ({}))) as { image?: unknown };
    if (typeof body.image !== "string" || body.image === "") return json(400, "invalid_request", 'body must be {"image": "<label>"}');
    inst.image = body.image;
    inst.deploys.push(body.image);
    inst.fault = null;
    inst.streaming = true;
    inst.service.status = "starting";
    inst.readyAt = Date.now() + (options.readyDelayMs ?? 0);
    return c.json(view(inst));
  });

  app.delete("/services/:id", (c) => {
    count("destroy");
    return services.delete(c.req.param("id")) ? c.body(null, 204) : json(404, "not_found", "no such service");
  });

  // --- the instances' own HTTP surface ----------------------------------------------------
  const instanceOf = (id: string) => {
    const inst = services.get(id);
    return inst && statusOf(inst) !== "exited" && statusOf(inst) !== "failed" ? inst : undefined;
  };
  const authorized = (inst: SimInstance, header: string | undefined) => header === `Bearer ${inst.variables.GATEWAY_TOKEN}`;

  app.get("/instances/:id/pool/health", async (c) => {
    count("health");
    const inst = instanceOf(c.req.param("id"));
    if (!inst) return json(502, "bad_gateway", "no such instance");
    if (faults.healthHang) await new Promise(() => {});
    if (inst.fault === "not_ready") return c.json({ ready: false, reason: "gateway restarting" }, 503);
    if (faults.healthGarbage) return c.body("<html>oops</html>", 200);
    if (statusOf(inst) !== "running") return c.json({ ready: false, reason: "gateway starting" }, 503);
    // What the real runtime would report with these variables, decided by its own code.
    const capabilities = instanceCapabilities({ config: {}, gates: IMAGE_SKILL_GATES, env: inst.variables, hasBin: () => true });
    return c.json({ ready: true, version: inst.image ?? "sim-1", bound: inst.conversationId !== null, capabilities });
  });

  app.post("/instances/:id/pool/provision", async (c) => {
    count("provision");
    const inst = instanceOf(c.req.param("id"));
    if (!inst) return json(502, "bad_gateway", "no such instance");
    if (!authorized(inst, c.req.header("authorization"))) return json(401, "unauthorized", "bad gateway token");
    if (inst.fault === "not_ready") return json(503, "not_ready", "gateway restarting");
    if (faults.provisionDelayMs) await new Promise((r) => setTimeout(r, faults.provisionDelayMs));
    if (faults.provisionStatus) {
      if (faults.dirtyAfterFailedProvision) inst.dirty = true;
      return json(faults.provisionStatus, "simulated", `simulated provision failure ${faults.provisionStatus}`);
    }
    if (inst.conversationId || inst.pending) return json(409, "already_bound", "instance is already bound to a conversation");
    // The same contract the real front server checks: a body the pool sends here is one a real instance takes.
    const bytes = await c.req.arrayBuffer();
    if (bytes.byteLength > PROVISION_BODY_MAX_BYTES) return json(413, "payload_too_large", `request body exceeds ${PROVISION_BODY_MAX_BYTES} bytes`);
    const text = decodeUtf8(bytes);
    if (text === null) return json(400, "invalid_utf8", "request body is not valid UTF-8");
    const parsed = ProvisionRequestSchema.safeParse(JSON.parse(text || "{}"));
    if (!parsed.success) return json(400, "invalid_request", firstIssue(parsed.error));
    const body = parsed.data;
    if (body.joinUrl !== undefined) {
      const invite = checkInviteUrl(body.joinUrl, options.xmtpEnv ?? "dev");
      if (!invite.ok) return json(400, "invalid_request", invite.message);
    }
    inst.dirty = true;
    if (body.joinUrl && faults.joinPending) {
      inst.pending = true;
      return c.json({ status: "pending_acceptance", conversationId: null, inviteUrl: body.joinUrl, joined: false });
    }
    inst.conversationId = `conv-${inst.service.id}-${Math.random().toString(36).slice(2, 10)}`;
    if (body.joinUrl) {
      // As the front server: a join answers with the invite it joined.
      return c.json({ status: "joined", conversationId: inst.conversationId, inviteUrl: body.joinUrl, joined: true });
    }
    inst.inviteUrl = `https://${inviteHost}/v2?i=${inst.conversationId}sig`;
    return c.json({ status: "created", conversationId: inst.conversationId, inviteUrl: inst.inviteUrl, joined: false });
  });

  app.get("/instances/:id/convos/status", (c) => {
    count("status");
    const inst = instanceOf(c.req.param("id"));
    if (!inst) return json(502, "bad_gateway", "no such instance");
    if (!authorized(inst, c.req.header("authorization"))) return json(401, "unauthorized", "bad gateway token");
    return c.json({
      conversationId: inst.conversationId,
      inboxId: `inbox-${inst.service.id}`,
      pending: inst.pending,
      clean: inst.conversationId === null && !inst.dirty,
      streaming: inst.conversationId !== null && inst.streaming,
    });
  });

  // --- test control -----------------------------------------------------------------------
  app.put("/_control/faults", async (c) => {
    faults = { ...noFaults(), ...((await c.req.json()) as Partial<Faults>) };
    return c.json(faults);
  });
  /** A test's action on one service: 404 for an unknown id, else the service as it now is. */
  const control = (action: string, apply: (inst: SimInstance, body: Record<string, unknown>) => Response | void) =>
    app.post(`/_control/services/:id/${action}`, async (c) => {
      const inst = services.get(c.req.param("id"));
      if (!inst) return json(404, "not_found", "no such service");
      return apply(inst, (await c.req.json().catch(() => ({}))) as Record<string, unknown>) ?? c.json(view(inst));
    });
  control("crash", (inst) => void (inst.service.status = "failed"));
  app.post("/_control/services/:id/vanish", (c) => (services.delete(c.req.param("id")) ? c.body(null, 204) : json(404, "not_found", "no such service")));
  control("bind", (inst, body) => void (inst.conversationId = body.conversationId as string));
  control("fault", (inst, body) => void (inst.fault = body.fault as InstanceFault));
  control("stream", (inst, body) => void (inst.streaming = body.up as boolean));
  /** The conversation's creator answers a pending join. */
  control("join", (inst, body) => {
    if (!inst.pending) return json(404, "not_found", "no pending join on this service");
    inst.pending = false;
    if (body.accept) inst.conversationId = `conv-${inst.service.id}-accepted`;
  });
  /**
   * A container restart: with its volume it comes back with the same conversation (its stream
   * reconnects); without it, blank, as a fresh instance that has never been provisioned.
   */
  control("restart", (inst, body) => {
    if (!body.keepVolume) Object.assign(inst, blank());
    inst.fault = null;
    inst.streaming = true;
    inst.service.status = "starting";
    inst.readyAt = Date.now() + (options.readyDelayMs ?? 0);
  });
  /** A service with the pool's naming prefix that no row knows: what a crash mid-create leaves. */
  app.post("/_control/orphans", async (c) => {
    const { name } = (await c.req.json()) as { name: string };
    const id = `sim-${++seq}`;
    services.set(id, {
      service: { id, name, url: `${base()}/instances/${id}`, status: "running" },
      instanceId: name,
      variables: {},
      image: null,
      deploys: [null],
      readyAt: 0,
      ...blank(),
    });
    return c.json({ id }, 201);
  });
  app.get("/_control/state", (c) =>
    c.json({
      services: [...services.values()].map((s) => ({
        ...view(s),
        conversationId: s.conversationId,
        instanceId: s.instanceId,
        pending: s.pending,
        gatewayToken: s.variables.GATEWAY_TOKEN ?? null,
        image: s.image,
        deploys: s.deploys,
      })),
      calls,
      faults,
    }),
  );
  app.post("/_control/reset", (c) => {
    services.clear();
    faults = noFaults();
    for (const k of Object.keys(calls)) delete calls[k];
    return c.body(null, 204);
  });

  /** A refusing instance never gets as far as an HTTP answer: the caller's fetch fails. */
  const refused = (req: Request) => {
    const id = /^\/instances\/([^/]+)\//.exec(new URL(req.url).pathname)?.[1];
    return id !== undefined && services.get(id)?.fault === "refuse";
  };
  const hung = (req: Request) => {
    const id = /^\/instances\/([^/]+)\//.exec(new URL(req.url).pathname)?.[1];
    return id !== undefined && services.get(id)?.fault === "hang";
  };
  return {
    app,
    fetch: async (req: Request): Promise<Response> => {
      if (refused(req)) throw new TypeError("connect ECONNREFUSED (simulated: the instance's process is gone)");
      if (hung(req)) return new Promise<Response>(() => {});
      return app.fetch(req);
    },
  };
}
