/**
 * Failure injection shared by the provider fakes. A rule matches an operation key (the fake's
 * name for a call: a GraphQL root field such as `serviceCreate`, or `POST /api/v1/keys`) and
 * answers in its place `times` times: a status with the provider's own error body, or a delay
 * long enough for the client's timeout to fire.
 */
export interface FaultRule {
  /** Operation key, or `*` for every call. */
  op: string;
  status?: number;
  /** Seconds, sent as `Retry-After`. */
  retryAfter?: number;
  /** Extra headers (e.g. X-RateLimit-Remaining). */
  headers?: Record<string, string>;
  /** Answer after this many ms (a timeout, when longer than the client waits). */
  delayMs?: number;
  /** How many calls the rule answers; default every call until reset. */
  times?: number;
  /** Overrides the provider's default error body. */
  body?: unknown;
}

export interface CallRecord {
  op: string;
  status: number;
  at: number;
}

export class FaultPlan {
  private rules: FaultRule[] = [];
  calls: CallRecord[] = [];
  /** Bumped by reset, so a slow answer to an earlier test is not counted in the next one. */
  epoch = 0;

  set(rules: FaultRule[]): void {
    this.rules = rules.map((r) => ({ ...r }));
  }

  reset(): void {
    this.rules = [];
    this.calls = [];
    this.epoch++;
  }

  /** The rule answering this call, if any, consuming one of its `times`. */
  take(op: string): FaultRule | undefined {
    const i = this.rules.findIndex((r) => (r.op === op || r.op === "*") && (r.times === undefined || r.times > 0));
    if (i < 0) return undefined;
    const rule = this.rules[i]!;
    if (rule.times !== undefined) rule.times--;
    return rule;
  }

  record(op: string, status: number, epoch = this.epoch): void {
    if (epoch !== this.epoch) return;
    this.calls.push({ op, status, at: Date.now() });
  }

  count(op?: string): number {
    return op ? this.calls.filter((c) => c.op === op).length : this.calls.length;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(status === 204 ? null : JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** Applies a fault rule: waits, then answers with its status and the provider's error body. */
export async function faultResponse(rule: FaultRule, errorBody: (status: number) => unknown): Promise<Response | null> {
  if (rule.delayMs) await sleep(rule.delayMs);
  if (rule.status === undefined) return null;
  const headers: Record<string, string> = { ...rule.headers };
  if (rule.retryAfter !== undefined) headers["retry-after"] = String(rule.retryAfter);
  return json(rule.body ?? errorBody(rule.status), rule.status, headers);
}

export function bearer(request: Request): string | null {
  return /^Bearer\s+(.+)$/i.exec(request.headers.get("authorization") ?? "")?.[1]?.trim() ?? null;
}
