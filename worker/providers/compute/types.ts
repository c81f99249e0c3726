/**
 * What the pool needs from a container host. Implementations: `railway` (production),
 * `local` (a supervisor on this machine that runs runtime-container processes, for
 * `npm start` and end-to-end tests).
 */
export interface ComputeProvider {
  readonly name: string;
  /**
   * Creates the service with every variable set and its volume attached before its first boot.
   * `record` is called with the volume's id before anything that depends on the volume, so the
   * row knows it even if the create dies right after.
   */
  create(spec: ServiceSpec, record?: (ids: { volumeId: string }) => Promise<void>): Promise<CreatedService>;
  /** Every service of this pool (names starting with the pool's prefix), in as few calls as the host allows. */
  list(): Promise<ServiceObservation[]>;
  /**
   * Deletes the service and its volume; what is already gone counts as deleted. `known` is what
   * the instance's row recorded; without it (an orphan) the host is asked which volumes the
   * service has.
   */
  destroy(serviceId: string, known?: { volumeId: string | null }): Promise<void>;
  /** Deletes a volume whose service is already gone; hosts without separate volumes leave it out. */
  destroyVolume?(volumeId: string): Promise<void>;
  /**
   * Finishes a create that died after its service and domain were made (found `undeployed` by
   * name): attaches the volume if it has none, records it, then starts the first deployment.
   */
  resume?(serviceId: string, record: (ids: { volumeId: string }) => Promise<void>, image?: string | null): Promise<void>;
  /**
   * Redeploys the service on `image` with its volume (an upgrade or its rollback): the same
   * service, variables and /data, so the instance keeps its identity and conversation. Returns
   * the new deployment's id where the host has one, so its health is not mistaken for the old one's.
   */
  redeploy(serviceId: string, image: string): Promise<{ deploymentId: string | null }>;
  /** Why `ref` cannot be an image on this host (Railway: not digest-pinned), or null. */
  imageProblem(ref: string): string | null;
  /** The image creates use when no rollout has chosen one (Railway: RAILWAY_RUNTIME_IMAGE), or null for the host's own default. */
  readonly defaultImage: string | null;
}

export interface ServiceSpec {
  /** `${SERVICE_PREFIX}-${instanceId}`: the name is how an orphan is traced back to its row. */
  name: string;
  instanceId: string;
  variables: Record<string, string>;
  /** The image to boot; the provider's default image when absent. */
  image?: string | null;
}

export interface CreatedService {
  serviceId: string;
  /** Base URL of the instance's front server, e.g. https://x.up.railway.app. */
  url: string;
}

/**
 * What the host says about one service, mapped onto what the pool cares about:
 * - `deploying`: not running yet (building, queued, deploying…)
 * - `running`: the deployment succeeded; readiness is then asked of the instance itself
 * - `sleeping`: the host paused it; it wakes on traffic and is *not* dead
 * - `failed`: the deployment failed or crashed
 * - `removed`: the host removed the deployment
 */
export type DeploymentState = "deploying" | "running" | "sleeping" | "failed" | "removed";

export interface ServiceObservation {
  serviceId: string;
  name: string;
  state: DeploymentState;
  /** The host's own status word, kept for operators. */
  rawStatus: string;
  url?: string;
  /** The host's id of the latest deployment, where it has them (an upgrade waits for its own). */
  deploymentId?: string;
  /** The host never started a deployment of it (its create was cut before the first deploy). */
  undeployed?: true;
}

/** Thrown by providers for failures worth telling the operator about; never carries secrets. */
export class ProviderError extends Error {
  constructor(
    readonly provider: string,
    message: string,
    readonly status?: number,
    readonly retryable = false,
  ) {
    super(`${provider}: ${message}`);
    this.name = "ProviderError";
  }
}
