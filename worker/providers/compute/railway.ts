import type { z } from "zod";
import { TokenBucket } from "../http";
import {
  createRailwayClient,
  ENVIRONMENT_VOLUMES,
  EnvironmentVolumesSchema,
  PROJECT_SERVICES,
  ProjectServicesSchema,
  RailwayGraphQLError,
  type RailwayClientOptions,
  SERVICE_CREATE,
  SERVICE_DELETE,
  SERVICE_DEPLOY,
  SERVICE_DOMAIN_CREATE,
  SERVICE_SOURCE_SET,
  ServiceCreateSchema,
  ServiceDeleteSchema,
  ServiceDeploySchema,
  ServiceDomainCreateSchema,
  ServiceSourceSetSchema,
  VOLUME_CREATE,
  VOLUME_DELETE,
  VolumeCreateSchema,
  VolumeDeleteSchema,
} from "../railway/client";
import { log } from "../../lib/log";
import { digestPinProblem } from "../../domain/rollout";
import { type ComputeProvider, type DeploymentState, ProviderError, type ServiceObservation, type ServiceSpec } from "./types";

type ProjectServices = z.infer<typeof ProjectServicesSchema>;
type EnvironmentVolumes = z.infer<typeof EnvironmentVolumesSchema>;

/** Port of the runtime container's front server; the public domain targets it. */
export const RUNTIME_PORT = 8080;
/** Where the runtime keeps everything that must survive a restart (STATE_DIR in the image). */
export const VOLUME_MOUNT_PATH = "/data";
const PAGE_SIZE = 100;
/** Railway refuses longer service names. */
export const MAX_SERVICE_NAME = 32;
/** A project with more pages than this is not a pool we should be listing in one tick. */
const MAX_PAGES = 20;

/**
 * Railway's DeploymentStatus → what the pool does with it. Unknown future values read as
 * `deploying` so a new word never kills instances; the creating/starting deadlines still apply.
 * SKIPPED means Railway skipped a redeploy, not that the running one stopped; NEEDS_APPROVAL waits
 * on a human. Both stay `deploying` and fall to the deadline if nothing else happens.
 */
export const RAILWAY_STATE: Record<string, DeploymentState> = {
  BUILDING: "deploying",
  DEPLOYING: "deploying",
  INITIALIZING: "deploying",
  QUEUED: "deploying",
  WAITING: "deploying",
  NEEDS_APPROVAL: "deploying",
  SKIPPED: "deploying",
  SUCCESS: "running",
  // Railway's app sleeping pauses an idle service and wakes it on the next request.
  SLEEPING: "sleeping",
  FAILED: "failed",
  CRASHED: "failed",
  REMOVED: "removed",
  REMOVING: "removed",
};

export function railwayState(status: string | null | undefined): DeploymentState {
  return (status && RAILWAY_STATE[status]) || "deploying";
}

export interface RailwayProviderOptions extends Omit<RailwayClientOptions, "limiter"> {
  projectId: string;
  environmentId: string;
  /** `registry/image@sha256:…`: instances boot a prebuilt image, never a build. */
  image: string;
  prefix: string;
  limiter?: TokenBucket;
  pageSize?: number;
}

