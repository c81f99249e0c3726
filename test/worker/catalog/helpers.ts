import { env } from "cloudflare:workers";
import type { ClaimInput, ClaimOutcome } from "../../../durable-objects/pool-coordinator/outcomes";
import { app } from "../../../worker/app";
import { api } from "../helpers";

export const ORIGIN = "https://pool.test";

export interface FormOptions {
  /** The client's address as Cloudflare reports it. */
  ip?: string;
  /** The page the form was posted from; a browser always sends it on a form post. */
  origin?: string | null;
  /** Vars and bindings layered over the test environment (rate limits, challenge, fakes). */
  env?: Partial<Env> & Record<string, unknown>;
}

/** A browser form post to a catalog page. */
export function postForm(path: string, fields: Record<string, string>, opts: FormOptions = {}): Promise<Response> {
  const headers: Record<string, string> = {};
  if (opts.origin !== null) headers.origin = opts.origin ?? ORIGIN;
  if (opts.ip) headers["cf-connecting-ip"] = opts.ip;
  const init = { method: "POST", auth: false as const, headers, body: new URLSearchParams(fields) };
  if (opts.env) return withEnv(opts.env, path, init);
  return api(path, init);
}

export function getPage(path: string, opts: { env?: FormOptions["env"] } = {}): Promise<Response> {
  if (opts.env) return withEnv(opts.env, path, { method: "GET" });
  return api(path, { auth: false });
}

/** The Worker's app with some vars or bindings replaced, for configuration-dependent behaviour. */
export function withEnv(overrides: Record<string, unknown>, path: string, init: RequestInit = {}): Promise<Response> {
  const { auth: _auth, ...rest } = init as RequestInit & { auth?: unknown };
  return Promise.resolve(app.fetch(new Request(`${ORIGIN}${path}`, rest), { ...env, ...overrides } as Env, fakeCtx));
}

const fakeCtx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;

/** The hidden attempt id of a rendered form. */
export function attemptOf(html: string, form: "start-form" | "join-form" | "retry-form"): string {
  const at = html.indexOf(`id="${form}"`);
  const m = /name="attempt" value="([^"]+)"/.exec(html.slice(at));
  if (at < 0 || !m) throw new Error(`no attempt in ${form}`);
  return m[1]!;
}

export const DEV_INVITE = "https://dev.convos.org/v2?i=abcdefgh1234567890";
export const PROD_INVITE = "https://popup.convos.org/v2?i=abcdefgh1234567890";

/** A coordinator stand-in that records what the catalog asked for and answers `outcome`. */
export function recordingCoordinator(outcome: ClaimOutcome) {
  const calls: ClaimInput[] = [];
  const stub = {
    claim: async (input: ClaimInput) => {
      calls.push(input);
      return outcome;
    },
  };
  return { calls, binding: { idFromName: () => ({}), get: () => stub } as unknown as Env["POOL_COORDINATOR"] };
}

export const CLAIMED: ClaimOutcome = {
  ok: true,
  replayed: false,
  claim: { instanceId: "i-test", conversationId: "conv-1", inviteUrl: "https://dev.convos.org/v2?i=testinvite123", joined: false, status: "created", agentName: "Trip Planner" },
};
