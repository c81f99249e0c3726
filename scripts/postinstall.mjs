// Installs the runtime container's own dependencies (openclaw, the convos CLI) after the root
// install. It runs from an npm lifecycle script, so the project's pinned Node 24 is first on
// PATH: openclaw's preinstall refuses older Nodes, and the machine's own Node is 20.
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";

if (process.env.SKIP_RUNTIME_INSTALL === "1" || !existsSync("runtime-container/package.json")) process.exit(0);
const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  console.error(`postinstall: expected the pinned Node 24 first on PATH, got ${process.version}`);
  process.exit(1);
}
// `install`, not `ci`: it honours the lock file and tolerates the optional platform packages
// a lock written on another OS leaves out.
const verb = "install";
console.log(`postinstall: npm ${verb} in runtime-container (Node ${process.version})`);
const r = spawnSync("npm", [verb, "--prefix", "runtime-container", "--no-audit", "--no-fund"], { stdio: "inherit" });
process.exit(r.status ?? 1);
