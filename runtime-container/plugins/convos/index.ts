// OpenClaw entry for the convos channel plugin: the channel itself plus the /convos/* HTTP
// routes the front server drives (create, join, send, rename, lock, explode, status, reset).
import { defineChannelPluginEntry } from "openclaw/plugin-sdk/channel-core";
import { convosChannel } from "./src/channel.ts";
import { handleConvosRequest } from "./src/http-routes.ts";
import { PROFILE_PATH, handleProfileRequest } from "./src/profile.ts";
import { REMINDER_TOOL } from "./src/reminders.ts";
import { rememberCron, reminderTool, removeReminders, type CronAccess } from "./src/reminder-tool.ts";
import { getOrCreateService, rememberRuntime, type PluginRuntimeLike } from "./src/service-singleton.ts";
import { resolveServiceOptions, type ChannelConfig, type PluginConfig } from "./src/settings.ts";

export default defineChannelPluginEntry({
  id: "convos",
  name: "Convos",
  description: "Convos (XMTP) group chat channel driven by the convos CLI",
  plugin: convosChannel,
  registerFull(api: {
    runtime: unknown;
    config: { channels?: Record<string, ChannelConfig> };
    pluginConfig?: PluginConfig;
    logger?: { info: (m: string) => void; warn: (m: string) => void; error: (m: string) => void };
    registerService: (s: { id: string; start: (ctx?: { getCron?: () => CronAccess | undefined }) => void | Promise<void>; stop?: () => void | Promise<void> }) => void;
    registerTool: (tool: unknown, opts: { name: string }) => void;
    registerHttpRoute: (p: { path: string; auth: "plugin" | "gateway"; match?: "prefix" | "exact"; handler: (req: never, res: never) => Promise<boolean> }) => void;
  }) {
    rememberRuntime(api.runtime as PluginRuntimeLike);
    const log = (line: string) => api.logger?.info(`convos: ${line}`);
    const service = getOrCreateService(() => resolveServiceOptions(api.pluginConfig, api.config?.channels?.convos, process.env, log));
    // The gateway owns the `agent serve` child's lifetime: resume the bound conversation on
    // start, stop the child on shutdown so it never outlives the gateway.
    // The service context also carries the gateway's scheduler: the reminders tool writes
    // its jobs there, and they go when the conversation does.
    api.registerService({
      id: "convos-stream",
      start: (ctx) => {
        rememberCron(ctx?.getCron);
        return service.resume();
      },
      stop: () => service.shutdown(),
    });
    service.onConversationGone(() => removeReminders(log).then(() => undefined));
    api.registerTool(reminderTool(service), { name: REMINDER_TOOL });
    api.registerHttpRoute({
      path: "/convos",
      match: "prefix",
      // Plugin-managed auth: the routes check the instance's GATEWAY_TOKEN themselves.
      auth: "plugin",
      handler: (req, res) => handleConvosRequest(req, res, { service, gatewayToken: process.env.GATEWAY_TOKEN, workspaceDir: service.opts.workspaceDir }),
    });
    // Exact routes win over the /convos prefix: the agent's own profile (name, avatar).
    api.registerHttpRoute({
      path: PROFILE_PATH,
      match: "exact",
      auth: "plugin",
      handler: (req, res) => handleProfileRequest(req, res, { service, gatewayToken: process.env.GATEWAY_TOKEN, workspaceDir: service.opts.workspaceDir }),
    });
  },
} as never);
