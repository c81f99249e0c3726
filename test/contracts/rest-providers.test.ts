import { describe, expect, it } from "vitest";
import { createAgentMailClient } from "../../worker/providers/agentmail";
import { createNotionClient, NOTION_VERSION } from "../../worker/providers/notion";
import { createOpenRouterClient } from "../../worker/providers/openrouter";
import { createTelnyxClient } from "../../worker/providers/telnyx";
import { createFakeAgentMail } from "../support/fakes/agentmail";
import { createFakeNotion } from "../support/fakes/notion";
import { createFakeOpenRouter } from "../support/fakes/openrouter";
import { createFakeTelnyx } from "../support/fakes/telnyx";
import { check, loadSpec, operationSchema, propertyNames, resolve } from "./openapi-check";

/**
 * The real clients talk to the fakes here, in Node, and every request they send and every
 * answer the fakes give is checked against the provider's published OpenAPI document
 * (test/support/fixtures/<provider>). A fake drifting from the wire format fails here.
 */
interface Exchange {
  method: string;
  path: string;
  query: URLSearchParams;
  requestBody: unknown;
  status: number;
  responseBody: unknown;
}

function recorder(fake: { fetch(r: Request): Promise<Response> }) {
  const log: Exchange[] = [];
  const fetcher = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const text = await request.clone().text();
    const res = await fake.fetch(request);
    const body = await res.clone().text();
    log.push({
      method: request.method,
      path: url.pathname,
      query: url.searchParams,
      requestBody: text ? JSON.parse(text) : undefined,
      status: res.status,
      responseBody: body ? JSON.parse(body) : undefined,
    });
    return res;
  }) as typeof fetch;
  return { log, fetcher };
}

const FAST = { baseDelayMs: 1, maxDelayMs: 2, retries: 0 };

