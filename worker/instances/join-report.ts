import { z } from "zod";
import { JOIN_REPORT_OUTCOMES, type JoinReport } from "../../runtime-container/plugins/convos/src/join-report";

/**
 * The pool's side of POST /api/pool/instances/:id/join-resolution: how an instance's pending
 * join ended, as the instance reports it (runtime-container/plugins/convos/src/join-report.ts).
 */
export const JoinReportSchema = z.discriminatedUnion("outcome", [
  z.object({ outcome: z.literal(JOIN_REPORT_OUTCOMES[0]), conversationId: z.string().trim().min(1).max(200) }).strict(),
  z.object({ outcome: z.literal(JOIN_REPORT_OUTCOMES[1]), reason: z.string().max(300).optional() }).strict(),
]);

// Both sides describe the same body: a change on one side fails the typecheck here.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const typesAgree: Same<z.infer<typeof JoinReportSchema>, JoinReport> = true;
void typesAgree;
