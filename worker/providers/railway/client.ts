import { z } from "zod";
import { ProviderError } from "../compute/types";
import { createHttpClient, type HttpClientOptions, TokenBucket } from "../http";

export const RAILWAY_GRAPHQL_URL = "https://backboard.railway.com/graphql/v2";

/*
 * Every GraphQL document this client sends. test/contracts/railway-schema.test.ts validates
 * each one against Railway's introspection schema, so a renamed field fails CI first.
 */

/**
 * One call creates the service from the image *and* sets its variables: the first deployment
 * Railway starts already has the full environment, so no instance ever boots without its env.
 */
export const SERVICE_CREATE = /* GraphQL */ `
  mutation ServiceCreate($input: ServiceCreateInput!) {
    serviceCreate(input: $input) {
      id
      name
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

export const RAILWAY_DOCUMENTS = { SERVICE_CREATE, SERVICE_DOMAIN_CREATE, SERVICE_DELETE, PROJECT_SERVICES } as const;

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

  async function gql<S extends z.ZodType>(
    document: string,
    operationName: string,
    variables: Record<string, unknown>,
    schema: S,
    idempotent: boolean,
  ): Promise<z.infer<S>> {
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
      const message = http.scrub(errors.map((e) => e.message).join("; ").slice(0, 300));
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