describe("OpenRouter client and fake against OpenRouter's OpenAPI", () => {
  const spec = loadSpec("openrouter/openrouter-keys-subset.openapi.json");

  it("create, read, delete and list speak the documented shapes", async () => {
    const fake = createFakeOpenRouter({ managementKey: "mgmt" });
    const { log, fetcher } = recorder(fake);
    const client = createOpenRouterClient({ managementKey: "mgmt", fetch: fetcher, ...FAST });
    const { hash } = await client.createKey("convos-agent-i1", 20);
    await client.usage(hash);
    await client.findKeysByName("convos-agent-i1");
    await client.deleteKey(hash);
    await client.deleteKey(hash); // 404

    const find = (method: string, status: number, path?: RegExp) => log.find((e) => e.method === method && e.status === status && (!path || path.test(e.path)))!;
    const create = find("POST", 201);
    const get = find("GET", 200, /keys\/[^/]+$/);
    const list = find("GET", 200, /keys$/);
    const del = find("DELETE", 200);
    const del404 = find("DELETE", 404);
    expect(check(spec, operationSchema(spec, "/keys", "post", "request"), create!.requestBody)).toEqual([]);
    expect(create!.status).toBe(201);
    expect(check(spec, operationSchema(spec, "/keys", "post", "201"), create!.responseBody)).toEqual([]);
    expect(check(spec, operationSchema(spec, "/keys/{hash}", "get", "200"), get!.responseBody)).toEqual([]);
    expect(check(spec, operationSchema(spec, "/keys", "get", "200"), list!.responseBody)).toEqual([]);
    expect(check(spec, operationSchema(spec, "/keys/{hash}", "delete", "200"), del.responseBody)).toEqual([]);
    expect(del404!.status).toBe(404);
    expect(check(spec, operationSchema(spec, "/keys/{hash}", "delete", "404"), del404!.responseBody)).toEqual([]);
  });

  it("a limit update (PATCH) and a key's own read (GET /key) speak the documented shapes", async () => {
    const fake = createFakeOpenRouter({ managementKey: "mgmt" });
    const { log, fetcher } = recorder(fake);
    const client = createOpenRouterClient({ managementKey: "mgmt", fetch: fetcher, ...FAST });
    const { hash, key } = await client.createKey("convos-agent-i2", 20);
    fake.setUsage(hash, 5);
    expect(await client.setLimit(hash, 30)).toMatchObject({ limit: 30, limitRemaining: 25, usageMonthly: 5 });
    expect(await client.setLimit("0".repeat(64), 30)).toBeNull();
    const patch = log.find((e) => e.method === "PATCH" && e.status === 200)!;
    expect(check(spec, operationSchema(spec, "/keys/{hash}", "patch", "request"), patch.requestBody)).toEqual([]);
    expect(check(spec, operationSchema(spec, "/keys/{hash}", "patch", "200"), patch.responseBody)).toEqual([]);
    const missing = log.find((e) => e.method === "PATCH" && e.status === 404)!;
    expect(check(spec, operationSchema(spec, "/keys/{hash}", "patch", "404"), missing.responseBody)).toEqual([]);

    const own = await fake.fetch(new Request("https://openrouter.ai/api/v1/key", { headers: { authorization: `Bearer ${key}` } }));
    const ownBody = await own.json();
    expect(own.status).toBe(200);
    expect(check(spec, operationSchema(spec, "/key", "get", "200"), ownBody)).toEqual([]);
    expect(ownBody.data).toMatchObject({ limit: 30, usage: 5, limit_remaining: 25 });
    const stranger = await fake.fetch(new Request("https://openrouter.ai/api/v1/key", { headers: { authorization: "Bearer sk-or-v1-unknown" } }));
    expect(stranger.status).toBe(401);
    expect(check(spec, operationSchema(spec, "/key", "get", "401"), await stranger.json())).toEqual([]);
  });

  it("the fake's 401 and 429 bodies are OpenRouter's error shape", async () => {
    const fake = createFakeOpenRouter({ managementKey: "mgmt" });
    fake.faults.set([{ op: "POST /api/v1/keys", status: 429, retryAfter: 1, times: 1 }]);
    const limited = await fake.fetch(new Request("https://openrouter.ai/api/v1/keys", { method: "POST", headers: { authorization: "Bearer mgmt" }, body: "{}" }));
    expect(check(spec, operationSchema(spec, "/keys", "post", "429"), await limited.json())).toEqual([]);
    const denied = await fake.fetch(new Request("https://openrouter.ai/api/v1/keys", { method: "POST", body: "{}" }));
    expect(denied.status).toBe(401);
    expect(check(spec, operationSchema(spec, "/keys", "post", "401"), await denied.json())).toEqual([]);
  });
});

describe("Telnyx client and fake against Telnyx's OpenAPI", () => {
  const spec = loadSpec("telnyx/telnyx-subset.openapi.json");

  it("search and order speak the documented shapes; a taken number is a documented 422", async () => {
    const fake = createFakeTelnyx({ apiKey: "tk", messagingProfileId: "mp" });
    const { log, fetcher } = recorder(fake);
    const client = createTelnyxClient({ apiKey: "tk", fetch: fetcher, ...FAST });
    const [first, second] = await client.searchNumbers(2);
    fake.sellElsewhere([first!]);
    expect(await client.orderNumber(first!, "mp", "i1")).toEqual({ ok: false, reason: "answered 422" });
    expect((await client.orderNumber(second!, "mp", "i1")).ok).toBe(true);

    const [search, refused, ordered] = log;
    const filter = (spec.paths["/available_phone_numbers"].get.parameters as any[]).find((p) => p.name === "filter");
    const allowed = Object.keys(resolve(spec, filter.schema).properties);
    for (const key of search!.query.keys()) expect(allowed).toContain(/^filter\[(\w+)\]/.exec(key)?.[1]);
    expect(check(spec, operationSchema(spec, "/available_phone_numbers", "get", "200"), search!.responseBody)).toEqual([]);
    expect(check(spec, operationSchema(spec, "/number_orders", "post", "request"), ordered!.requestBody)).toEqual([]);
    expect(propertyNames(spec, operationSchema(spec, "/number_orders", "post", "request"))).toEqual(expect.arrayContaining(Object.keys(ordered!.requestBody as object)));
    expect(check(spec, operationSchema(spec, "/number_orders", "post", "200"), ordered!.responseBody)).toEqual([]);
    expect(refused!.status).toBe(422);
    expect(check(spec, operationSchema(spec, "/number_orders", "post", "422"), refused!.responseBody)).toEqual([]);
  });
});

