import { secretsEqual } from "../crypto/compare";
import { open } from "../crypto/sealed";
import type { InstanceRow } from "../db/schema";

/**
 * Whether `token` is this instance's own gateway token (sealed on its row): how an instance
 * authenticates its calls to the pool (self-destruct, join report, credits). An unknown row,
 * a row without a token and a wrong token all read the same to the caller.
 */
export async function instanceTokenMatches(encryptionKey: string, row: InstanceRow | null, token: string): Promise<boolean> {
  const expected = row?.gatewayTokenSealed ? await open(encryptionKey, row.gatewayTokenSealed, row.id).catch(() => "") : "";
  return row !== null && (await secretsEqual(token, expected));
}
