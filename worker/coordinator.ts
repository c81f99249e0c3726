import type { ClaimInput, PoolCoordinator } from "../durable-objects/pool-coordinator";
import { findTemplate } from "./catalog/store";
import { claimInstructions } from "./catalog/instructions";
import { type ClaimResult, isInterruption } from "./domain/claim-outcomes";
import { checkJoinUrl } from "./domain/invite-url";
import { log } from "./lib/log";

/** The one coordinator of this pool (one per environment: each has its own namespace). */
export function coordinator(env: Env): DurableObjectStub<PoolCoordinator> {
  const ns = env.POOL_COORDINATOR as DurableObjectNamespace<PoolCoordinator>;
  return ns.get(ns.idFromName("pool"));
}

/**
 * Read-your-writes for what the Worker reads from D1: a claim's writes reach D1 just after the
 * claim has answered (durable-objects/pool-coordinator/outbox.ts), so a read that must see it
 * asks the coordinator to send what it holds first. Costs one RPC when nothing is waiting.
 */
export async function settled(env: Env): Promise<void> {
  await coordinator(env).settle();
}

/**
 * A claim through the coordinator, the same for every caller (API, admin, catalog):
 * - the join URL is checked and canonicalised here, so the "one agent per conversation" dedupe
 *   and the stored `inviteUrl` see one spelling of each invite;
 * - a template's Notion instructions are read here (the coordinator only knows inline ones),
 *   with the inline text as the fallback;
 * - an RPC that throws an infrastructure error means the coordinator was reset (deploy,
 *   eviction, crash) while it held this claim: whatever it had reserved is finished by the tick, and a
 *   retry with the same key never takes a second agent, so callers answer "retry shortly".
 *   Anything else thrown (a D1 failure, a bug) is an internal error, not an interruption.
 */
export async function claimAgent(env: Env, input: ClaimInput): Promise<ClaimResult> {
  let request = input.request;
  if (request.joinUrl !== undefined) {
    const check = checkJoinUrl(request.joinUrl, env.XMTP_ENV);
    if (!check.ok) return { ok: false, code: "invalid_join_url", problem: check.problem, message: check.message };
    request = { ...request, joinUrl: check.url };
  }
  let template: ClaimInput["template"];
  if (request.template !== undefined) {
    // Read here, once: the coordinator takes it from the claim and makes no D1 read of its own.
    const row = await findTemplate(env.DB, request.template, { publishedOnly: false });
    if (!row) return { ok: false, code: "template_not_found", message: `template "${request.template}" does not exist` };
    template = { slug: row.slug, name: row.name, instructions: row.instructions };
    if (row.notionPageId && request.instructions === undefined) {
      const resolved = await claimInstructions(env, row);
      if (!resolved.ok) return { ok: false, code: "template_unavailable", message: resolved.message, retryAfterSeconds: 300 };
      if (resolved.instructions !== undefined) request = { ...request, instructions: resolved.instructions };
    }
  }
  try {
    return await coordinator(env).claim({ ...input, request, template });
  } catch (err) {
    if (!isInterruption(err)) throw err;
    log.error("claim interrupted by a coordinator reset", { actor: input.actor, error: (err as Error).message });
    return {
      ok: false,
      code: "claim_interrupted",
      message: "the pool restarted while handling this claim; retry it (with the same Idempotency-Key, if you sent one)",
      retryAfterSeconds: 2,
    };
  }
}
