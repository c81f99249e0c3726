import { bearer, FaultPlan, faultResponse, json } from "./faults.ts";

/**
 * Telnyx v2 numbers API (api.telnyx.com/v2), per the OpenAPI extract in
 * test/support/fixtures/telnyx: search available numbers, order one onto a messaging profile
 * (200 `{data: number_order}`), errors `{errors: [{code, title, detail}]}`. A number someone
 * else bought between our search and our order answers 422, as Telnyx does.
 */
export const TELNYX_HOST = "api.telnyx.com";

interface OwnedNumber {
  id: string;
  phone_number: string;
  messaging_profile_id: string | null;
  customer_reference: string | null;
  order_id: string;
}

const errors = (status: number, detail: string) => ({
  errors: [{ code: status === 422 ? "10015" : status === 401 ? "10009" : status === 404 ? "10005" : status === 429 ? "10011" : "10007", title: TITLES[status] ?? "Error", detail }],
});
const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Authentication failed",
  404: "Resource not found",
  409: "Conflict",
  422: "Invalid phone number",
  429: "Too many requests",
  500: "Unexpected error",
  503: "Service unavailable",
};

export function createFakeTelnyx(opts: { apiKey: string; messagingProfileId: string }) {
  const faults = new FaultPlan();
  let owned = new Map<string, OwnedNumber>();
  /** Numbers bought by someone else since they were listed as available. */
  let soldElsewhere = new Set<string>();
  let next = 1;
  let seq = 1_293_384_261_075_731_000n;

  const available = (limit: number) => {
    const out: string[] = [];
    for (let i = 0; out.length < limit && i < 200; i++) {
      const n = `+1555010${String(1000 + i).slice(-4)}`;
      if (!owned.has(n)) out.push(n);
    }
    return out;
  };

  async function route(request: Request, url: URL, op: string): Promise<Response> {
    if (bearer(request) !== opts.apiKey) return json(errors(401, "The API key is missing or invalid."), 401);
    switch (op) {
      case "GET /v2/available_phone_numbers": {
        const country = url.searchParams.get("filter[country_code]");
        if (country && country !== "US") return json({ data: [], meta: { total_results: 0, best_effort_results: 0 }, metadata: { total_results: 0, best_effort_results: 0 } });
        const limit = Math.min(Number(url.searchParams.get("filter[limit]") ?? 10) || 10, 50);
        const numbers = available(limit);
        const data = numbers.map((phone_number) => ({
          record_type: "available_phone_number",
          phone_number,
          vanity_format: "",
          best_effort: false,
          quickship: true,
          reservable: false,
          region_information: [
            { region_type: "country_code", region_name: "US" },
            { region_type: "rate_center", region_name: "NEW YORK" },
          ],
          cost_information: { upfront_cost: "1.00", monthly_cost: "1.00", currency: "USD" },
          features: [{ name: "sms" }, { name: "voice" }],
        }));
        return json({ data, meta: { total_results: data.length, best_effort_results: 0 }, metadata: { total_results: data.length, best_effort_results: 0 } });
      }
      case "POST /v2/number_orders": {
        const body = (await request.json().catch(() => null)) as {
          phone_numbers?: { phone_number?: string }[];
          messaging_profile_id?: string;
          customer_reference?: string;
        } | null;
        const numbers = body?.phone_numbers?.map((p) => p.phone_number) ?? [];
        if (!numbers.length || numbers.some((n) => !n || !/^\+[1-9]\d{6,14}$/.test(n))) {
          return json(errors(422, "phone_numbers must list at least one number in +E.164 format"), 422);
        }
        if (body?.messaging_profile_id && body.messaging_profile_id !== opts.messagingProfileId) {
          return json(errors(422, "messaging_profile_id does not exist"), 422);
        }
        const clash = numbers.find((n) => owned.has(n!) || soldElsewhere.has(n!));
        if (clash) return json(errors(422, `${clash} is no longer available`), 422);
        const orderId = `${(next++).toString(16).padStart(8, "0")}-0000-4000-8000-000000000000`;
        const now = new Date().toISOString();
        const phone_numbers = numbers.map((n) => {
          const rec: OwnedNumber = {
            id: String(seq++),
            phone_number: n!,
            messaging_profile_id: body?.messaging_profile_id ?? null,
            customer_reference: body?.customer_reference ?? null,
            order_id: orderId,
          };
          owned.set(n!, rec);
          return {
            id: `${orderId.slice(0, 8)}-1111-4000-8000-${rec.id.slice(-12)}`,
            record_type: "number_order_phone_number",
            phone_number: n,
            status: "success",
            phone_number_type: "local",
            country_code: "US",
            country_iso_alpha2: "US",
            requirements_met: true,
            requirements_status: "approved",
            regulatory_requirements: [],
          };
        });
        return json({
          data: {
            id: orderId,
            record_type: "number_order",
            status: "success",
            phone_numbers_count: phone_numbers.length,
            phone_numbers,
            // Unset ids are left out: the spec types them as plain strings, not nullable.
            ...(body?.messaging_profile_id ? { messaging_profile_id: body.messaging_profile_id } : {}),
            ...(body?.customer_reference ? { customer_reference: body.customer_reference } : {}),
            requirements_met: true,
            sub_number_orders_ids: [],
            created_at: now,
            updated_at: now,
          },
        });
      }
      default:
        return json(errors(404, "The requested resource or URL could not be found."), 404);
    }
  }

  return {
    host: TELNYX_HOST,
    faults,
    async fetch(request: Request): Promise<Response> {
      const url = new URL(request.url);
      const op = `${request.method} ${url.pathname}`;
      const epoch = faults.epoch;
      const rule = faults.take(op);
      if (rule) {
        const res = await faultResponse(rule, (s) => errors(s, "injected failure"));
        if (res) {
          faults.record(op, res.status, epoch);
          return res;
        }
        // A delayed call that outlived its test must not change the next test's state.
        if (epoch !== faults.epoch) return new Response(null, { status: 503 });
      }
      const res = await route(request, url, op);
      faults.record(op, res.status, epoch);
      return res;
    },
    reset() {
      owned = new Map();
      soldElsewhere = new Set();
      faults.reset();
    },
    /** Marks numbers as bought by someone else: ordering them answers 422. */
    sellElsewhere(numbers: string[]) {
      for (const n of numbers) soldElsewhere.add(n);
    },
    state() {
      return { numbers: [...owned.values()], calls: faults.calls };
    },
  };
}
