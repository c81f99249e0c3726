import { bearer, FaultPlan, faultResponse, json } from "./faults.ts";

/**
 * AgentMail's inbox API (api.agentmail.to/v0), per the Fern definition in
 * test/support/fixtures/agentmail: `POST /v0/inboxes` → 200 Inbox, `DELETE /v0/inboxes/{id}` →
 * 204, errors `{name, message}` (ValidationError 400, IsTakenError 403, NotFoundError 404).
 * `client_id` makes a create idempotent: the same client id returns the same inbox.
 */
export const AGENTMAIL_HOST = "api.agentmail.to";

interface FakeInbox {
  pod_id: string;
  inbox_id: string;
  email: string;
  display_name?: string;
  client_id?: string;
  created_at: string;
  updated_at: string;
}

const err = (name: string, message: string) => ({ name, message });
const NAMES: Record<number, string> = {
  400: "ValidationError",
  401: "UnauthorizedError",
  403: "IsTakenError",
  404: "NotFoundError",
  409: "ConflictError",
  422: "UnprocessableError",
  429: "TooManyRequestsError",
};

export function createFakeAgentMail(opts: { apiKey: string; domains: string[] }) {
  const faults = new FaultPlan();
  let inboxes = new Map<string, FakeInbox>();

  async function route(request: Request, op: string, id: string | undefined): Promise<Response> {
    if (bearer(request) !== opts.apiKey) return json(err("UnauthorizedError", "Invalid API key"), 401);
    switch (op) {
      case "POST /v0/inboxes": {
        const text = await request.text();
        let body: Record<string, unknown> = {};
        try {
          body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
        } catch {
          return json({ ...err("ValidationError", "Body is not valid JSON"), errors: [] }, 400);
        }
        const username = body.username as string | undefined;
        const domain = (body.domain as string | undefined) ?? "agentmail.to";
        if (username !== undefined && !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(username)) {
          return json({ ...err("ValidationError", "Invalid username"), errors: [{ path: ["username"], message: "Invalid username" }] }, 400);
        }
        if (domain !== "agentmail.to" && !opts.domains.includes(domain)) return json(err("NotFoundError", "Domain not found"), 404);
        const email = `${username ?? `inbox${inboxes.size + 1}`}@${domain}`;
        const existing = inboxes.get(email);
        if (existing) {
          if (body.client_id !== undefined && existing.client_id === body.client_id) return json(existing);
          return json(err("IsTakenError", "Inbox already exists"), 403);
        }
        const now = new Date().toISOString();
        const inbox: FakeInbox = {
          pod_id: "pod_fake",
          inbox_id: email,
          email,
          ...(body.display_name ? { display_name: body.display_name as string } : {}),
          ...(body.client_id ? { client_id: body.client_id as string } : {}),
          created_at: now,
          updated_at: now,
        };
        inboxes.set(email, inbox);
        return json(inbox);
      }
      case "GET /v0/inboxes/{inbox_id}": {
        const inbox = inboxes.get(id!);
        return inbox ? json(inbox) : json(err("NotFoundError", "Inbox not found"), 404);
      }
      case "DELETE /v0/inboxes/{inbox_id}":
        return inboxes.delete(id!) ? new Response(null, { status: 204 }) : json(err("NotFoundError", "Inbox not found"), 404);
      default:
        return json(err("NotFoundError", "Not found"), 404);
    }
  }

  return {
    host: AGENTMAIL_HOST,
    faults,
    async fetch(request: Request): Promise<Response> {
      const url = new URL(request.url);
      const m = /^\/v0\/inboxes\/([^/]+)$/.exec(url.pathname);
      const op = url.pathname === "/v0/inboxes" ? `${request.method} /v0/inboxes` : m ? `${request.method} /v0/inboxes/{inbox_id}` : `${request.method} ${url.pathname}`;
      const epoch = faults.epoch;
      const rule = faults.take(op);
      if (rule) {
        const res = await faultResponse(rule, (s) => err(NAMES[s] ?? "InternalServerError", "injected failure"));
        if (res) {
          faults.record(op, res.status, epoch);
          return res;
        }
        // A delayed call that outlived its test must not change the next test's state.
        if (epoch !== faults.epoch) return new Response(null, { status: 503 });
      }
      const res = await route(request, op, m ? decodeURIComponent(m[1]!) : undefined);
      faults.record(op, res.status, epoch);
      return res;
    },
    reset() {
      inboxes = new Map();
      faults.reset();
    },
    state() {
      return { inboxes: [...inboxes.values()], calls: faults.calls };
    },
  };
}
