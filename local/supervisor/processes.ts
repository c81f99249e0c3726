import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isAlive, MARKER_VAR, markedProcesses, signal, signalGroup } from "./process-table.ts";
import type { CreateServiceRequest, LocalService, LocalServiceStatus } from "./protocol.ts";

/**
 * The local stand-in for Railway: each service is a real runtime-container front server
 * (`node runtime-container/src/main.ts`) started as a child process on a free loopback port,
 * with the service's variables as its environment and its own state directory, the way the
 * image runs on Railway with its variables and volume. Deleting a service stops its whole
 * process tree; a tree that dies on its own shows up as `failed` until the pool deletes it;
 * `restart` stops and starts it again, with or without its state directory.
 */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const RUNTIME_MAIN = path.join(ROOT, "runtime-container", "src", "main.ts");
export const FAKE_CONVOS_CLI = path.join(ROOT, "runtime-container", "dev", "fake-convos", "bin", "convos");
/** The fake CLI's model of the XMTP network, shared by the instances, under the state root. */
export const FAKE_CONVOS_NETWORK = "fake-xmtp-network";

export interface ProcessSupervisorOptions {
  /** One directory per service (`<stateRoot>/<serviceId>`): the instance's volume and its log. */
  stateRoot: string;
  /** Environment every instance gets on top of this process's, below the service's own variables. */
  env?: Record<string, string>;
  /** The program to run per service; the runtime's front server under Node 24 by default. */
  command?: { file: string; args: string[] };
  /** How long a stopping instance gets between SIGTERM and SIGKILL. */
  stopTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface ServiceDetails extends LocalService {
  instanceId: string;
  pid: number | undefined;
  port: number;
  stateDir: string;
  logFile: string;
  variables: Record<string, string>;
  exit: { code: number | null; signal: NodeJS.Signals | null; at: number } | null;
}

export class SupervisorError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

interface Entry {
  id: string;
  name: string;
  instanceId: string;
  port: number;
  dir: string;
  variables: Record<string, string>;
  /** The environment it was started with: a restart starts it the same way. */
  env: NodeJS.ProcessEnv;
  child: ChildProcess;
  status: LocalServiceStatus;
  exit: ServiceDetails["exit"];
  exited: Promise<void>;
  stopping: Promise<void> | null;
  /** Between a restart's stop and its start: shown as starting, like a host's redeploy. */
  restarting: boolean;
}

/** The runtime needs Node 24 (type stripping); the repo pins it as a devDependency. */
export function node24(): string {
  if (Number(process.versions.node.split(".")[0]) >= 24) return process.execPath;
  const pinned = path.join(ROOT, "node_modules", "node", "bin", "node");
  if (existsSync(pinned)) return pinned;
  throw new Error("Node 24 not found: run npm install at the repository root (it pins node@24)");
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Every process started for a state root carries this tag, whichever run started it. */
export function stateRootTag(stateRoot: string): string {
  return createHash("sha256").update(path.resolve(stateRoot)).digest("hex").slice(0, 12);
}

/** Live processes started by any supervisor run on this state root (leftovers included). */
export function processesUnder(stateRoot: string): number[] {
  const tag = `${stateRootTag(stateRoot)}.`;
  return markedProcesses()
    .filter((p) => p.marker.startsWith(tag))
    .map((p) => p.pid)
    .filter(isAlive);
}

const SERVICE_DIR = /^svc-[0-9a-f]{12}$/;

export class ProcessSupervisor {
  readonly stateRoot: string;
  /** Tags every process this supervisor starts, so a later run can recognise leftovers. */
  readonly runId = randomBytes(6).toString("hex");
  private readonly rootTag: string;
  private readonly services = new Map<string, Entry>();
  /** Deleted services still shutting down: stopAll waits for them too. */
  private readonly retiring = new Set<Promise<void>>();
  private readonly opts: ProcessSupervisorOptions;
  private closed = false;
  private readonly exitHook = () => {
    this.killAllNow();
    this.releaseLock();
  };

  constructor(opts: ProcessSupervisorOptions) {
    this.opts = opts;
    this.stateRoot = path.resolve(opts.stateRoot);
    this.rootTag = stateRootTag(this.stateRoot);
    mkdirSync(this.stateRoot, { recursive: true });
    this.takeLock();
    this.reapPreviousRuns();
    // Last resort when the process ends without stopAll (process.exit, an uncaught error):
    // signals are synchronous, so the children still go down with us.
    process.on("exit", this.exitHook);
  }

  async create(req: CreateServiceRequest): Promise<LocalService> {
    const port = await freePort();
    // From here to registering the service nothing awaits, so two creates cannot both pass.
    if (this.closed) throw new SupervisorError(503, "stopping", "the supervisor is shutting down");
    if ([...this.services.values()].some((s) => s.name === req.name)) {
      throw new SupervisorError(409, "exists", `service ${req.name} exists`);
    }
    const id = `svc-${randomBytes(6).toString("hex")}`;
    const dir = path.join(this.stateRoot, id);
    mkdirSync(dir, { recursive: true });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      // A real convos CLI would talk to the XMTP network; the fake one keeps everything on disk,
      // in one model network for every local instance (invites from `local/instance.ts invite`).
      CONVOS_CLI: process.env.CONVOS_CLI || FAKE_CONVOS_CLI,
      FAKE_CONVOS_NETWORK_DIR: path.join(this.stateRoot, FAKE_CONVOS_NETWORK),
      // Several instances share this machine; each gateway picks its own loopback port.
      OPENCLAW_GATEWAY_PORT: "0",
      ...this.opts.env,
      ...req.variables,
      // The local "image": the runtime reports it as its version in /pool/health.
      ...(req.image ? { RUNTIME_VERSION: req.image } : {}),
      // What the platform decides, not the service: its port and its volume.
      PORT: String(port),
      // Instances on one machine answer on loopback only, like the rest of the local system.
      HOST: "127.0.0.1",
      STATE_DIR: path.join(dir, "state"),
      [MARKER_VAR]: `${this.rootTag}.${this.runId}.${id}`,
    };
    // What a Railway dashboard would show an operator: which instance this is, where, and its
    // variables (the gateway token among them), so `node local/instance.ts` can talk to it.
    writeFileSync(
      path.join(dir, "service.json"),
      JSON.stringify({ id, name: req.name, instanceId: req.instanceId, url: `http://127.0.0.1:${port}`, stateDir: env.STATE_DIR, convosCli: env.CONVOS_CLI, variables: req.variables }, null, 2) + "\n",
      { mode: 0o600 },
    );
    const entry = { id, name: req.name, instanceId: req.instanceId, port, dir, variables: { ...req.variables }, env, restarting: false } as Entry;
    this.launch(entry);
    this.services.set(id, entry);
    this.log(`${id} (${req.name}) starting on :${port}, pid ${entry.child.pid}`);
    return this.view(entry);
  }

  /**
   * A container restart (a host move, a crash, a redeploy): the process tree is stopped and
   * started again on the same port with the same variables. With its volume it finds its state
   * directory as it left it; without (`keepVolume: false`) it starts blank, as on a host that
   * gives a restarted container a fresh disk.
   */
  async restart(id: string, opts: { keepVolume: boolean }): Promise<LocalService> {
    const entry = this.services.get(id);
    if (!entry) throw new SupervisorError(404, "not_found", "no such service");
    if (entry.restarting) throw new SupervisorError(409, "restarting", `service ${id} is already restarting`);
    entry.restarting = true;
    try {
      await this.stop(entry);
      if (!opts.keepVolume) rmSync(path.join(entry.dir, "state"), { recursive: true, force: true });
      if (this.closed || !this.services.has(id)) throw new SupervisorError(409, "gone", `service ${id} was deleted during its restart`);
      this.launch(entry);
    } finally {
      entry.restarting = false;
    }
    this.log(`${id} (${entry.name}) restarted ${opts.keepVolume ? "with" : "without"} its volume, pid ${entry.child.pid}`);
    return this.view(entry);
  }

  /**
   * An upgrade (or its rollback): the service restarted with its state directory on another
   * image, here the runtime version label it starts with, as Railway redeploys a service with its volume.
   */
  async redeploy(id: string, image: string): Promise<LocalService> {
    const entry = this.services.get(id);
    if (!entry) throw new SupervisorError(404, "not_found", "no such service");
    entry.env = { ...entry.env, RUNTIME_VERSION: image };
    this.log(`${id} (${entry.name}) redeploying on ${image}`);
    return this.restart(id, { keepVolume: true });
  }

  /** Starts the entry's process tree and watches it; a tree that dies on its own takes its leftovers along. */
  private launch(entry: Entry): void {
    const command = this.opts.command ?? { file: node24(), args: [RUNTIME_MAIN] };
    const logFd = openSync(path.join(entry.dir, "runtime.log"), "a");
    try {
      // Its own process group, so one signal reaches the front server and what it runs in-group.
      entry.child = spawn(command.file, command.args, { cwd: ROOT, env: entry.env, detached: true, stdio: ["ignore", logFd, logFd] });
    } finally {
      closeSync(logFd);
    }
    let markExited!: () => void;
    entry.status = "starting";
    entry.exit = null;
    entry.stopping = null;
    entry.exited = new Promise<void>((resolve) => (markExited = resolve));
    const child = entry.child;
    const onGone = (code: number | null, sig: NodeJS.Signals | null) => {
      if (entry.child !== child || entry.exit) return;
      entry.exit = { code, signal: sig, at: Date.now() };
      entry.status = code === 0 ? "exited" : "failed";
      markExited();
      if (!entry.stopping) {
        this.log(`${entry.id} (${entry.name}) died: ${sig ?? `exit code ${code}`}; see ${path.join(entry.dir, "runtime.log")}`);
        // A container that stops takes everything in it along; so does this one.
        void this.reap(entry.id);
      }
    };
    child.once("exit", onGone);
    child.once("error", (err) => {
      this.log(`${entry.id} could not start: ${err.message}`);
      onGone(null, null);
    });
    void this.watchListening(entry);
  }

  list(): LocalService[] {
    return [...this.services.values()].map((e) => this.view(e));
  }

  /** Forgets the service at once and stops its processes in the background; false if unknown. */
  remove(id: string): boolean {
    const entry = this.services.get(id);
    if (!entry) return false;
    this.services.delete(id);
    const done = this.stop(entry)
      .then(() => rmSync(entry.dir, { recursive: true, force: true }))
      .catch((err: Error) => this.log(`${id} did not clean up: ${err.message}`));
    this.retiring.add(done);
    void done.finally(() => this.retiring.delete(done));
    return true;
  }

  /** Everything about one service, secrets included: for this process (and service.json, 0600), never served over HTTP. */
  inspect(id: string): ServiceDetails | undefined {
    const e = this.services.get(id);
    if (!e) return undefined;
    return {
      ...this.view(e),
      instanceId: e.instanceId,
      pid: e.child.pid,
      port: e.port,
      stateDir: path.join(e.dir, "state"),
      logFile: path.join(e.dir, "runtime.log"),
      variables: { ...e.variables },
      exit: e.exit,
    };
  }

  /** Live processes started for this run (optionally one service), whatever their parent now is. */
  processes(serviceId?: string): number[] {
    const prefix = `${this.rootTag}.${this.runId}.`;
    return markedProcesses()
      .filter((p) => (serviceId ? p.marker === prefix + serviceId : p.marker.startsWith(prefix)))
      .map((p) => p.pid)
      .filter(isAlive);
  }

  /** Stops every instance (SIGTERM, then SIGKILL) and waits until none of their processes runs. */
  async stopAll(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.services.values()].map((e) => this.stop(e)));
    await Promise.all([...this.retiring]);
    await this.reap();
    process.off("exit", this.exitHook);
    this.releaseLock();
  }

  /** Synchronous hard stop for the moment the process is exiting. */
  killAllNow(): void {
    for (const e of this.services.values()) if (e.child.pid) signalGroup(e.child.pid, "SIGKILL");
    const prefix = `${this.rootTag}.${this.runId}.`;
    for (const p of markedProcesses()) if (p.marker.startsWith(prefix)) signal(p.pid, "SIGKILL");
  }

  private view(e: Entry): LocalService {
    return { id: e.id, name: e.name, url: `http://127.0.0.1:${e.port}`, status: e.restarting ? "starting" : e.status };
  }

  private stop(entry: Entry): Promise<void> {
    entry.stopping ??= (async () => {
      const pid = entry.child.pid;
      if (!entry.exit && pid) {
        // The front server stops its gateway on SIGTERM; give it the time a platform would.
        signalGroup(pid, "SIGTERM");
        if (!(await within(entry.exited, this.opts.stopTimeoutMs ?? 15_000))) {
          this.log(`${entry.id} did not stop after SIGTERM; killing it`);
          signalGroup(pid, "SIGKILL");
          await within(entry.exited, 5_000);
        }
      }
      await this.reap(entry.id);
    })();
    return entry.stopping;
  }

  /** Kills what a stopped tree left behind (a gateway in its own group) and waits for it to go. */
  private async reap(serviceId?: string): Promise<void> {
    const deadline = Date.now() + 5_000;
    let left = this.processes(serviceId);
    while (left.length && Date.now() < deadline) {
      for (const pid of left) signal(pid, "SIGKILL");
      await sleep(50);
      left = this.processes(serviceId);
    }
    if (left.length) this.log(`processes still running after SIGKILL: ${left.join(", ")}`);
  }

  private async watchListening(entry: Entry): Promise<void> {
    while (!entry.exit && !entry.stopping && entry.status === "starting") {
      if (await canConnect(entry.port)) {
        if (entry.status === "starting" && !entry.exit) entry.status = "running";
        return;
      }
      await sleep(150);
    }
  }

  /**
   * A previous `npm start` that was killed outright (SIGKILL, a closed terminal) could not stop
   * its instances; they carry the same state root, so end them, and drop their state.
   */
  private reapPreviousRuns(): void {
    const mine = `${this.rootTag}.`;
    const stale = markedProcesses().filter((p) => p.marker.startsWith(mine) && !p.marker.startsWith(`${mine}${this.runId}.`));
    for (const p of stale) signal(p.pid, "SIGKILL");
    if (stale.length) this.log(`stopped ${stale.length} leftover process(es) of an earlier run`);
    for (const name of readdirSync(this.stateRoot)) {
      if (SERVICE_DIR.test(name)) rmSync(path.join(this.stateRoot, name), { recursive: true, force: true });
    }
  }

  private get lockFile(): string {
    return path.join(this.stateRoot, "supervisor.json");
  }

  /** Two supervisors on one state root would reap each other's instances as leftovers. */
  private takeLock(): void {
    try {
      const held = JSON.parse(readFileSync(this.lockFile, "utf8")) as { pid: number };
      if (held.pid !== process.pid && isAlive(held.pid)) {
        throw new Error(`another local supervisor (pid ${held.pid}) uses ${this.stateRoot}; stop it first, or delete ${this.lockFile} if that pid is something else`);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" && !(err instanceof SyntaxError)) throw err;
    }
    writeFileSync(this.lockFile, JSON.stringify({ pid: process.pid, runId: this.runId }) + "\n");
  }

  private releaseLock(): void {
    try {
      const held = JSON.parse(readFileSync(this.lockFile, "utf8")) as { runId: string };
      if (held.runId === this.runId) rmSync(this.lockFile, { force: true });
    } catch {
      // not ours, or already gone
    }
  }

  private log(line: string): void {
    this.opts.log?.(`[supervisor] ${line}`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function within(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
    socket.setTimeout(1000, () => done(false));
  });
}
