import type { z } from "zod";
import { ProviderError } from "../compute/types";
import type { TokenBucket } from "./token-bucket";
import { perCallDeadlines, timeoutSignal } from "../../lib/deadlines";

export { TokenBucket, type TokenBucketOptions } from "./token-bucket";

/**
 * The one way provider clients talk HTTP: a timeout on every call, retries with jittered
 * exponential backoff on 429/5xx/network failures, `Retry-After` honoured, an optional token
 * bucket, zod-validated bodies, and error messages scrubbed of every secret the client knows.
 */
export interface HttpClientOptions {
  provider: string;
  baseUrl: string;
  /** Sent on every request (auth, versions). Auth-like ones (authorization, *key*, *token*) are treated as secrets. */
  headers: Record<string, string>;
  /** Extra strings that must never appear in an error message or log line. */
  secrets?: string[];
  fetch?: typeof fetch;
  timeoutMs?: number;
  /** Retries after the first attempt. */
  retries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /**
   * A Retry-After longer than this is not waited out inside the call: the call fails now
   * (retryable) and the limiter refuses further calls until then, so the next tick retries
   * instead of a request sitting on a DO for minutes.
   */
  maxRetryAfterMs?: number;
  limiter?: TokenBucket;
  sleep?: (ms: number) => Promise<void>;
}

export interface RequestSpec<S extends z.ZodType | undefined> {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Schema of a successful (2xx) body. */
  schema?: S;
  /** Statuses handed back to the caller instead of thrown (e.g. 404 on delete, 409 on order). */
  accept?: number[];
  /**
   * Whether the request may be repeated after an ambiguous failure (5xx, timeout). A 429 is
   * always retried: the provider refused the request before doing anything.
   */
  idempotent?: boolean;
  /** What the call does, for error messages ("create key"). */
  what: string;
}

export interface HttpResult<T> {
  status: number;
  headers: Headers;
  /** The validated body for 2xx answers; the raw parsed body (or null) for accepted non-2xx ones. */
  data: T;
}

const RETRYABLE = (status: number) => status === 429 || status >= 500;

