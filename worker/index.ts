import { app } from "./app";
import { coordinator } from "./coordinator";
import { log } from "./lib/log";

export { PoolCoordinator } from "../durable-objects/pool-coordinator";

export default {
  fetch: app.fetch,
  /** Every minute (wrangler.toml [triggers]): the pool keeps ticking with no traffic and after a lost alarm. */
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(
      coordinator(env)
        .keepAlive()
        .then(
          (r) => r.action !== "none" && log.info("cron: coordinator alarm", { cron: controller.cron, ...r }),
          (err: Error) => log.error("cron: coordinator unreachable", { cron: controller.cron, error: err.message }),
        ),
    );
  },
} satisfies ExportedHandler<Env>;
