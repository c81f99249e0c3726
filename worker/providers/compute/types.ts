/**
 * What the pool needs from a container host. Implementations: `railway` (production),
 * `local` (a supervisor on this machine that runs runtime-container processes, for
 * `npm start` and end-to-end tests).
 */
export interface ComputeProvider {
  readonly name: string;
  /** Creates the service with every variable set before its first boot. */
  create(spec: ServiceSpec): Promise<CreatedService>;
  /** Every service of this pool (names starting with the pool's prefix), in as few calls as the host allows. */
  list(): Promise<ServiceObservation[]>;
  /** Deletes the service; a service that is already gone counts as deleted. */
  destroy(serviceId: string): Promise<void>;
}

export interface ServiceSpec {
  /** `${SERVICE_PREFIX}-${instanceId}`: the name is how an orphan is traced back to its row. */
  name: string;
  instanceId: string;
  variables: Record<string, string>;
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
