import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/**
 * Finds processes by an environment variable they inherited. A runtime instance is a tree:
 * the front server, the gateway it starts in its *own* process group, the convos CLI the
 * gateway spawns. When the front server is killed hard, the gateway outlives it and is
 * re-parented, so neither the process group nor the parent chain still leads to it; the
 * environment does, because every process in the tree inherits it.
 */
export const MARKER_VAR = "CONVOS_POOL_LOCAL";

export interface MarkedProcess {
  pid: number;
  marker: string;
}

export function markedProcesses(): MarkedProcess[] {
  if (process.platform === "linux") return fromProc();
  if (process.platform === "darwin") return fromPs();
  return [];
}

function fromProc(): MarkedProcess[] {
  const found: MarkedProcess[] = [];
  const prefix = `${MARKER_VAR}=`;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${entry}/environ`, "latin1");
    } catch {
      continue; // gone meanwhile, or not ours to read
    }
    const at = environ.indexOf(prefix);
    if (at === -1) continue;
    // Only count a match at the start of a variable, not inside another's value.
    if (at !== 0 && environ[at - 1] !== "\0") continue;
    const end = environ.indexOf("\0", at);
    // Zombies keep no environment, so anything listed here can still run code.
    found.push({ pid, marker: environ.slice(at + prefix.length, end === -1 ? undefined : end) });
  }
  return found;
}

function fromPs(): MarkedProcess[] {
  let out: string;
  try {
    // -E appends each process's environment to its command line (own processes only).
    out = execFileSync("ps", ["-E", "-ww", "-o", "pid=,command=", "-U", String(process.getuid?.() ?? "")], { encoding: "utf8" });
  } catch {
    return [];
  }
  const found: MarkedProcess[] = [];
  const re = new RegExp(`(?:^|\\s)${MARKER_VAR}=(\\S+)`);
  for (const line of out.split("\n")) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const pid = Number(m[1]);
    const hit = re.exec(m[2]!);
    if (hit && pid !== process.pid) found.push({ pid, marker: hit[1]! });
  }
  return found;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie answers signal 0 but runs nothing; on Linux, tell them apart.
  if (process.platform === "linux") {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
      return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
    } catch {
      return false;
    }
  }
  return true;
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Signals a whole process group; harmless if it is gone. */
export function signalGroup(pgid: number, sig: NodeJS.Signals): void {
  signal(-pgid, sig);
}
