import { z } from "zod";
import { ProviderError } from "../compute/types";
import { createHttpClient, type HttpClientOptions, type TokenBucket } from "../http";

export const RAILWAY_GRAPHQL_URL = "https://backboard.railway.com/graphql/v2";

/*
 * Every GraphQL document this client sends. test/contracts/railway-schema.test.ts validates
 * each one against Railway's introspection schema, so a renamed field fails CI first.
 */

/**
 * Creates the service with every variable but *no source*: a service without a source does not
 * deploy, so its volume can be attached before its first boot (a volume attached after the first
 * boot would lose what that boot wrote: the XMTP identity among it). SERVICE_SOURCE_SET and
 * SERVICE_DEPLOY then start the first deployment, with the full environment and the volume.
 */
export const SERVICE_CREATE = /* GraphQL */ `
  mutation ServiceCreate($input: ServiceCreateInput!) {
    serviceCreate(input: $input) {
      id
      name
    }
  }
`;

/** The instance's volume, attached to its service at /data (STATE_DIR of the runtime). */
export const VOLUME_CREATE = /* GraphQL */ `
  mutation VolumeCreate($input: VolumeCreateInput!) {
    volumeCreate(input: $input) {
      id
      name
    }
  }
`;

export const VOLUME_DELETE = /* GraphQL */ `
  mutation VolumeDelete($volumeId: String!) {
    volumeDelete(volumeId: $volumeId)
  }
`;

/** The image, set once the volume is attached; it does not deploy by itself. */
export const SERVICE_SOURCE_SET = /* GraphQL */ `
  mutation ServiceSourceSet($serviceId: String!, $environmentId: String!, $input: ServiceInstanceUpdateInput!) {
    serviceInstanceUpdate(serviceId: $serviceId, environmentId: $environmentId, input: $input)
  }
`;

/** The first deployment: the service now has its variables, its volume and its image. */
export const SERVICE_DEPLOY = /* GraphQL */ `
  mutation ServiceDeploy($serviceId: String!, $environmentId: String!) {
    serviceInstanceDeployV2(serviceId: $serviceId, environmentId: $environmentId)
  }
`;

/** Every volume of the environment with the service it is attached to: how a service's volumes are found when its row never recorded them. */
export const ENVIRONMENT_VOLUMES = /* GraphQL */ `
  query EnvironmentVolumes($environmentId: String!, $first: Int!, $after: String) {
    environment(id: $environmentId) {
      volumeInstances(first: $first, after: $after) {
        pageInfo {
          hasNextPage
          endCursor
        }
        edges {
          node {
            id
            serviceId
            mountPath
            volume {
              id
              name
            }
          }
        }
      }
    }
  }
`;

export const SERVICE_DOMAIN_CREATE = /* GraphQL */ `
  mutation ServiceDomainCreate($input: ServiceDomainCreateInput!) {
    serviceDomainCreate(input: $input) {
      id
      domain
    }
  }
`;

export const SERVICE_DELETE = /* GraphQL */ `
  mutation ServiceDelete($id: String!) {
    serviceDelete(id: $id)
  }
`;

/** The whole pool in one paged query: every service with its latest deployment and domain. */
export const PROJECT_SERVICES = /* GraphQL */ `
  query ProjectServices($projectId: String!, $first: Int!, $after: String) {
    project(id: $projectId) {
      services(first: $first, after: $after) {
        pageInfo {
          hasNextPage
          endCursor
        }
        edges {
          node {
            id
            name
            serviceInstances {
              edges {
                node {
                  environmentId
                  latestDeployment {
                    id
                    status
                  }
                  domains {
                    serviceDomains {
                      domain
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
`;

export const RAILWAY_DOCUMENTS = {
  SERVICE_CREATE,
  VOLUME_CREATE,
  SERVICE_SOURCE_SET,
  SERVICE_DEPLOY,
  SERVICE_DOMAIN_CREATE,
  SERVICE_DELETE,
  VOLUME_DELETE,
  PROJECT_SERVICES,
  ENVIRONMENT_VOLUMES,
} as const;

export const DEPLOYMENT_STATUSES = [
  "BUILDING",
  "CRASHED",
  "DEPLOYING",
  "FAILED",
  "INITIALIZING",
  "NEEDS_APPROVAL",
  "QUEUED",
  "REMOVED",
  "REMOVING",
  "SKIPPED",
  "SLEEPING",
  "SUCCESS",
  "WAITING",
] as const;

const GraphQLErrorSchema = z.object({
  message: z.string(),
  extensions: z.record(z.string(), z.unknown()).nullish(),
});

const GraphQLResponseSchema = z.object({
  data: z.record(z.string(), z.unknown()).nullish(),
  errors: z.array(GraphQLErrorSchema).nullish(),
});

