import { createHash, timingSafeEqual } from "node:crypto";

/** Constant-time bearer check; hashing first makes the comparison length-independent. */
export function bearerMatches(header: string | undefined | null, expected: string | undefined): boolean {
  if (!expected) return false;
  const match = /^Bearer\s+(.+)$/iu.exec(header ?? "");
  if (!match) return false;
  const a = createHash("sha256").update(match[1].trim()).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}
