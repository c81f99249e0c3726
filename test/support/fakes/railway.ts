import { buildClientSchema, type DocumentNode, execute, type GraphQLError, type GraphQLSchema, type IntrospectionQuery, parse, type OperationDefinitionNode, validate } from "graphql";
import railwayIntrospection from "../fixtures/railway/schema.json";
import { bearer, FaultPlan, type FaultRule, faultResponse, json } from "./faults.ts";

/**
 * Railway's public GraphQL API at backboard.railway.com, executed against Railway's real
 * introspection schema: a document that does not validate gets the same 400 a real server
 * gives, and responses carry exactly the selected fields. Resolvers model the projects'
 * services, their variables, deployments, domains and volumes; `*.up.railway.app` serves the
 * instances' front servers. A service deploys when it is created with a source, or when asked
 * to (serviceInstanceDeployV2) once it has one; a deleted service's volumes stay, detached, so
 * only a client that deletes them leaves nothing behind.
 */
export const RAILWAY_HOST = "backboard.railway.com";

export interface FakeRailwayOptions {
  token: string;
  projectId: string;
  environmentId: string;
}

interface FakeService {
  id: string;
  name: string;
  projectId: string;
  environmentId: string;
  image: string | null;
  variables: Record<string, string>;
  /** Variables of the first deployment: what the instance booted with. */
  bootVariables: Record<string, string> | null;
  /** Mount paths of the volumes attached at the first deployment. */
  bootVolumes: string[] | null;
  domains: { id: string; domain: string }[];
  deployments: { id: string; status: string }[];
  createdAt: string;
}

interface FakeVolume {
  id: string;
  name: string;
  projectId: string;
  environmentId: string;
  serviceId: string | null;
  mountPath: string;
  createdAt: string;
}

let schemaCache: GraphQLSchema | null = null;
function railwaySchema(): GraphQLSchema {
  if (!schemaCache) {
    // Imported as JSON (no file APIs), so this module also typechecks under the Workers types.
    const raw = railwayIntrospection as unknown as { data: IntrospectionQuery };
    // assumeValid: Railway's schema trips a graphql-js 17 schema rule (deprecated Team.id on a
    // non-deprecated Node interface field); documents are still fully validated.
    schemaCache = buildClientSchema(raw.data, { assumeValid: true });
  }
  return schemaCache;
}

/**
 * Parsing and validating against Railway's 1.8 MB schema costs tens of milliseconds; the client
 * sends the same few documents over and over, so each is checked once (as graphql() would, every time).
 */
const checkedDocuments = new Map<string, { document: DocumentNode } | { errors: readonly GraphQLError[] }>();
function checkDocument(source: string): { document: DocumentNode } | { errors: readonly GraphQLError[] } {
  let checked = checkedDocuments.get(source);
  if (!checked) {
    try {
      const document = parse(source);
      const errors = validate(railwaySchema(), document);
      checked = errors.length ? { errors } : { document };
    } catch (err) {
      checked = { errors: [err as GraphQLError] };
    }
    checkedDocuments.set(source, checked);
  }
  return checked;
}

