// Stand-in for `openclaw gateway run` when OpenClaw is not installed (or OPENCLAW_GATEWAY=stub):
// it reads the same rendered openclaw.json, hosts the same convos plugin routes on the
// gateway port, answers WebSockets with an echo, and — there being no agent — logs inbound
// messages and, unless STUB_GATEWAY_REPLY=off, answers each with an echo so a person
// testing locally sees the round trip.
import fs from "node:fs";
import http from "node:http";
import { WebSocketServer } from "ws";
import { handleConvosRequest } from "../plugins/convos/src/http-routes.ts";
import { getOrCreateService } from "../plugins/convos/src/service-singleton.ts";
import { resolveServiceOptions } from "../plugins/convos/src/settings.ts";

const configPath = process.env.OPENCLAW_CONFIG_PATH;
if (!configPath) {
  process.stderr.write("stub gateway: OPENCLAW_CONFIG_PATH is not set\n");
  process.exit(2);
}
const config = JSON.parse(fs.readFileSync(configPath, "utf8"));
const port: number = config.gateway.port;
const log = (line: string) => process.stdout.write(`[stub-gateway] ${line}\n`);
const service = getOrCreateService(() => resolveServiceOptions(config.plugins?.entries?.convos?.config, config.channels?.convos, process.env, (l) => log(`convos: ${l}`)));
const replyMode = process.env.STUB_GATEWAY_REPLY ?? "echo";

service.onInbound((msg) => {
  log(`inbound ${msg.kind} message ${msg.messageId} from ${msg.senderId.slice(0, 12)} (no agent in stub mode)`);
  // Only what a member wrote is echoed; reactions, joins and files are only logged.
  if (replyMode === "echo" && (msg.kind === "text" || msg.kind === "reply")) {
    service.send(`echo: ${msg.text}`).catch((err) => log(`echo reply failed: ${err instanceof Error ? err.message : String(err)}`));
  }
});

const server = http.createServer(async (req, res) => {
  const handled = await handleConvosRequest(req, res, { service, gatewayToken: process.env.GATEWAY_TOKEN, workspaceDir: service.opts.workspaceDir });
  if (handled) return;
  const body = JSON.stringify({ error: { code: "not_found", message: `stub gateway has no ${req.method} ${req.url}; run with OpenClaw installed for the full gateway` } });
  res.writeHead(404, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) });
  res.end(body);
});

const wss = new WebSocketServer({ server });
wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
});

// Tests use STUB_GATEWAY_START_DELAY_MS to hold the gateway in its "starting" phase the
// way a real OpenClaw boot (10-60 s) does.
setTimeout(() => {
  server.listen(port, "127.0.0.1", () => {
    log(`listening on 127.0.0.1:${port}`);
    service.resume();
  });
}, Number(process.env.STUB_GATEWAY_START_DELAY_MS) || 0);

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await service.shutdown();
  for (const client of wss.clients) client.terminate();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on("SIGTERM", () => void shutdown());
// If the front server dies without stopping us (SIGKILL), do not linger as an orphan.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void shutdown();
}, 1000).unref();
process.on("SIGINT", () => void shutdown());
