import { checkInviteUrl, type InviteCheck, isXmtpEnv, type XmtpEnv } from "../../runtime-container/contract/pool-runtime";

/**
 * A pool only joins invites of its own XMTP network: an agent on dev cannot join a production
 * conversation, and saying so up front beats a provision that times out. The rules and the
 * canonical form are the pool ↔ runtime contract's, so instances check them the same way.
 */
export { INVITE_HOSTS, type InviteCheck, type InviteProblem, isXmtpEnv, type XmtpEnv } from "../../runtime-container/contract/pool-runtime";

/** The pool's network from its `XMTP_ENV` var (dev unless it says production). */
export function poolXmtpEnv(value: string): XmtpEnv {
  return isXmtpEnv(value) ? value : "dev";
}

/** A claim's `joinUrl`, checked and turned into the one form the pool dedupes on and stores. */
export function checkJoinUrl(raw: string, xmtpEnvVar: string): InviteCheck {
  return checkInviteUrl(raw, poolXmtpEnv(xmtpEnvVar));
}