export function createFakeRailway(opts: FakeRailwayOptions) {
  const faults = new FaultPlan();
  let services = new Map<string, FakeService>();
  let volumes = new Map<string, FakeVolume>();
  let seq = 0;
  /** Status given to a new service's first deployment. */
  let initialStatus = "SUCCESS";
  let requestsThisHour = 0;
  const hourlyLimit = 1000;

  /** A new deployment of what the service has now; the first one records what the instance booted with. */
  const deploy = (s: FakeService): string => {
    const deployment = { id: id(), status: initialStatus };
    s.deployments.push(deployment);
    if (!s.bootVariables) {
      s.bootVariables = { ...s.variables };
      s.bootVolumes = [...volumes.values()].filter((v) => v.serviceId === s.id).map((v) => v.mountPath);
    }
    return deployment.id;
  };
  const id = () => `${(++seq).toString(16).padStart(8, "0")}-fake-4000-8000-${Date.now().toString(16).padStart(12, "0")}`;
  const notFound = (what: string) => new Error(`${what} not found`);

  const serviceView = (s: FakeService) => ({
    id: s.id,
    name: s.name,
    projectId: s.projectId,
    serviceInstances: ({ first }: { first?: number }) => ({
      pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
      edges: [
        {
          cursor: s.id,
          node: {
            id: `${s.id}-instance`,
            serviceId: s.id,
            serviceName: s.name,
            environmentId: s.environmentId,
            latestDeployment: s.deployments.at(-1) ? { ...s.deployments.at(-1)!, serviceId: s.id } : null,
            domains: { serviceDomains: s.domains.map((d) => ({ ...d, serviceId: s.id, environmentId: s.environmentId })), customDomains: [] },
          },
        },
      ].slice(0, first ?? 1),
    }),
  });

  const root = {
    project: ({ id: projectId }: { id: string }) => {
      if (projectId !== opts.projectId) throw notFound("Project");
      return {
        id: projectId,
        name: "fake-pool",
        services: ({ first, after }: { first?: number; after?: string }) => {
          const all = [...services.values()].filter((s) => s.projectId === projectId);
          const start = after ? all.findIndex((s) => s.id === after) + 1 : 0;
          const page = all.slice(start, start + (first ?? 100));
          const last = page.at(-1);
          return {
            pageInfo: { hasNextPage: start + page.length < all.length, hasPreviousPage: start > 0, startCursor: page[0]?.id ?? null, endCursor: last?.id ?? null },
            edges: page.map((s) => ({ cursor: s.id, node: serviceView(s) })),
          };
        },
      };
    },
    serviceCreate: ({ input }: { input: { projectId: string; environmentId?: string; name?: string; source?: { image?: string }; variables?: Record<string, string> } }) => {
      if (input.projectId !== opts.projectId) throw notFound("Project");
      // Railway's documented constraint: service names have a max length of 32 characters.
      if (input.name && input.name.length > 32) throw new Error("Service name must be 32 characters or less");
      const service: FakeService = {
        id: id(),
        name: input.name ?? `service-${seq}`,
        projectId: input.projectId,
        environmentId: input.environmentId ?? opts.environmentId,
        image: input.source?.image ?? null,
        variables: { ...(input.variables ?? {}) },
        bootVariables: null,
        bootVolumes: null,
        domains: [],
        deployments: [],
        createdAt: new Date().toISOString(),
      };
      services.set(service.id, service);
      // A service with a source deploys at once, with the variables it was created with.
      if (service.image) deploy(service);
      return { id: service.id, name: service.name, projectId: service.projectId };
    },
    serviceInstanceUpdate: ({ serviceId, input }: { serviceId: string; environmentId?: string; input: { source?: { image?: string } } }) => {
      const s = services.get(serviceId);
      if (!s) throw notFound("Service");
      if (input.source?.image) s.image = input.source.image;
      return true;
    },
    serviceInstanceDeployV2: ({ serviceId }: { serviceId: string; environmentId: string }) => {
      const s = services.get(serviceId);
      if (!s) throw notFound("Service");
      if (!s.image) throw new Error("Service has no source to deploy");
      return deploy(s);
    },
    volumeCreate: ({ input }: { input: { projectId: string; environmentId?: string; serviceId?: string; mountPath: string } }) => {
      if (input.projectId !== opts.projectId) throw notFound("Project");
      if (input.serviceId && !services.has(input.serviceId)) throw notFound("Service");
      if (!input.mountPath.startsWith("/")) throw new Error("Mount path must be absolute");
      const volume: FakeVolume = {
        id: id(),
        name: `volume-${seq}`,
        projectId: input.projectId,
        environmentId: input.environmentId ?? opts.environmentId,
        serviceId: input.serviceId ?? null,
        mountPath: input.mountPath,
        createdAt: new Date().toISOString(),
      };
      volumes.set(volume.id, volume);
      return { id: volume.id, name: volume.name, projectId: volume.projectId, createdAt: volume.createdAt };
    },
    volumeDelete: ({ volumeId }: { volumeId: string }) => {
      if (!volumes.delete(volumeId)) throw notFound("Volume");
      return true;
    },
    environment: ({ id: environmentId }: { id: string }) => {
      if (environmentId !== opts.environmentId) throw notFound("Environment");
      return {
        id: environmentId,
        volumeInstances: ({ first, after }: { first?: number; after?: string }) => {
          const all = [...volumes.values()].filter((v) => v.environmentId === environmentId);
          const start = after ? all.findIndex((v) => v.id === after) + 1 : 0;
          const page = all.slice(start, start + (first ?? 100));
          return {
            pageInfo: { hasNextPage: start + page.length < all.length, hasPreviousPage: start > 0, startCursor: page[0]?.id ?? null, endCursor: page.at(-1)?.id ?? null },
            edges: page.map((v) => ({
              cursor: v.id,
              node: {
                id: `${v.id}-instance`,
                volumeId: v.id,
                serviceId: v.serviceId,
                environmentId: v.environmentId,
                mountPath: v.mountPath,
                volume: { id: v.id, name: v.name, projectId: v.projectId },
              },
            })),
          };
        },
      };
    },
    serviceDomainCreate: ({ input }: { input: { serviceId: string; environmentId: string; targetPort?: number } }) => {
      const s = services.get(input.serviceId);
      if (!s) throw notFound("Service");
      const domain = { id: id(), domain: `${s.name}-${s.id.slice(0, 6)}.up.railway.app` };
      s.domains.push(domain);
      return { ...domain, serviceId: s.id, environmentId: input.environmentId, targetPort: input.targetPort ?? null };
    },
    serviceDelete: ({ id: serviceId }: { id: string }) => {
      if (!services.delete(serviceId)) throw notFound("Service");
      for (const v of volumes.values()) if (v.serviceId === serviceId) v.serviceId = null;
      return true;
    },
  };

  async function graphqlEndpoint(request: Request): Promise<Response> {
    const token = bearer(request);
    let body: { query?: string; variables?: Record<string, unknown>; operationName?: string };
    try {
      body = (await request.json()) as typeof body;
    } catch {
      return json({ errors: [{ message: "Unexpected token in JSON body" }] }, 400);
    }
    let op = "invalid";
    try {
      const doc = parse(body.query ?? "");
      const def = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === "OperationDefinition");
      const field = def?.selectionSet.selections[0];
      op = field && field.kind === "Field" ? field.name.value : "unknown";
    } catch {
      /* the executor below reports the syntax error */
    }

    const epoch = faults.epoch;

    const rule: FaultRule | undefined = faults.take(op);
    if (rule) {
      const res = await faultResponse(rule, (status) =>
        status === 429 ? { errors: [{ message: "You have exceeded the rate limit. Please try again later." }] } : { errors: [{ message: "Internal server error" }] },
      );
      if (res) {
        faults.record(op, res.status, epoch);
        return res;
      }
      // A delayed call that outlived its test must not change the next test's state.
      if (epoch !== faults.epoch) return new Response(null, { status: 503 });
    }

    requestsThisHour++;
    const rateHeaders = {
      "x-ratelimit-limit": String(hourlyLimit),
      "x-ratelimit-remaining": String(Math.max(0, hourlyLimit - requestsThisHour)),
      "x-ratelimit-reset": String(Math.ceil(Date.now() / 3_600_000) * 3600),
    };
    if (token !== opts.token) {
      faults.record(op, 200, epoch);
      return json({ data: null, errors: [{ message: "Not Authorized", path: [op], extensions: { code: "INTERNAL_SERVER_ERROR" } }] }, 200, rateHeaders);
    }
    const checked = checkDocument(body.query ?? "");
    const result =
      "errors" in checked
        ? { errors: checked.errors, data: undefined }
        : await execute({ schema: railwaySchema(), document: checked.document, rootValue: root, variableValues: body.variables ?? {}, operationName: body.operationName });
    // Documents that fail to parse or validate never execute and get a 400, like Railway's server.
    const status = result.errors && result.data === undefined ? 400 : 200;
    faults.record(op, status, epoch);
    return json({ ...(result.data !== undefined ? { data: result.data } : {}), ...(result.errors ? { errors: result.errors.map((e) => e.toJSON()) } : {}) }, status, rateHeaders);
  }

  /** An instance's public domain: answers the front server's health for a deployed service. */
  async function instanceEndpoint(request: Request): Promise<Response> {
    const host = new URL(request.url).hostname;
    const s = [...services.values()].find((x) => x.domains.some((d) => d.domain === host));
    if (!s) return json({ status: "error", code: 404, message: "Application not found" }, 404);
    const status = s.deployments.at(-1)?.status;
    const path = new URL(request.url).pathname;
    if (path !== "/pool/health") return json({ error: "not found" }, 404);
    if (status === "SUCCESS" || status === "SLEEPING") return json({ ready: true, version: "fake-runtime", bound: false });
    return json({ ready: false }, 503);
  }

  return {
    host: RAILWAY_HOST,
    faults,
    async fetch(request: Request): Promise<Response> {
      const url = new URL(request.url);
      if (url.hostname.endsWith(".up.railway.app")) return instanceEndpoint(request);
      if (request.method === "POST" && url.pathname === "/graphql/v2") return graphqlEndpoint(request);
      return json({ errors: [{ message: `Cannot ${request.method} ${url.pathname}` }] }, 404);
    },
    reset() {
      services = new Map();
      volumes = new Map();
      faults.reset();
      initialStatus = "SUCCESS";
      requestsThisHour = 0;
    },
    /** Test controls. */
    setInitialStatus(status: string) {
      initialStatus = status;
    },
    setStatus(nameOrId: string, status: string) {
      const s = services.get(nameOrId) ?? [...services.values()].find((x) => x.name === nameOrId);
      if (!s) return false;
      s.deployments.push({ id: id(), status });
      return true;
    },
    /** Adds a service behind the pool's back (an orphan, or someone else's service). */
    addService(name: string, status = "SUCCESS", environmentId = opts.environmentId) {
      const created = root.serviceCreate({ input: { projectId: opts.projectId, environmentId, name, source: { image: "example/orphan@sha256:" + "0".repeat(64) } } });
      services.get(created.id)!.deployments = [{ id: id(), status }];
      return created.id;
    },
    state() {
      return {
        services: [...services.values()].map((s) => ({
          id: s.id,
          name: s.name,
          image: s.image,
          variables: { ...s.variables },
          bootVariables: s.bootVariables ? { ...s.bootVariables } : null,
          bootVolumes: s.bootVolumes ? [...s.bootVolumes] : null,
          deployments: s.deployments.length,
          domains: s.domains.map((d) => d.domain),
          status: s.deployments.at(-1)?.status ?? null,
        })),
        volumes: [...volumes.values()].map((v) => ({ ...v })),
        calls: faults.calls,
      };
    },
  };
}

export type FakeRailway = ReturnType<typeof createFakeRailway>;
