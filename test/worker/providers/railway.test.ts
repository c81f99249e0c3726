import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { computeProvider } from "../../../worker/providers/compute";
import { createRailwayProvider, RAILWAY_STATE } from "../../../worker/providers/compute/railway";
import { ProviderError } from "../../../worker/providers/compute/types";
import { TokenBucket } from "../../../worker/providers/http";
import { FAKE_CREDENTIALS as C } from "../../support/fakes/credentials";
import { providerControl, providerState, setProviderFaults } from "../helpers";

const PREFIX = "convos-agent";

function railway(overrides: Partial<Parameters<typeof createRailwayProvider>[0]> = {}) {
  return createRailwayProvider({
    token: C.RAILWAY_API_TOKEN,
    projectId: C.RAILWAY_PROJECT_ID,
    environmentId: C.RAILWAY_ENVIRONMENT_ID,
    image: C.RAILWAY_RUNTIME_IMAGE,
    prefix: PREFIX,
    baseDelayMs: 1,
    maxDelayMs: 5,
    ...overrides,
  });
}

const spec = (id: string, variables: Record<string, string> = {}) => ({ name: `${PREFIX}-${id}`, instanceId: id, variables: { INSTANCE_ID: id, GATEWAY_TOKEN: "gw-secret", ...variables } });

