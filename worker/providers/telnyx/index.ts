import { and, asc, eq, isNotNull, isNull, sql } from "drizzle-orm";
import { z } from "zod";
import type { Database } from "../../db/client";
import { phoneNumbers } from "../../db/schema";
import { log } from "../../lib/log";
import { ProviderError } from "../compute/types";
import { createHttpClient, type HttpTuning } from "../http";
import type { InstanceResource } from "../resources";

/** Telnyx v2 (https://api.telnyx.com/v2): US SMS numbers, reused from our table before buying. */
export const TELNYX_BASE_URL = "https://api.telnyx.com";

const AvailableSchema = z.object({
  data: z.array(z.object({ phone_number: z.string(), features: z.array(z.object({ name: z.string() })).optional() })),
});
const OrderSchema = z.object({
  data: z.object({
    id: z.string(),
    status: z.enum(["pending", "success", "failure"]),
    phone_numbers: z.array(z.object({ id: z.string().optional(), phone_number: z.string(), status: z.string().optional() })),
  }),
});

export type OrderResult = { ok: true; orderId: string } | { ok: false; reason: string };

export function createTelnyxClient(opts: { apiKey: string } & HttpTuning) {
  const http = createHttpClient({ provider: "telnyx", baseUrl: TELNYX_BASE_URL, headers: { authorization: `Bearer ${opts.apiKey}` }, ...opts });
  return {
    async searchNumbers(limit: number): Promise<string[]> {
      const res = await http.request({
        method: "GET",
        path: "/v2/available_phone_numbers",
        query: { "filter[country_code]": "US", "filter[features]": "sms", "filter[phone_number_type]": "local", "filter[limit]": limit },
        schema: AvailableSchema,
        what: "search numbers",
      });
      return res.data.data.map((n) => n.phone_number);
    },
    /** Orders one number onto the messaging profile; a number taken meanwhile is `ok: false`. */
    async orderNumber(phoneNumber: string, messagingProfileId: string, customerReference: string): Promise<OrderResult> {
      const res = await http.request({
        method: "POST",
        path: "/v2/number_orders",
        body: { phone_numbers: [{ phone_number: phoneNumber }], messaging_profile_id: messagingProfileId, customer_reference: customerReference },
        schema: OrderSchema,
        accept: [409, 422],
        // A purchase: repeated only when Telnyx refused it outright (429).
        idempotent: false,
        what: "order number",
      });
      if (res.status === 409 || res.status === 422) return { ok: false, reason: `answered ${res.status}` };
      const order = (res.data as z.infer<typeof OrderSchema>).data;
      if (order.status === "failure") return { ok: false, reason: "order failed" };
      return { ok: true, orderId: order.id };
    },
  };
}

export type TelnyxClient = ReturnType<typeof createTelnyxClient>;

const SEARCH_SIZE = 5;
const SEARCH_ROUNDS = 2;

/**
 * The instance's phone number. A released number from `phone_numbers` is taken first with a
 * conditional update (two creates cannot take the same one); otherwise a number is searched,
 * written to the table as ours-to-be *before* the order, then ordered. Teardown returns it to
 * the table for the next instance; numbers are never given back to Telnyx.
 */
export function telnyxResource(client: TelnyxClient, db: Database, settings: { messagingProfileId: string; apiKey: string; now?: () => number }): InstanceResource {
  const now = settings.now ?? Date.now;
  // The runtime's telnyx-cli skill sends SMS with the account key (runtime-container/README.md).
  const variables = (phone: string) => ({ TELNYX_PHONE_NUMBER: phone, TELNYX_API_KEY: settings.apiKey, TELNYX_MESSAGING_PROFILE_ID: settings.messagingProfileId });

  async function recordOrReturn(rowId: string, phone: string, record: (p: { phoneNumber: string }) => Promise<void>) {
    try {
      await record({ phoneNumber: phone });
    } catch (err) {
      await db
        .update(phoneNumbers)
        .set({ instanceId: null, releasedAt: now() })
        .where(and(eq(phoneNumbers.phoneNumber, phone), eq(phoneNumbers.instanceId, rowId)));
      throw err;
    }
  }

  return {
    name: "telnyx",
    async provision(row, record) {
      const free = db
        .select({ n: phoneNumbers.phoneNumber })
        .from(phoneNumbers)
        .where(and(isNull(phoneNumbers.instanceId), isNotNull(phoneNumbers.telnyxId)))
        .orderBy(asc(phoneNumbers.releasedAt))
        .limit(1);
      const [reused] = await db
        .update(phoneNumbers)
        .set({ instanceId: row.id, releasedAt: null })
        .where(and(sql`${phoneNumbers.phoneNumber} IN ${free}`, isNull(phoneNumbers.instanceId)))
        .returning();
      if (reused) {
        await recordOrReturn(row.id, reused.phoneNumber, record);
        return variables(reused.phoneNumber);
      }

      for (let round = 0; round < SEARCH_ROUNDS; round++) {
        const candidates = await client.searchNumbers(SEARCH_SIZE);
        for (const phone of candidates) {
          const inserted = await db.insert(phoneNumbers).values({ phoneNumber: phone, instanceId: row.id, createdAt: now() }).onConflictDoNothing().returning();
          if (!inserted.length) continue; // already ours (in use by another instance)
          let result: OrderResult;
          try {
            result = await client.orderNumber(phone, settings.messagingProfileId, row.id);
          } catch (err) {
            // A definite refusal means we own nothing; an ambiguous failure (5xx, timeout) may
            // have bought it, so the row stays, unconfirmed (never reused) and visible to operators.
            if (err instanceof ProviderError && err.status !== undefined && err.status < 500 && err.status !== 429) {
              await db.delete(phoneNumbers).where(eq(phoneNumbers.phoneNumber, phone));
            }
            throw err;
          }
          if (!result.ok) {
            await db.delete(phoneNumbers).where(and(eq(phoneNumbers.phoneNumber, phone), isNull(phoneNumbers.telnyxId)));
            log.info("telnyx number taken meanwhile, trying another", { instanceId: row.id, reason: result.reason });
            continue;
          }
          await db.update(phoneNumbers).set({ telnyxId: result.orderId }).where(eq(phoneNumbers.phoneNumber, phone));
          await recordOrReturn(row.id, phone, record);
          return variables(phone);
        }
      }
      throw new ProviderError("telnyx", "no US SMS number could be ordered (every candidate was taken)");
    },
    async release(row) {
      // By instance id, not by the row's column: a number assigned but not yet recorded comes back too.
      // Unconfirmed purchases stay in the table for an operator but are never reused.
      await db.update(phoneNumbers).set({ instanceId: null, releasedAt: now() }).where(eq(phoneNumbers.instanceId, row.id));
      return row.phoneNumber ? { phoneNumber: null } : {};
    },
  };
}
