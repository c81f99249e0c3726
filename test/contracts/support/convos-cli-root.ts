// The real convos CLI (@xmtp/convos-cli in runtime-container/node_modules), run where its
// native XMTP bindings load: a Debian trixie root (glibc 2.41; they need >= 2.38), built
// once per machine with debootstrap from the Debian mirror apt already uses, cached under
// .local/convos-cli-root/trixie, with the project's Node 24 and the CLI package bind-mounted
// in. Also runs the model (runtime-container/dev/fake-convos) the same way, for comparison.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const RUNTIME_DIR = path.join(REPO, "runtime-container");
export const MODEL_BIN = path.join(RUNTIME_DIR, "dev", "fake-convos", "bin", "convos");
// Under the project's ignored state dir; CONVOS_CLI_ROOT_CACHE moves it (e.g. to try a fresh build).
const CACHE = process.env.CONVOS_CLI_ROOT_CACHE ?? path.join(REPO, ".local", "convos-cli-root");
const ROOT = path.join(CACHE, "trixie");
const LOCK = path.join(CACHE, "build.lock");
const NODE_DIR = path.join(REPO, "node_modules", "node", "bin");
const BUILD_TIMEOUT_MS = 15 * 60_000;

export type CliRun = { code: number | null; stdout: string; stderr: string; ms: number };

/** Why the real CLI cannot run on this machine, or null when it can. */
export function unavailableReason(): string | null {
  if (process.platform !== "linux") return `the real CLI's root needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return "building and entering the Debian trixie root needs root (chroot, mount --bind, debootstrap); run as root as CI does";
  if (!fs.existsSync(path.join(NODE_DIR, "node"))) return `the project's Node 24 is missing (${NODE_DIR}/node): run npm install`;
  if (!fs.existsSync(path.join(RUNTIME_DIR, "node_modules", "@xmtp", "convos-cli"))) return "runtime-container/node_modules/@xmtp/convos-cli is missing: run npm install";
  return null;
}

/** The first Debian mirror in apt's sources (deb822 .sources or one-line .list files). */
export function debianMirror(): string {
  const files = ["/etc/apt/sources.list"];
  try {
    for (const f of fs.readdirSync("/etc/apt/sources.list.d")) if (/\.(list|sources)$/u.test(f)) files.push(path.join("/etc/apt/sources.list.d", f));
  } catch {
    // no sources.list.d
  }
  for (const file of files) {
    let text = "";
    try {
      text = fs.readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      const m = /^\s*(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(\S+)/u.exec(line);
      if (m && /\/debian\/?$/u.test(m[1]!) && !/security/u.test(m[1]!)) return m[1]!;
    }
  }
  return "http://deb.debian.org/debian";
}

function sleepSync(ms: number) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Builds the root unless cached; a lock directory keeps parallel runs from building twice. */
export function ensureRoot(log: (line: string) => void = () => {}): string {
  if (fs.existsSync(path.join(ROOT, "usr", "bin", "env"))) return ROOT;
  fs.mkdirSync(CACHE, { recursive: true });
  const deadline = Date.now() + BUILD_TIMEOUT_MS;
  for (;;) {
    try {
      fs.mkdirSync(LOCK);
      fs.writeFileSync(path.join(LOCK, "pid"), String(process.pid));
      break;
    } catch {
      const holder = Number(fs.readFileSync(path.join(LOCK, "pid"), { encoding: "utf8", flag: "a+" }) || 0);
      let alive = false;
      try {
        if (holder) process.kill(holder, 0);
        alive = holder > 0;
      } catch {
        alive = false;
      }
      if (!alive) {
        fs.rmSync(LOCK, { recursive: true, force: true });
        continue;
      }
      if (fs.existsSync(path.join(ROOT, "usr", "bin", "env"))) return ROOT;
      if (Date.now() > deadline) throw new Error(`waited ${BUILD_TIMEOUT_MS} ms for pid ${holder} to build ${ROOT}`);
      sleepSync(1000);
    }
  }
  try {
    if (fs.existsSync(path.join(ROOT, "usr", "bin", "env"))) return ROOT;
    if (spawnSync("sh", ["-c", "command -v debootstrap"]).status !== 0) {
      log("installing debootstrap (apt-get)");
      execFileSync("apt-get", ["update"], { stdio: "inherit" });
      execFileSync("apt-get", ["install", "-y", "debootstrap"], { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    }
    const building = `${ROOT}.building-${process.pid}`;
    fs.rmSync(building, { recursive: true, force: true });
    const mirror = debianMirror();
    log(`building a Debian trixie root with debootstrap from ${mirror} (once per machine, a few minutes)`);
    execFileSync("debootstrap", ["--variant=minbase", "trixie", building, mirror], { stdio: "inherit", timeout: BUILD_TIMEOUT_MS });
    fs.rmSync(ROOT, { recursive: true, force: true });
    fs.renameSync(building, ROOT);
    return ROOT;
  } finally {
    fs.rmSync(LOCK, { recursive: true, force: true });
  }
}

/** Bind-mounts the CLI package and Node 24 into the root, per process; returns the unmount. */
export function mountInto(root: string): { cliPath: string; nodePath: string; unmount: () => void } {
  const tag = `twin-${process.pid}`;
  const convos = path.join(root, "opt", tag, "convos");
  const node = path.join(root, "opt", tag, "node");
  fs.mkdirSync(convos, { recursive: true });
  fs.mkdirSync(node, { recursive: true });
  execFileSync("mount", ["--bind", "-o", "ro", RUNTIME_DIR, convos]);
  execFileSync("mount", ["--bind", "-o", "ro", NODE_DIR, node]);
  return {
    cliPath: `/opt/${tag}/convos/node_modules/@xmtp/convos-cli/bin/run.js`,
    nodePath: `/opt/${tag}/node/node`,
    unmount: () => {
      // Never delete recursively here: a mount that failed to detach would expose the repo.
      for (const dir of [convos, node]) {
        spawnSync("umount", [dir]);
        if (spawnSync("mountpoint", ["-q", dir]).status !== 0) fs.rmdirSync(dir);
      }
      fs.rmdirSync(path.join(root, "opt", tag));
    },
  };
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Math.round(performance.now() - started) });
    });
  });
}