describe("railway compute provider", () => {
  it("creates the service from the pinned image with every variable in the first deployment, and a public domain", async () => {
    const created = await railway().create(spec("i1", { OPENROUTER_API_KEY: "sk-or-v1-x" }));
    expect(created.url).toMatch(/^https:\/\/convos-agent-i1-.+\.up\.railway\.app$/);

    const { railway: state } = await providerState();
    expect(state.services).toHaveLength(1);
    const svc = state.services[0];
    expect(svc.id).toBe(created.serviceId);
    expect(svc.image).toBe(C.RAILWAY_RUNTIME_IMAGE);
    // The deployment booted with the full environment: nothing was added afterwards.
    expect(svc.bootVariables).toEqual({ PORT: "8080", INSTANCE_ID: "i1", GATEWAY_TOKEN: "gw-secret", OPENROUTER_API_KEY: "sk-or-v1-x" });
    expect(svc.domains).toEqual([new URL(created.url).hostname]);
    // Its volume was attached before that first deployment (railway-volumes.test.ts has the lifecycle).
    expect(svc.bootVolumes).toEqual(["/data"]);
    expect(svc.deployments).toBe(1);
    expect(state.calls.map((c: { op: string }) => c.op)).toEqual(["serviceCreate", "serviceDomainCreate", "volumeCreate", "serviceInstanceUpdate", "serviceInstanceDeployV2"]);
  });

  it("refuses an image that is not pinned by digest, before any request", async () => {
    const err = await railway({ image: "ghcr.io/convos/agent-runtime:latest" })
      .create(spec("i2"))
      .catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toMatch(/pinned by digest/);
    expect((await providerState()).railway.calls).toHaveLength(0);
  });

  it("refuses a service name Railway would reject (over 32 characters), before any request", async () => {
    const err = await railway()
      .create({ ...spec("i2"), name: "convos-agent-staging-i0123456789ab" })
      .catch((e) => e);
    expect(err.message).toMatch(/longer than Railway's 32 characters: shorten SERVICE_PREFIX/);
    expect((await providerState()).railway.calls).toHaveLength(0);
  });

  it("lists the pool's services with their state in one query, skipping other services and other pools' ones", async () => {
    const provider = railway();
    const a = await provider.create(spec("ia"));
    await provider.create(spec("ib"));
    await providerControl("/railway/services", { name: "postgres", status: "SUCCESS" });
    // Another pool in the same project whose prefix starts with ours.
    await providerControl("/railway/services", { name: `${PREFIX}-dev-i0123456789ab`, status: "SUCCESS" });
    // A service of this pool's name pattern deployed in another Railway environment.
    await providerControl("/railway/services", { name: `${PREFIX}-iotherenv0001`, status: "SUCCESS", environmentId: "another-environment" });
    await providerControl("/railway/status", { service: `${PREFIX}-ib`, status: "SLEEPING" });

    const before = (await providerState()).railway.calls.length;
    const list = await provider.list();
    expect((await providerState()).railway.calls.length - before).toBe(1);
    expect(list.map((s) => [s.name, s.state, s.rawStatus]).sort()).toEqual([
      [`${PREFIX}-ia`, "running", "SUCCESS"],
      [`${PREFIX}-ib`, "sleeping", "SLEEPING"],
    ]);
    expect(list.find((s) => s.name === `${PREFIX}-ia`)!.url).toBe(a.url);
  });

  it("maps every deployment status Railway reports; SLEEPING is not dead", async () => {
    const provider = railway();
    await provider.create(spec("is"));
    const seen: Record<string, string> = {};
    for (const status of Object.keys(RAILWAY_STATE)) {
      await providerControl("/railway/status", { service: `${PREFIX}-is`, status });
      const [svc] = await provider.list();
      seen[status] = svc!.state;
    }
    expect(seen).toEqual({
      BUILDING: "deploying",
      DEPLOYING: "deploying",
      INITIALIZING: "deploying",
      QUEUED: "deploying",
      WAITING: "deploying",
      NEEDS_APPROVAL: "deploying",
      SKIPPED: "deploying",
      SUCCESS: "running",
      SLEEPING: "sleeping",
      FAILED: "failed",
      CRASHED: "failed",
      REMOVED: "removed",
      REMOVING: "removed",
    });
  });

  it("pages through a large project", async () => {
    for (let i = 0; i < 7; i++) await providerControl("/railway/services", { name: `${PREFIX}-p${i}` });
    const provider = createRailwayProvider({
      token: C.RAILWAY_API_TOKEN,
      projectId: C.RAILWAY_PROJECT_ID,
      environmentId: C.RAILWAY_ENVIRONMENT_ID,
      image: C.RAILWAY_RUNTIME_IMAGE,
      prefix: PREFIX,
      pageSize: 3,
    });
    const list = await provider.list();
    expect(list).toHaveLength(7);
    expect((await providerState()).railway.calls.filter((c: { op: string }) => c.op === "project")).toHaveLength(3);
  });

  it("deletes a service; deleting one that is already gone counts as deleted", async () => {
    const provider = railway();
    const { serviceId } = await provider.create(spec("id"));
    await provider.destroy(serviceId);
    await provider.destroy(serviceId);
    expect((await providerState()).railway.services).toHaveLength(0);
  });

  it("counts a delete Railway answers Not Authorized as done when the project no longer has the service", async () => {
    const provider = railway();
    const { serviceId } = await provider.create(spec("igone"));
    const notAuthorized = { data: null, errors: [{ message: "Not Authorized" }] };
    await provider.destroy(serviceId);
    await setProviderFaults("railway", [{ op: "serviceDelete", status: 200, body: notAuthorized }]);
    await provider.destroy(serviceId);

    // Still listed: the refusal is real and the teardown must retry.
    const { serviceId: kept } = await provider.create(spec("ikept"));
    const err = await provider.destroy(kept).catch((e) => e);
    expect(err.status).toBe(401);
    expect((await providerState()).railway.services).toHaveLength(1);
  });

  it("removes the service again when its domain cannot be created", async () => {
    await setProviderFaults("railway", [{ op: "serviceDomainCreate", status: 500 }]);
    const err = await railway({ retries: 0 })
      .create(spec("idom"))
      .catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect((await providerState()).railway.services).toHaveLength(0);
  });

  it("reports a bad token as unauthorized without echoing the token", async () => {
    const err = await railway({ token: "wrong-token-123456" })
      .list()
      .catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.status).toBe(401);
    expect(err.message).toMatch(/Not Authorized/);
    expect(err.message).not.toContain("wrong-token-123456");
  });

  it("retries a 5xx on reads with backoff and succeeds", async () => {
    await setProviderFaults("railway", [{ op: "project", status: 503, times: 2 }]);
    expect(await railway().list()).toEqual([]);
    expect((await providerState()).railway.calls.map((c: { status: number }) => c.status)).toEqual([503, 503, 200]);
  });

  it("does not repeat a create after an ambiguous 5xx (it could make a second service)", async () => {
    await setProviderFaults("railway", [{ op: "serviceCreate", status: 502, times: 1 }]);
    const err = await railway()
      .create(spec("i5"))
      .catch((e) => e);
    expect(err.retryable).toBe(true);
    expect((await providerState()).railway.calls).toHaveLength(1);
  });

  it("times out a hung call", async () => {
    await setProviderFaults("railway", [{ op: "project", delayMs: 400 }]);
    const err = await railway({ timeoutMs: 50, retries: 1 })
      .list()
      .catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toMatch(/timed out/);
  });

  it("honours a long Retry-After: fails now and sends nothing more until it has passed", async () => {
    await setProviderFaults("railway", [{ op: "*", status: 429, retryAfter: 120 }]);
    const provider = railway();
    const first = await provider.list().catch((e) => e);
    expect(first.status).toBe(429);
    expect(first.retryable).toBe(true);
    for (let i = 0; i < 5; i++) await expect(provider.list()).rejects.toThrow(/rate limited by the provider/);
    await expect(provider.create(spec("i6"))).rejects.toThrow(/rate limited by the provider/);
    expect((await providerState()).railway.calls).toHaveLength(1);
  });

  it("waits out a short Retry-After and then succeeds", async () => {
    await setProviderFaults("railway", [{ op: "project", status: 429, retryAfter: 0.05, times: 1 }]);
    expect(await railway().list()).toEqual([]);
    expect((await providerState()).railway.calls.map((c: { status: number }) => c.status)).toEqual([429, 200]);
  });

  it("never sends more than the hourly budget", async () => {
    const limiter = new TokenBucket({ perSecond: 100, perHour: 4 });
    const provider = railway({ limiter });
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => provider.list()));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(4);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(rejected[0]!.reason.message).toMatch(/hourly request budget \(4\/h\)/);
    expect((await providerState()).railway.calls).toHaveLength(4);
  });

  it("stops when Railway says the budget is spent (X-RateLimit-Remaining: 0) until its reset time", async () => {
    const reset = Math.ceil(Date.now() / 1000) + 600;
    await setProviderFaults("railway", [{ op: "project", status: 429, headers: { "x-ratelimit-limit": "1000", "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) } }]);
    const provider = railway();
    const err = await provider.list().catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.retryable).toBe(true);
    await expect(provider.create(spec("i7"))).rejects.toThrow(/rate limited by the provider for another/);
    expect((await providerState()).railway.calls).toHaveLength(1);
  });

  it("is chosen by COMPUTE_PROVIDER=railway, with the rate budget from its variables", () => {
    const provider = computeProvider({ ...providerEnvFor(), RAILWAY_RATE_PER_HOUR: "250", RAILWAY_RATE_PER_SECOND: "2" } as Env) as ReturnType<typeof createRailwayProvider>;
    expect(provider.name).toBe("railway");
    expect(provider.limiter.snapshot()).toMatchObject({ perHour: 250, perSecond: 2 });
    const defaults = computeProvider({ ...providerEnvFor(), RAILWAY_RATE_PER_HOUR: "", RAILWAY_RATE_PER_SECOND: "" } as Env) as ReturnType<typeof createRailwayProvider>;
    expect(defaults.limiter.snapshot()).toMatchObject({ perHour: 1000, perSecond: 10 });
  });

  it("names the missing settings when Railway is chosen but not configured", () => {
    expect(() => computeProvider({ ...providerEnvFor(), RAILWAY_PROJECT_ID: "", RAILWAY_RUNTIME_IMAGE: "" } as Env)).toThrow(/RAILWAY_PROJECT_ID, RAILWAY_RUNTIME_IMAGE are not set/);
  });
});

function providerEnvFor() {
  return { ...env, ...C, COMPUTE_PROVIDER: "railway", SERVICE_PREFIX: PREFIX };
}