describe("AgentMail client and fake against AgentMail's OpenAPI", () => {
  const spec = loadSpec("agentmail/current-openapi.json");

  it("create and delete speak the documented shapes", async () => {
    const fake = createFakeAgentMail({ apiKey: "ak", domains: ["agents.example.com"] });
    const { log, fetcher } = recorder(fake);
    const client = createAgentMailClient({ apiKey: "ak", fetch: fetcher, ...FAST });
    const inbox = await client.createInbox({ username: "convos-agent-i1", domain: "agents.example.com", clientId: "i1", displayName: "Agent" });
    expect(inbox.inbox_id).toBe("convos-agent-i1@agents.example.com");
    await client.deleteInbox(inbox.inbox_id);
    await client.deleteInbox(inbox.inbox_id);

    const [create, del, del404] = log;
    const request = operationSchema(spec, "/v0/inboxes", "post", "request");
    expect(check(spec, request, create!.requestBody)).toEqual([]);
    expect(propertyNames(spec, request)).toEqual(expect.arrayContaining(Object.keys(create!.requestBody as object)));
    expect(check(spec, operationSchema(spec, "/v0/inboxes", "post", "200"), create!.responseBody)).toEqual([]);
    expect(del!.status).toBe(204);
    expect(del404!.status).toBe(404);
    expect(check(spec, operationSchema(spec, "/v0/inboxes/{inbox_id}", "delete", "404"), del404!.responseBody)).toEqual([]);
  });
});

describe("Notion client and fake against Notion's OpenAPI", () => {
  const spec = loadSpec("notion/notion-openapi.json");

  it("sends only documented parameters and headers, and pages blocks with next_cursor", async () => {
    const fake = createFakeNotion({ apiKey: "nk", pageSize: 2 });
    fake.setPage("0123456789abcdef0123456789abcdef", "Title", [
      { type: "paragraph", text: "a" },
      { type: "paragraph", text: "b" },
      { type: "paragraph", text: "c" },
    ]);
    const seen: Request[] = [];
    const client = createNotionClient({
      apiKey: "nk",
      ...FAST,
      fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
        const r = new Request(input, init);
        seen.push(r.clone());
        return fake.fetch(r);
      }) as typeof fetch,
    });
    const result = await client.prompt("0123456789abcdef0123456789abcdef");
    expect(result).toMatchObject({ ok: true, prompt: { title: "Title", text: "a\nb\nc" } });

    const header = resolve(spec, { $ref: "#/components/parameters/notionVersion" });
    for (const r of seen) {
      const url = new URL(r.url);
      const template = url.pathname.replace(/\/v1\/(pages|blocks)\/[0-9a-f]+/, (_m, kind) => `/v1/${kind}/${kind === "pages" ? "{page_id}" : "{block_id}"}`);
      const params = (spec.paths[template].get.parameters as any[]).map((p) => resolve(spec, p));
      for (const key of url.searchParams.keys()) expect(params.filter((p) => p.in === "query").map((p) => p.name)).toContain(key);
      expect(r.headers.get(header.name)).toBe(NOTION_VERSION);
      expect(r.headers.get("authorization")).toBe("Bearer nk");
    }
    expect(seen.map((r) => new URL(r.url).searchParams.get("start_cursor"))).toEqual([null, null, expect.any(String)]);
  });
});
