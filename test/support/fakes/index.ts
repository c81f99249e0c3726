import { createFakeAgentMail } from "./agentmail.ts";
import { FAKE_CREDENTIALS as C, FAKES_CONTROL } from "./credentials.ts";
import { json, type FaultRule } from "./faults.ts";
import { createFakeNotion } from "./notion.ts";
import { createFakeOpenRouter } from "./openrouter.ts";
import { createFakeRailway } from "./railway.ts";
import { createFakeTelnyx } from "./telnyx.ts";

export { FAKE_CREDENTIALS, FAKES_CONTROL } from "./credentials.ts";

/**
 * The external providers, one in-process fake each, plus a control host through which tests
 * (running inside the Workers runtime) read their state, reset them and inject failures.
 */
export function createProviderFakes() {
  const railway = createFakeRailway({ token: C.RAILWAY_API_TOKEN, projectId: C.RAILWAY_PROJECT_ID, environmentId: C.RAILWAY_ENVIRONMENT_ID });
  const openrouter = createFakeOpenRouter({ managementKey: C.OPENROUTER_MANAGEMENT_KEY });
  const agentmail = createFakeAgentMail({ apiKey: C.AGENTMAIL_API_KEY, domains: [C.AGENTMAIL_DOMAIN] });
  const telnyx = createFakeTelnyx({ apiKey: C.TELNYX_API_KEY, messagingProfileId: C.TELNYX_MESSAGING_PROFILE_ID });
  const notion = createFakeNotion({ apiKey: C.NOTION_API_KEY, pageSize: 3 });
  const fakes = { railway, openrouter, agentmail, telnyx, notion };

  async function control(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const body = request.method === "GET" ? null : ((await request.json().catch(() => null)) as any);
    const path = url.pathname;
    if (path === "/reset" && request.method === "POST") {
      for (const f of Object.values(fakes)) f.reset();
      return json({ ok: true });
    }
    if (path === "/state") {
      return json(Object.fromEntries(Object.entries(fakes).map(([k, f]) => [k, f.state()])));
    }
    const faultPath = /^\/faults\/(\w+)$/.exec(path);
    if (faultPath && request.method === "PUT") {
      const fake = fakes[faultPath[1] as keyof typeof fakes];
      if (!fake) return json({ error: `no fake ${faultPath[1]}` }, 404);
      fake.faults.set((body ?? []) as FaultRule[]);
      return json({ ok: true });
    }
    switch (`${request.method} ${path}`) {
      case "POST /railway/status":
        return json({ ok: railway.setStatus(body.service, body.status) });
      case "POST /railway/initial-status":
        railway.setInitialStatus(body.status);
        return json({ ok: true });
      case "POST /railway/bind":
        return json({ ok: railway.bind(body.service) });
      case "POST /railway/crash-image":
        railway.crashImage(body.image);
        return json({ ok: true });
      case "POST /railway/services":
        return json({ id: railway.addService(body.name, body.status, body.environmentId) });
      case "POST /openrouter/usage":
        return json({ ok: openrouter.setUsage(body.hash, body.usd) });
      case "POST /telnyx/sold":
        telnyx.sellElsewhere(body.numbers);
        return json({ ok: true });
      case "POST /notion/pages":
        notion.setPage(body.id, body.title, body.blocks);
        return json({ ok: true });
    }
    return json({ error: `no control ${request.method} ${path}` }, 404);
  }

  return {
    fakes,
    /** Hostname → handler, for the fake cloud's router. */
    hosts: {
      [new URL(FAKES_CONTROL).hostname]: control,
      [railway.host]: railway.fetch,
      "*.up.railway.app": railway.fetch,
      [openrouter.host]: openrouter.fetch,
      [agentmail.host]: agentmail.fetch,
      [telnyx.host]: telnyx.fetch,
      [notion.host]: notion.fetch,
    } as Record<string, (request: Request) => Promise<Response>>,
  };
}
