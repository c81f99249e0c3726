import { createLocalProvider } from "./local";
import { railwayFromEnv } from "./railway";
import { type ComputeProvider, ProviderError } from "./types";

export type { ComputeProvider } from "./types";

/** The compute host named by COMPUTE_PROVIDER. */
export function computeProvider(env: Env, fetcher: typeof fetch = fetch): ComputeProvider {
  switch (env.COMPUTE_PROVIDER) {
    case "local":
      return createLocalProvider({
        baseUrl: env.LOCAL_SUPERVISOR_URL,
        token: env.LOCAL_SUPERVISOR_TOKEN,
        prefix: env.SERVICE_PREFIX,
        fetch: fetcher,
      });
    case "railway":
      return railwayFromEnv(env, fetcher);
    default:
      throw new ProviderError(env.COMPUTE_PROVIDER || "compute", `unknown COMPUTE_PROVIDER "${env.COMPUTE_PROVIDER}"`);
  }
}
