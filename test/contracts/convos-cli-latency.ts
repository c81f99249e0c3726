// Process costs of the real convos CLI (in the Debian trixie root) next to the model's, per
// latency mode: the figures behind runtime-container/dev/fake-convos/latency.ts.
//   node_modules/.bin/node test/contracts/convos-cli-latency.ts [runs=5]   (as root)
import { COMMAND_START_MS, NETWORK_FAILURE_TOTAL_MS, PROCESS_START_MS, type Range } from "../../runtime-container/dev/fake-convos/latency.ts";
import { ensureRoot, startClis, unavailableReason } from "./support/convos-cli-root.ts";

const reason = unavailableReason();
if (reason) {
  console.log(`skipped: ${reason}`);
  process.exit(0);
}
const runs = Number(process.argv[2] ?? 5);
const clis = startClis(ensureRoot((line) => console.log(line)));
const stats = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b);
  return `median ${s[Math.floor(s.length / 2)]} ms (min ${s[0]}, max ${s.at(-1)})`;
};
try {
  const identityHome = { real: clis.home(), model: "" };
  identityHome.model = identityHome.real;
  await clis.real(["identity", "create", "--json", "--home", identityHome.real]);
  await clis.model(["identity", "create", "--json", "--home", identityHome.model]);
  const cases: [string, Range, (home: string) => string[]][] = [
    ["--version (the model runs the real oclif)", PROCESS_START_MS, () => ["--version"]],
    ["identity list (loads the XMTP SDK)", COMMAND_START_MS, () => ["identity", "list", "--json", "--home", identityHome.real]],
    ["reset of an empty home", COMMAND_START_MS, (home) => ["reset", "--json", "--home", home]],
    ["conversations create, network down", NETWORK_FAILURE_TOTAL_MS, () => ["conversations", "create", "--name", "X", "--json", "--home", identityHome.real]],
  ];
  for (const [name, range, args] of cases) {
    const real: number[] = [];
    const modelReal: number[] = [];
    const modelNone: number[] = [];
    for (let i = 0; i < runs; i++) {
      const home = clis.home();
      real.push((await clis.real(args(home))).ms);
      modelReal.push((await clis.model(args(home), { FAKE_CONVOS_LATENCY: "real" })).ms);
      modelNone.push((await clis.model(args(home), { FAKE_CONVOS_LATENCY: "none" })).ms);
    }
    console.log(`${name} — model floor ${range.join("–")} ms\n  real CLI            ${stats(real)}\n  model, latency=real ${stats(modelReal)}\n  model, latency=none ${stats(modelNone)}`);
  }
} finally {
  clis.close();
}
