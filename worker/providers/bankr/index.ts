/**
 * Bankr has no per-instance resource: one shared key, handed to every instance when it is set
 * (the runtime's bankr skill reads BANKR_API_KEY) and simply absent when it is not.
 */
export function bankrVariables(env: Pick<Env, "BANKR_API_KEY">): Record<string, string> {
  return env.BANKR_API_KEY ? { BANKR_API_KEY: env.BANKR_API_KEY } : {};
}
