import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { FAKE_CONVOS_CLI, FAKE_CONVOS_NETWORK, ROOT } from "./supervisor/processes.ts";

/**
 * Talks to one local instance the way its owner's tools would, with its own gateway token
 * (which the pool never hands out): `node local/instance.ts <command> [instance] [text]`.
 *
 *   list                      instances of the running `npm start`
 *   status <instance>         GET /convos/status
 *   send <instance> <text>    POST /convos/conversation/send (the agent says it)
 *   say <instance> <text>     a message from a person in the conversation (fake CLI only)
 *   invite [name]             a conversation of yours in the app, and its invite to paste
 *                             into the join form (fake CLI only)
 *   transcript <instance>     what the fake convos CLI recorded
 *   token <instance>          the gateway token, for curl
 *
 * <instance> is the pool's instance id (from the claim) or the supervisor's service id.
 */
interface ServiceFile {
  id: string;
  name: string;
  instanceId: string;
  url: string;
  stateDir: string;
  convosCli: string;
  variables: Record<string, string>;
}

const instancesDir = path.join(process.env.POOL_STATE_DIR ?? path.join(ROOT, ".local"), "instances");

function services(): ServiceFile[] {
  if (!existsSync(instancesDir)) return [];
  return readdirSync(instancesDir)
    .map((d) => path.join(instancesDir, d, "service.json"))
    .filter((f) => existsSync(f))
    .map((f) => JSON.parse(readFileSync(f, "utf8")) as ServiceFile);
}

function find(id: string | undefined): ServiceFile {
  if (!id) fail("which instance? (node local/instance.ts list)");
  const svc = services().find((s) => s.instanceId === id || s.id === id);
  if (!svc) fail(`no local instance ${id} under ${instancesDir} (is npm start running?)`);
  return svc;
}

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

async function call(svc: ServiceFile, method: string, route: string, body?: unknown): Promise<void> {
  const res = await fetch(`${svc.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${svc.variables.GATEWAY_TOKEN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).catch((err: Error) => fail(`${svc.url} did not answer: ${err.message}`));
  console.log(`${res.status} ${await res.text()}`);
  if (!res.ok) process.exitCode = 1;
}

const [command, id, ...rest] = process.argv.slice(2);
const text = rest.join(" ");
const convosHome = (svc: ServiceFile) => path.join(svc.stateDir, "convos");

switch (command) {
  case "list":
    for (const s of services()) console.log(`${s.instanceId}  ${s.id}  ${s.url}`);
    break;
  case "status":
    await call(find(id), "GET", "/convos/status");
    break;
  case "send":
    if (!text) fail("send <instance> <text>");
    await call(find(id), "POST", "/convos/conversation/send", { message: text });
    break;
  case "say": {
    if (!text) fail("say <instance> <text>");
    const svc = find(id);
    // Only the fake CLI has an inbox to write to; with a real CLI, write from the Convos app.
    const out = execFileSync(svc.convosCli, ["fake-inject", "--text", text, "--sender-name", "You", "--home", convosHome(svc)], { encoding: "utf8" });
    console.log(out.trim());
    break;
  }
  case "transcript": {
    const file = path.join(convosHome(find(id)), "fake-transcript.ndjson");
    if (!existsSync(file)) fail("(no transcript yet)");
    for (const line of readFileSync(file, "utf8").split("\n").filter(Boolean)) {
      const e = JSON.parse(line) as { at: string; kind: string; text?: string; command?: string; conversationId?: string };
      console.log(`${e.at}  ${e.kind.padEnd(15)} ${e.text ?? e.command ?? e.conversationId ?? ""}`);
    }
    break;
  }
  case "invite": {
    // The owner's side, in the model network every local instance shares.
    const out = execFileSync(
      FAKE_CONVOS_CLI,
      ["fake-invite", "--owner-name", "You", ...(id ? ["--name", [id, text].filter(Boolean).join(" ")] : []), "--home", path.join(instancesDir, "fake-app-owner")],
      {
        encoding: "utf8",
        env: { ...process.env, FAKE_CONVOS_NETWORK_DIR: path.join(instancesDir, FAKE_CONVOS_NETWORK) },
      },
    );
    console.log((JSON.parse(out) as { inviteUrl: string }).inviteUrl);
    break;
  }
  case "token":
    console.log(find(id).variables.GATEWAY_TOKEN);
    break;
  default:
    fail("usage: node local/instance.ts list | status <instance> | send <instance> <text> | say <instance> <text> | invite [name] | transcript <instance> | token <instance>");
}