export function createRailwayProvider(opts: RailwayProviderOptions): ComputeProvider & { limiter: TokenBucket } {
  const limiter = opts.limiter ?? new TokenBucket({ perSecond: 10, perHour: 1000 });
  const client = createRailwayClient({ ...opts, limiter });

  /** Every service id in the project, unfiltered: only used to settle an ambiguous delete. */
  const projectHas = async (serviceId: string): Promise<boolean> => {
    let after: string | null = null;
    for (let page = 0; page < MAX_PAGES; page++) {
      const data: ProjectServices = await client.gql(PROJECT_SERVICES, "ProjectServices", { projectId: opts.projectId, first: opts.pageSize ?? PAGE_SIZE, after }, ProjectServicesSchema, true);
      const services = data.project.services;
      if (services.edges.some((e) => e.node.id === serviceId)) return true;
      if (!services.pageInfo.hasNextPage || !services.pageInfo.endCursor) return false;
      after = services.pageInfo.endCursor;
    }
    return true;
  };

  /** The volumes attached to `serviceId` in this environment (one paged query of the environment's volumes). */
  const volumesOf = async (serviceId: string | null): Promise<{ id: string; serviceId: string | null }[]> => {
    const out: { id: string; serviceId: string | null }[] = [];
    let after: string | null = null;
    for (let page = 0; page < MAX_PAGES; page++) {
      const data: EnvironmentVolumes = await client.gql(
        ENVIRONMENT_VOLUMES,
        "EnvironmentVolumes",
        { environmentId: opts.environmentId, first: opts.pageSize ?? PAGE_SIZE, after },
        EnvironmentVolumesSchema,
        true,
      );
      const connection = data.environment.volumeInstances;
      for (const { node } of connection.edges) if (serviceId === null || node.serviceId === serviceId) out.push({ id: node.volume.id, serviceId: node.serviceId });
      if (!connection.pageInfo.hasNextPage || !connection.pageInfo.endCursor) return out;
      after = connection.pageInfo.endCursor;
    }
    throw new ProviderError("railway", `environment has more than ${MAX_PAGES} pages of volumes; refusing a partial list`);
  };

  const destroyVolume = async (volumeId: string) => {
    try {
      await client.gql(VOLUME_DELETE, "VolumeDelete", { volumeId }, VolumeDeleteSchema, true);
    } catch (err) {
      if (err instanceof RailwayGraphQLError && err.kind === "not_found") return;
      // As with services, "Not Authorized" is also what a volume that no longer exists gets.
      if (err instanceof RailwayGraphQLError && err.kind === "unauthorized" && !(await volumesOf(null)).some((v) => v.id === volumeId)) return;
      throw err;
    }
  };

  /** The volume (made unless `volumeId` already exists), recorded, then the image and the first deployment. */
  const attachVolumeAndDeploy = async (serviceId: string, record: ((ids: { volumeId: string }) => Promise<void>) | undefined, volumeId: string | null, image: string) => {
    if (!volumeId) {
      const volume = await client.gql(
        VOLUME_CREATE,
        "VolumeCreate",
        { input: { projectId: opts.projectId, environmentId: opts.environmentId, serviceId, mountPath: VOLUME_MOUNT_PATH } },
        VolumeCreateSchema,
        // Not repeated either; a volume made behind a lost answer is found on the service and deleted with it.
        false,
      );
      volumeId = volume.volumeCreate.id;
    }
    await record?.({ volumeId });
    await deployImage(serviceId, image);
  };

  /** Points the service instance at `image` and deploys it: the volume stays attached, so the new deployment mounts it. */
  const deployImage = async (serviceId: string, image: string) => {
    await client.gql(SERVICE_SOURCE_SET, "ServiceSourceSet", { serviceId, environmentId: opts.environmentId, input: { source: { image } } }, ServiceSourceSetSchema, true);
    const deployed = await client.gql(SERVICE_DEPLOY, "ServiceDeploy", { serviceId, environmentId: opts.environmentId }, ServiceDeploySchema, false);
    return deployed.serviceInstanceDeployV2;
  };
  const requirePinned = (image: string, what: string) => {
    const problem = digestPinProblem(image);
    if (problem) throw new ProviderError("railway", `${what}: ${problem}`);
  };

  const destroy = async (serviceId: string, known?: { volumeId: string | null }) => {
    // The volume first: a service deleted before it would leave it detached, traceable to nothing.
    const volumes = known ? (known.volumeId ? [known.volumeId] : []) : (await volumesOf(serviceId)).map((v) => v.id);
    for (const volumeId of volumes) await destroyVolume(volumeId);
    try {
      await client.gql(SERVICE_DELETE, "ServiceDelete", { id: serviceId }, ServiceDeleteSchema, true);
    } catch (err) {
      if (err instanceof RailwayGraphQLError && err.kind === "not_found") return;
      // Railway answers "Not Authorized" for ids the token cannot see, which includes services
      // that no longer exist. If the project no longer lists it, it is gone: count it deleted
      // rather than retrying a teardown forever.
      if (err instanceof RailwayGraphQLError && err.kind === "unauthorized" && !(await projectHas(serviceId))) return;
      throw err;
    }
  };

  return {
    name: "railway",
    limiter,

    defaultImage: opts.image,
    imageProblem: digestPinProblem,

    async create(spec: ServiceSpec, record?: (ids: { volumeId: string }) => Promise<void>) {
      const image = spec.image ?? opts.image;
      requirePinned(image, spec.image ? "the desired image" : "RAILWAY_RUNTIME_IMAGE");
      if (spec.name.length > MAX_SERVICE_NAME) {
        throw new ProviderError("railway", `service name "${spec.name}" is longer than Railway's ${MAX_SERVICE_NAME} characters: shorten SERVICE_PREFIX`);
      }
      const created = await client.gql(
        SERVICE_CREATE,
        "ServiceCreate",
        {
          input: {
            projectId: opts.projectId,
            environmentId: opts.environmentId,
            name: spec.name,
            // No source yet: nothing deploys before the volume is attached.
            variables: { PORT: String(RUNTIME_PORT), ...spec.variables },
          },
        },
        ServiceCreateSchema,
        // Not repeated after an ambiguous failure: a second service would be created. A
        // service that did get made is found by name (adopted or deleted as an orphan).
        false,
      );
      const serviceId = created.serviceCreate.id;
      try {
        // The domain right after the service, as before volumes: a service found by name with
        // its domain is adopted by the tick, which finishes what is missing (`resume`).
        const domain = await client.gql(
          SERVICE_DOMAIN_CREATE,
          "ServiceDomainCreate",
          { input: { serviceId, environmentId: opts.environmentId, targetPort: RUNTIME_PORT } },
          ServiceDomainCreateSchema,
          false,
        );
        await attachVolumeAndDeploy(serviceId, record, null, image);
        return { serviceId, url: `https://${domain.serviceDomainCreate.domain}` };
      } catch (err) {
        // The caller never learns this service id, so it is ours to remove now, with whatever
        // volume it got; if that fails too, the tick's orphan sweep finds it by name.
        await destroy(serviceId).catch((cleanup) => log.warn("railway service left behind after a failed create", { service: spec.name, error: (cleanup as Error).message }));
        throw err;
      }
    },

    async resume(serviceId: string, record: (ids: { volumeId: string }) => Promise<void>, image?: string | null) {
      const [existing] = await volumesOf(serviceId);
      await attachVolumeAndDeploy(serviceId, record, existing?.id ?? null, image ?? opts.image);
    },

    async redeploy(serviceId: string, image: string) {
      requirePinned(image, "upgrade");
      return { deploymentId: await deployImage(serviceId, image) };
    },

    async list() {
      const out: ServiceObservation[] = [];
      let after: string | null = null;
      for (let page = 0; page < MAX_PAGES; page++) {
        const data: ProjectServices = await client.gql(PROJECT_SERVICES, "ProjectServices", { projectId: opts.projectId, first: opts.pageSize ?? PAGE_SIZE, after }, ProjectServicesSchema, true);
        const services = data.project.services;
        for (const { node } of services.edges) {
          if (!isPoolService(node.name, opts.prefix)) continue;
          // Services of another Railway environment (another pool sharing the project) are not
          // ours: listing them would make this pool delete them as orphans.
          const instance = node.serviceInstances.edges.find((e) => e.node.environmentId === opts.environmentId)?.node;
          if (!instance) continue;
          const domain = instance.domains.serviceDomains[0]?.domain;
          out.push({
            serviceId: node.id,
            name: node.name,
            state: railwayState(instance.latestDeployment?.status),
            rawStatus: instance.latestDeployment?.status ?? "NO_DEPLOYMENT",
            ...(instance.latestDeployment ? { deploymentId: instance.latestDeployment.id } : {}),
            url: domain ? `https://${domain}` : undefined,
            ...(instance.latestDeployment ? {} : { undeployed: true }),
          });
        }
        if (!services.pageInfo.hasNextPage || !services.pageInfo.endCursor) return out;
        after = services.pageInfo.endCursor;
      }
      throw new ProviderError("railway", `project has more than ${MAX_PAGES} pages of services; refusing a partial list`);
    },

    destroy,
    destroyVolume,
  };
}