export const ProjectServicesSchema = z.object({
  project: z.object({
    services: z.object({
      pageInfo: z.object({ hasNextPage: z.boolean(), endCursor: z.string().nullable() }),
      edges: z.array(
        z.object({
          node: z.object({
            id: z.string(),
            name: z.string(),
            serviceInstances: z.object({
              edges: z.array(
                z.object({
                  node: z.object({
                    environmentId: z.string(),
                    // Kept a plain string: a status Railway adds later must not break the tick.
                    latestDeployment: z.object({ id: z.string(), status: z.string() }).nullable(),
                    domains: z.object({ serviceDomains: z.array(z.object({ domain: z.string() })) }),
                  }),
                }),
              ),
            }),
          }),
        }),
      ),
    }),
  }),
});

export const ServiceCreateSchema = z.object({ serviceCreate: z.object({ id: z.string(), name: z.string() }) });
export const ServiceDomainCreateSchema = z.object({ serviceDomainCreate: z.object({ id: z.string(), domain: z.string() }) });
export const ServiceDeleteSchema = z.object({ serviceDelete: z.boolean() });
export const VolumeCreateSchema = z.object({ volumeCreate: z.object({ id: z.string(), name: z.string() }) });
export const VolumeDeleteSchema = z.object({ volumeDelete: z.boolean() });
export const ServiceSourceSetSchema = z.object({ serviceInstanceUpdate: z.boolean() });
export const ServiceDeploySchema = z.object({ serviceInstanceDeployV2: z.string() });
export const EnvironmentVolumesSchema = z.object({
  environment: z.object({
    volumeInstances: z.object({
      pageInfo: z.object({ hasNextPage: z.boolean(), endCursor: z.string().nullable() }),
      edges: z.array(
        z.object({
          node: z.object({ id: z.string(), serviceId: z.string().nullable(), mountPath: z.string(), volume: z.object({ id: z.string(), name: z.string() }) }),
        }),
      ),
    }),
  }),
});

/** Railway answers most failures with HTTP 200 and `errors`; this carries their meaning. */
export class RailwayGraphQLError extends ProviderError {
  constructor(
    message: string,
    readonly kind: "not_found" | "unauthorized" | "rate_limited" | "other",
  ) {
    super("railway", message, kind === "unauthorized" ? 401 : kind === "not_found" ? 404 : kind === "rate_limited" ? 429 : undefined, kind === "rate_limited");
  }
}

export interface RailwayClientOptions extends Pick<HttpClientOptions, "fetch" | "timeoutMs" | "retries" | "baseDelayMs" | "maxDelayMs" | "maxRetryAfterMs" | "sleep"> {
  token: string;
  limiter?: TokenBucket;
  url?: string;
}

export function createRailwayClient(opts: RailwayClientOptions) {
  const url = new URL(opts.url ?? RAILWAY_GRAPHQL_URL);
  const http = createHttpClient({
    provider: "railway",
    baseUrl: url.origin,
    headers: { authorization: `Bearer ${opts.token}` },
    fetch: opts.fetch,
    timeoutMs: opts.timeoutMs ?? 20_000,
    retries: opts.retries,
    baseDelayMs: opts.baseDelayMs,
    maxDelayMs: opts.maxDelayMs,
    maxRetryAfterMs: opts.maxRetryAfterMs,
    limiter: opts.limiter,
    sleep: opts.sleep,
  });

  async function gql<S extends z.ZodType>(document: string, operationName: string, variables: Record<string, unknown>, schema: S, idempotent: boolean): Promise<z.infer<S>> {
    const res = await http.request({
      method: "POST",
      path: url.pathname,
      body: { query: document, operationName, variables },
      schema: GraphQLResponseSchema,
      idempotent,
      what: operationName,
    });
    const errors = res.data.errors ?? [];
    if (errors.length) {
      const message = http.scrub(
        errors
          .map((e) => e.message)
          .join("; ")
          .slice(0, 300),
      );
      throw new RailwayGraphQLError(`${operationName} failed: ${message}`, classify(errors));
    }
    const parsed = schema.safeParse(res.data.data);
    if (!parsed.success) {
      const where = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join(".")}: ${i.message}`);
      throw new ProviderError("railway", `${operationName} answered an unexpected shape (${where.join("; ")})`);
    }
    return parsed.data;
  }

  return { gql };
}

export type RailwayClient = ReturnType<typeof createRailwayClient>;

function classify(errors: z.infer<typeof GraphQLErrorSchema>[]): RailwayGraphQLError["kind"] {
  const text = errors.map((e) => `${e.message} ${String(e.extensions?.code ?? "")}`).join(" ");
  if (/not authori[sz]ed|unauthori[sz]ed|UNAUTHENTICATED/i.test(text)) return "unauthorized";
  if (/rate limit|RATE_LIMITED/i.test(text)) return "rate_limited";
  if (/not found|NOT_FOUND/i.test(text)) return "not_found";
  return "other";
}
