// The Worker the benchmarks run: the production app and coordinator plus the benchmark-only
// routes under /_bench. Production deploys worker/index.ts, which does not import this.
import { app } from "../../worker/app";
import worker from "../../worker/index";
import { benchRoutes } from "./routes";

export { PoolCoordinator } from "../../durable-objects/pool-coordinator";

app.route("/_bench", benchRoutes);

export default worker;
