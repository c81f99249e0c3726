import { z } from "zod";
import type { InstanceRow } from "../../db/schema";
import { log } from "../../lib/log";
import { ProviderError } from "../compute/types";
import { createHttpClient, type HttpTuning } from "../http";
import type { InstanceResource } from "../resources";

/**
 * OpenRouter key management (https://openrouter.ai/api/v1/keys, management key): one key per
 * instance with a monthly spending limit. Only the key's hash is stored; the key itself goes
 * straight into the instance's variables.
 */
export const OPENROUTER_BASE_URL = "https://openrouter.ai";

const ApiKeySchema = z.object({
  hash: z.string(),
  name: z.string(),
  disabled: z.boolean(),
  limit: z.number().nullable(),
  limit_remaining: z.number().nullable(),
  limit_reset: z.string().nullable(),
  usage: z.number(),
  usage_daily: z.number(),
  usage_weekly: z.number(),
  usage_monthly: z.number(),
  created_at: z.string(),
});
const CreateKeyResponseSchema = z.object({ data: ApiKeySchema, key: z.string().min(1) });
const KeyResponseSchema = z.object({ data: ApiKeySchema });
const KeyListSchema = z.object({ data: z.array(ApiKeySchema) });

export interface KeyUsage {
  /** USD spent this month, the figure the monthly limit applies to. */
  usageMonthly: number;
  usageTotal: number;
  limit: number | null;
  limitRemaining: number | null;
  limitReset: string | null;
  disabled: boolean;
}

function keyUsage(k: z.infer<typeof ApiKeySchema>): KeyUsage {
  return { usageMonthly: k.usage_monthly, usageTotal: k.usage, limit: k.limit, limitRemaining: k.limit_remaining, limitReset: k.limit_reset, disabled: k.disabled };
}

export function createOpenRouterClient(opts: { managementKey: string } & HttpTuning) {
  const http = createHttpClient({ provider: "openrouter", baseUrl: OPENROUTER_BASE_URL, headers: { authorization: `Bearer ${opts.managementKey}` }, ...opts });

  return {
    async createKey(name: string, limitUsd: number): Promise<{ key: string; hash: string }> {
      const res = await http.request({
        method: "POST",
        path: "/api/v1/keys",
        body: { name, limit: limitUsd, limit_reset: "monthly" },
        schema: CreateKeyResponseSchema,
        what: "create key",
      });
      return { key: res.data.key, hash: res.data.data.hash };
    },
    /** Deletes a key; one that is already gone counts as deleted. */
    async deleteKey(hash: string): Promise<void> {
      await http.request({ method: "DELETE", path: `/api/v1/keys/${encodeURIComponent(hash)}`, accept: [404], what: "delete key" });
    },
    async usage(hash: string): Promise<KeyUsage | null> {
      const res = await http.request({ method: "GET", path: `/api/v1/keys/${encodeURIComponent(hash)}`, schema: KeyResponseSchema, accept: [404], what: "read key" });
      return res.status === 404 ? null : keyUsage(res.data.data);
    },
    /** Sets the key's spending limit (USD); null when OpenRouter no longer knows the key. */
    async setLimit(hash: string, limitUsd: number): Promise<KeyUsage | null> {
      const res = await http.request({
        method: "PATCH",
        path: `/api/v1/keys/${encodeURIComponent(hash)}`,
        body: { limit: limitUsd },
        schema: KeyResponseSchema,
        accept: [404],
        what: "update key limit",
      });
      return res.status === 404 ? null : keyUsage(res.data.data);
    },
    /** Hashes of the keys with this exact name (a create whose answer was lost still left one). */
    async findKeysByName(name: string): Promise<string[]> {
      const found: string[] = [];
      for (let offset = 0, page = 0; page < 50; page++) {
        const res = await http.request({ method: "GET", path: "/api/v1/keys", query: { offset, include_disabled: "true" }, schema: KeyListSchema, what: "list keys" });
        for (const k of res.data.data) if (k.name === name) found.push(k.hash);
        if (res.data.data.length === 0) break;
        offset += res.data.data.length;
      }
      return found;
    },
  };
}