/**
 * `${prefix}-${instanceId}`, where instance ids have no dashes: so production's
 * "convos-agent" never claims dev's "convos-agent-dev-…" services in a shared project.
 */
export function isPoolService(name: string, prefix: string): boolean {
  return name.startsWith(`${prefix}-`) && /^[a-z0-9_]+$/i.test(name.slice(prefix.length + 1));
}

/** Builds the provider from the Worker's configuration; missing settings are a clear error. */
export function railwayFromEnv(env: Env, fetcher?: typeof fetch): ComputeProvider {
  const missing = (["RAILWAY_API_TOKEN", "RAILWAY_PROJECT_ID", "RAILWAY_ENVIRONMENT_ID", "RAILWAY_RUNTIME_IMAGE"] as const).filter((k) => !env[k]);
  if (missing.length) throw new ProviderError("railway", `COMPUTE_PROVIDER is railway but ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} not set`);
  return createRailwayProvider({
    token: env.RAILWAY_API_TOKEN,
    projectId: env.RAILWAY_PROJECT_ID,
    environmentId: env.RAILWAY_ENVIRONMENT_ID,
    image: env.RAILWAY_RUNTIME_IMAGE,
    prefix: env.SERVICE_PREFIX,
    fetch: fetcher,
    limiter: new TokenBucket({
      perSecond: positive(env.RAILWAY_RATE_PER_SECOND, 10),
      perHour: positive(env.RAILWAY_RATE_PER_HOUR, 1000),
    }),
  });
}

function positive(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}
