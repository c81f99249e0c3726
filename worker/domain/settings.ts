import { z } from "zod";

/** Operator-tunable pool settings (SPEC §5). Defaults come from wrangler.toml vars. */
export const PoolSettingsSchema = z
  .object({
    minIdle: z.number().int().min(0).max(500),
    maxTotal: z.number().int().min(0).max(10_000),
    maxCreatesPerTick: z.number().int().min(0).max(100),
    tickIntervalMs: z.number().int().min(1_000).max(3_600_000),
    stuckTimeoutMs: z
      .number()
      .int()
      .min(10_000)
      .max(24 * 3_600_000),
    claimTimeoutMs: z.number().int().min(5_000).max(3_600_000),
    breakerThreshold: z.number().int().min(1).max(100),
    breakerBackoffMs: z
      .number()
      .int()
      .min(1_000)
      .max(24 * 3_600_000),
  })
  .strict();

export type PoolSettings = z.infer<typeof PoolSettingsSchema>;

/** A partial update; the merged result must still make sense as a whole. */
export const PoolSettingsPatchSchema = PoolSettingsSchema.partial().strict();
export type PoolSettingsPatch = z.infer<typeof PoolSettingsPatchSchema>;

export function mergeSettings(current: PoolSettings, patch: PoolSettingsPatch): { ok: true; settings: PoolSettings } | { ok: false; field: string; message: string } {
  const merged = { ...current, ...patch };
  if (merged.minIdle > merged.maxTotal) {
    return { ok: false, field: "minIdle", message: `minIdle (${merged.minIdle}) cannot exceed maxTotal (${merged.maxTotal})` };
  }
  return { ok: true, settings: merged };
}

export interface SettingsVars {
  MIN_IDLE?: string;
  MAX_TOTAL?: string;
  MAX_CREATES_PER_TICK?: string;
  TICK_INTERVAL_MS?: string;
  STUCK_TIMEOUT_MS?: string;
  CLAIM_TIMEOUT_MS?: string;
  BREAKER_THRESHOLD?: string;
  BREAKER_BACKOFF_MS?: string;
}

const num = (value: string | undefined, fallback: number) => {
  const n = Number(value);
  return value !== undefined && value !== "" && Number.isFinite(n) ? n : fallback;
};

export function defaultSettings(vars: SettingsVars): PoolSettings {
  return PoolSettingsSchema.parse({
    minIdle: num(vars.MIN_IDLE, 3),
    maxTotal: num(vars.MAX_TOTAL, 10),
    maxCreatesPerTick: num(vars.MAX_CREATES_PER_TICK, 5),
    tickIntervalMs: num(vars.TICK_INTERVAL_MS, 30_000),
    stuckTimeoutMs: num(vars.STUCK_TIMEOUT_MS, 900_000),
    claimTimeoutMs: num(vars.CLAIM_TIMEOUT_MS, 120_000),
    breakerThreshold: num(vars.BREAKER_THRESHOLD, 3),
    breakerBackoffMs: num(vars.BREAKER_BACKOFF_MS, 60_000),
  });
}