/** A clean environment both CLIs see alike (no CONVOS_* leaking in from the caller). */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root", LANG: "C.UTF-8", ...extra };
}

export type Clis = {
  real: (args: string[]) => Promise<CliRun>;
  /** Node 24 inside the root with the runtime's node_modules at `modules` (for probes). */
  node: (script: (modules: string) => string) => Promise<CliRun>;
  model: (args: string[], env?: NodeJS.ProcessEnv) => Promise<CliRun>;
  /** A fresh convos home path, valid both on the host (model) and inside the root (real). */
  home: () => string;
  close: () => void;
};

export function startClis(root: string): Clis {
  const mounted = mountInto(root);
  // Absolute on purpose: one path that names a home both on the host (the model) and inside the
  // chroot (the real CLI, where it is <root>/tmp/…); the root has no other shared directory.
  const scratch = `/tmp/convos-twin-${process.pid}`;
  let n = 0;
  return {
    real: (args) => run("chroot", [root, mounted.nodePath, mounted.cliPath, ...args], cleanEnv()),
    node: (script) => run("chroot", [root, mounted.nodePath, "--input-type=module", "-e", script(mounted.cliPath.replace(/\/@xmtp\/convos-cli\/bin\/run\.js$/u, ""))], cleanEnv()),
    // The real CLI here has no XMTP network: the model is told the same.
    model: (args, env = {}) => run(MODEL_BIN, args, cleanEnv({ FAKE_CONVOS_NETWORK_DOWN: "1", FAKE_CONVOS_LATENCY: "none", ...env })),
    home: () => {
      const home = `${scratch}/h${++n}`;
      fs.rmSync(home, { recursive: true, force: true });
      fs.rmSync(path.join(root, home), { recursive: true, force: true });
      return home;
    },
    close: () => {
      mounted.unmount();
      fs.rmSync(scratch, { recursive: true, force: true });
      fs.rmSync(path.join(root, scratch), { recursive: true, force: true });
    },
  };
}
