import { app } from "./app";

export { PoolCoordinator } from "../durable-objects/pool-coordinator";

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