export type OpenRouterClient = ReturnType<typeof createOpenRouterClient>;

export function openRouterResource(client: OpenRouterClient, settings: { limitUsd: number | (() => number); model: string }): InstanceResource {
  return {
    name: "openrouter",
    async provision(row, record) {
      // Read at create time, so a bad setting fails creates with its message (shown on the
      // breaker) instead of breaking every route that merely lists the providers.
      const limit = typeof settings.limitUsd === "function" ? settings.limitUsd() : settings.limitUsd;
      const { key, hash } = await client.createKey(row.serviceName, limit);
      try {
        await record({ openrouterKeyHash: hash });
      } catch (err) {
        // Not recorded means cleanup could not find it: revoke it here.
        await client.deleteKey(hash).catch((e) => log.warn("openrouter key left behind", { instanceId: row.id, error: (e as Error).message }));
        throw err;
      }
      return { OPENROUTER_API_KEY: key, ...(settings.model ? { OPENCLAW_PRIMARY_MODEL: settings.model } : {}) };
    },
    async release(row: InstanceRow) {
      if (row.openrouterKeyHash) {
        await client.deleteKey(row.openrouterKeyHash);
        return { openrouterKeyHash: null };
      }
      // No hash recorded: the create may still have made a key before its answer was lost.
      for (const hash of await client.findKeysByName(row.serviceName)) await client.deleteKey(hash);
      return {};
    },
  };
}

export function openRouterFromEnv(env: Env, tuning: HttpTuning = {}): OpenRouterClient | null {
  return env.OPENROUTER_MANAGEMENT_KEY ? createOpenRouterClient({ managementKey: env.OPENROUTER_MANAGEMENT_KEY, ...tuning }) : null;
}

export function keyLimitUsd(env: Env): number {
  const n = Number(env.OPENROUTER_KEY_LIMIT_USD);
  if (env.OPENROUTER_KEY_LIMIT_USD && !(Number.isFinite(n) && n > 0)) {
    throw new ProviderError("openrouter", `OPENROUTER_KEY_LIMIT_USD must be a positive number of dollars, got "${env.OPENROUTER_KEY_LIMIT_USD}"`);
  }
  return env.OPENROUTER_KEY_LIMIT_USD ? n : 20;
}

/** A key's usage in the pool's API units (dollars, named as such). */
export const usageFigures = (u: KeyUsage) => ({
  usageMonthlyUsd: u.usageMonthly,
  usageTotalUsd: u.usageTotal,
  limitUsd: u.limit,
  limitRemainingUsd: u.limitRemaining,
  limitReset: u.limitReset,
  disabled: u.disabled,
});

export type InstanceUsage =
  | { usageMonthlyUsd: number; usageTotalUsd: number; limitUsd: number | null; limitRemainingUsd: number | null; limitReset: string | null; disabled: boolean }
  | { error: string };

/**
 * The instance's OpenRouter spend for the instance API: null when it has no key (or OpenRouter
 * is off); an `error` instead of failing the whole response when OpenRouter cannot be read.
 */
export async function instanceUsage(env: Env, hash: string | null): Promise<InstanceUsage | null> {
  if (!hash) return null;
  // Short and barely retried: an operator is waiting on this page.
  const client = openRouterFromEnv(env, { timeoutMs: 5_000, retries: 1, baseDelayMs: 200 });
  if (!client) return null;
  try {
    const u = await client.usage(hash);
    if (!u) return { error: "the key no longer exists at OpenRouter" };
    return usageFigures(u);
  } catch (err) {
    log.warn("openrouter usage unavailable", { error: (err as Error).message });
    return { error: "OpenRouter usage could not be read right now" };
  }
}