export function createHttpClient(opts: HttpClientOptions) {
  const doFetch = opts.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const retries = opts.retries ?? 3;
  const baseDelay = opts.baseDelayMs ?? 250;
  const maxDelay = opts.maxDelayMs ?? 8_000;
  const maxRetryAfter = opts.maxRetryAfterMs ?? 10_000;
  const base = opts.baseUrl.replace(/\/$/, "");
  const secrets = [
    ...Object.entries(opts.headers)
      .filter(([k]) => /authorization|key|token|secret/i.test(k))
      .map(([, v]) => v),
    ...(opts.secrets ?? []),
  ]
    .flatMap((v) => [v, v.replace(/^Bearer\s+/i, "")])
    .filter((v) => v.length >= 6);
  const scrub = (text: string) => scrubSecrets(text, secrets);
  const fail = (message: string, status?: number, retryable = false) => new ProviderError(opts.provider, scrub(message), status, retryable);

  async function request<S extends z.ZodType | undefined = undefined>(spec: RequestSpec<S>): Promise<HttpResult<S extends z.ZodType ? z.infer<S> : unknown>> {
    // Each attempt's timeout ends with the request, body read and all: one left armed would hold
    // one of the 10,000 timers a Durable Object's I/O context may have (worker/lib/deadlines.ts).
    const timeouts: (() => void)[] = [];
    try {
      return await attempts(spec, timeouts);
    } finally {
      for (const clear of timeouts) clear();
    }
  }

  async function attempts<S extends z.ZodType | undefined>(spec: RequestSpec<S>, timeouts: (() => void)[]): Promise<HttpResult<S extends z.ZodType ? z.infer<S> : unknown>> {
    const url = new URL(base + spec.path);
    for (const [k, v] of Object.entries(spec.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const idempotent = spec.idempotent ?? (spec.method === "GET" || spec.method === "DELETE" || spec.method === "PUT");
    const label = `${spec.what} (${spec.method} ${spec.path})`;

    for (let attempt = 0; ; attempt++) {
      if (opts.limiter) {
        const denied = await opts.limiter.take();
        if (denied) throw fail(`${label} not sent: ${denied}`, 429, true);
      }
      let res: Response;
      const timeout = timeoutSignal(perCallDeadlines, opts.timeoutMs ?? 15_000);
      timeouts.push(timeout.clear);
      try {
        res = await doFetch(url.toString(), {
          method: spec.method,
          headers: {
            accept: "application/json",
            ...(spec.body !== undefined ? { "content-type": "application/json" } : {}),
            ...opts.headers,
            ...spec.headers,
          },
          body: spec.body !== undefined ? JSON.stringify(spec.body) : undefined,
          signal: timeout.signal,
        });
      } catch (err) {
        const timedOut = (err as Error).name === "TimeoutError" || (err as Error).name === "AbortError";
        const message = `${label} ${timedOut ? `timed out after ${opts.timeoutMs ?? 15_000} ms` : `failed: ${(err as Error).message}`}`;
        // A request that may have reached the provider is only repeated when repeating is harmless.
        if (idempotent && attempt < retries) {
          await sleep(backoff(attempt, baseDelay, maxDelay));
          continue;
        }
        throw fail(message, undefined, true);
      }

      opts.limiter?.observe(res.headers, res.status);
      if (res.ok || spec.accept?.includes(res.status)) {
        const text = await res.text();
        let body: unknown = null;
        if (text.trim() !== "") {
          try {
            body = JSON.parse(text);
          } catch {
            if (res.ok && spec.schema) throw fail(`${label} answered ${res.status} with a body that is not JSON`, res.status);
          }
        }
        if (!res.ok || !spec.schema) return { status: res.status, headers: res.headers, data: body as never };
        const parsed = spec.schema.safeParse(body);
        if (!parsed.success) {
          // Paths only, never values: a response body can hold a freshly minted key.
          const where = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`);
          throw fail(`${label} answered ${res.status} with an unexpected body (${where.join("; ")})`, res.status);
        }
        return { status: res.status, headers: res.headers, data: parsed.data as never };
      }

      const detail = await errorDetail(res);
      const retryable = RETRYABLE(res.status);
      if (retryable && attempt < retries && (idempotent || res.status === 429)) {
        const retryAfter = retryAfterMs(res.headers);
        if (retryAfter !== null && retryAfter > maxRetryAfter) {
          opts.limiter?.blockFor(retryAfter);
          throw fail(`${label} answered ${res.status}${detail}; provider asks to wait ${Math.ceil(retryAfter / 1000)} s`, res.status, true);
        }
        await sleep(retryAfter ?? backoff(attempt, baseDelay, maxDelay));
        continue;
      }
      if (res.status === 429) {
        const retryAfter = retryAfterMs(res.headers);
        if (retryAfter !== null) opts.limiter?.blockFor(retryAfter);
      }
      throw fail(`${label} answered ${res.status}${detail}`, res.status, retryable);
    }
  }

  return { request, scrub };
}

export type HttpClient = ReturnType<typeof createHttpClient>;

/** Full jitter: a random wait up to the exponential cap, so retrying clients spread out. */
export function backoff(attempt: number, baseMs: number, maxMs: number): number {
  const cap = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.round(cap / 2 + Math.random() * (cap / 2));
}

/** Retry-After as seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | null {
  const value = headers.get("retry-after");
  if (!value) return null;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join("[redacted]");
  return out;
}

/** A short, scrubbed-later hint of what the provider said, from whichever error shape it uses. */
async function errorDetail(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  let message = "";
  try {
    const body = JSON.parse(text) as Record<string, any>;
    message =
      (typeof body.error === "object" && body.error?.message) ||
      (typeof body.error === "string" && body.error) ||
      (Array.isArray(body.errors) && (body.errors[0]?.detail || body.errors[0]?.title || body.errors[0]?.message)) ||
      body.message ||
      "";
  } catch {
    message = "";
  }
  message = String(message).replace(/\s+/g, " ").slice(0, 200);
  return message ? `: ${message}` : "";
}

/** The knobs a provider client passes through to its HTTP client (tests shorten the waits). */
export type HttpTuning = Pick<HttpClientOptions, "fetch" | "timeoutMs" | "retries" | "baseDelayMs" | "maxDelayMs" | "maxRetryAfterMs" | "sleep">;
