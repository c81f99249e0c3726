import { z } from "zod";
import { LOCAL_IMAGE } from "../../../local/supervisor/protocol.ts";
import { type ComputeProvider, type DeploymentState, ProviderError, type ServiceSpec } from "./types";

/** Client of the local supervisor (local/supervisor/protocol.ts): the compute host of `npm start`. */
const ServiceSchema = z.object({
  id: z.string(),
  name: z.string(),
  url: z.string(),
  status: z.enum(["starting", "running", "exited", "failed"]),
});

const STATE: Record<z.infer<typeof ServiceSchema>["status"], DeploymentState> = {
  starting: "deploying",
  running: "running",
  exited: "failed",
  failed: "failed",
};

export interface LocalProviderOptions {
  baseUrl: string;
  token: string;
  prefix: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export function createLocalProvider(opts: LocalProviderOptions): ComputeProvider {
  const doFetch = opts.fetch ?? fetch;
  const base = opts.baseUrl.replace(/\/$/, "");
  const call = async (method: string, path: string, body?: unknown): Promise<Response> => {
    let res: Response;
    try {
      res = await doFetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${opts.token}`, ...(body ? { "content-type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
      });
    } catch (err) {
      throw new ProviderError("local", `${method} ${path} failed: ${(err as Error).message}`, undefined, true);
    }
    return res;
  };
  const fail = async (res: Response, what: string) => {
    const text = await res.text().catch(() => "");
    throw new ProviderError("local", `${what} answered ${res.status} ${text.slice(0, 200)}`, res.status, res.status >= 500 || res.status === 429);
  };

  return {
    name: "local",
    // The local host's "image" is the runtime version label the supervisor starts the runtime with.
    defaultImage: null,
    imageProblem: localImageProblem,
    async create(spec: ServiceSpec) {
      const res = await call("POST", "/services", { name: spec.name, instanceId: spec.instanceId, variables: spec.variables, ...(spec.image ? { image: spec.image } : {}) });
      if (res.status !== 201) await fail(res, "create");
      const service = ServiceSchema.parse(await res.json());
      return { serviceId: service.id, url: service.url };
    },
    async list() {
      const res = await call("GET", "/services");
      if (!res.ok) await fail(res, "list");
      const parsed = z.object({ services: z.array(ServiceSchema) }).safeParse(await res.json().catch(() => null));
      if (!parsed.success) throw new ProviderError("local", "list answered an unexpected body");
      return parsed.data.services.filter((s) => s.name.startsWith(`${opts.prefix}-`)).map((s) => ({ serviceId: s.id, name: s.name, state: STATE[s.status], rawStatus: s.status, url: s.url }));
    },
    async redeploy(serviceId: string, image: string) {
      const problem = localImageProblem(image);
      if (problem) throw new ProviderError("local", problem, 400);
      const res = await call("POST", `/services/${encodeURIComponent(serviceId)}/redeploy`, { image });
      if (!res.ok) await fail(res, "redeploy");
      return { deploymentId: null };
    },
    async destroy(serviceId: string) {
      const res = await call("DELETE", `/services/${encodeURIComponent(serviceId)}`);
      if (res.status === 404 || res.ok) return;
      await fail(res, "destroy");
    },
  };
}

export function localImageProblem(ref: string): string | null {
  return LOCAL_IMAGE.test(ref) ? null : `image "${ref.slice(0, 100)}" is not a local runtime version label (letters, digits and . _ : + -, at most 64)`;
}
