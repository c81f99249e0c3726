import type { FC } from "hono/jsx";
import type { PoolSettings } from "../../domain/settings";
import { duration } from "../format";
import { CsrfField, FieldError, type Flash, invalidAttrs, Layout, type PageContext } from "../layout";
import type { FormState } from "./common";

export const SETTINGS_FIELDS: { key: keyof PoolSettings; label: string; hint: string; ms?: boolean }[] = [
  { key: "minIdle", label: "Minimum ready instances (minIdle)", hint: "The tick keeps at least this many instances ready." },
  { key: "maxTotal", label: "Maximum instances (maxTotal)", hint: "Creating, starting, ready, claiming and claimed together never exceed this." },
  { key: "maxCreatesPerTick", label: "Creates per tick (maxCreatesPerTick)", hint: "At most this many new instances per tick." },
  { key: "tickIntervalMs", label: "Tick interval (ms)", hint: "How often the pool reconciles.", ms: true },
  { key: "stuckTimeoutMs", label: "Boot timeout (stuckTimeoutMs)", hint: "Creating or starting longer than this → dead.", ms: true },
  { key: "claimTimeoutMs", label: "Claim timeout (claimTimeoutMs)", hint: "Claiming longer than this → crashed.", ms: true },
  { key: "breakerThreshold", label: "Breaker threshold", hint: "Consecutive failed creates that open the breaker." },
  { key: "breakerBackoffMs", label: "Breaker backoff (ms)", hint: "First backoff once open; doubles on every failed probe.", ms: true },
];

export const SettingsPage: FC<{ ctx: PageContext; settings: PoolSettings; form?: FormState; flash?: Flash | null }> = ({ ctx, settings, form, flash }) => (
  <Layout ctx={ctx} title="Settings" flash={flash}>
    <section class="card">
      <h1>Pool settings</h1>
      {form?.error ? (
        <p class="field-error" role="alert">
          {form.error}
        </p>
      ) : null}
      <form method="post" action="/admin/settings" novalidate>
        <CsrfField ctx={ctx} />
        <div class="grid">
          {SETTINGS_FIELDS.map((f) => {
            const id = `setting-${f.key}`;
            const error = form?.errors[f.key];
            return (
              <div>
                <label for={id}>{f.label}</label>
                <input id={id} name={f.key} inputmode="numeric" value={form?.values[f.key] ?? String(settings[f.key])} {...invalidAttrs(id, error)} />
                <FieldError id={id} error={error} />
                <p class="hint">
                  {f.hint}
                  {f.ms ? ` Now ${duration(settings[f.key])}.` : ""}
                </p>
              </div>
            );
          })}
        </div>
        <div class="form-actions">
          <button type="submit">Save settings</button>
          <a class="button secondary" href="/admin">
            Cancel
          </a>
        </div>
      </form>
    </section>
  </Layout>
);
