// One-shot `convos … --json` invocations. The real CLI prints progress lines on stdout even
// in JSON mode and pretty-prints the JSON document last, so the result is the last complete
// JSON value on stdout, not the whole stream.
import { spawn } from "node:child_process";

export type CliOptions = {
  bin: string;
  home: string;
  env: "dev" | "production" | "local";
  timeoutMs?: number;
  processEnv?: NodeJS.ProcessEnv;
};

export class ConvosCliError extends Error {
  readonly exitCode: number | null;
  readonly stderr: string;
  constructor(message: string, exitCode: number | null, stderr: string) {
    super(message);
    this.name = "ConvosCliError";
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/** Flags every plugin invocation adds; kept in one place so the schema test sees them. */
export function commonArgs(opts: Pick<CliOptions, "home" | "env">): string[] {
  return ["--json", "--env", opts.env, "--home", opts.home];
}

export function convosProcessEnv(opts: Pick<CliOptions, "home" | "processEnv">): NodeJS.ProcessEnv {
  return { ...(opts.processEnv ?? process.env), CONVOS_HOME: opts.home };
}

export async function runConvosJson<T = unknown>(args: string[], opts: CliOptions): Promise<T> {
  const { stdout, stderr, code } = await runConvos([...args, ...commonArgs(opts)], opts);
  if (code !== 0) throw new ConvosCliError(cliErrorMessage(stderr, code), code, stderr);
  const parsed = parseLastJson(stdout);
  if (parsed === undefined) {
    throw new ConvosCliError(`convos ${args.slice(0, 2).join(" ")} printed no JSON result`, code, stderr);
  }
  return parsed as T;
}

function runConvos(args: string[], opts: CliOptions): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(opts.bin, args, {
      env: convosProcessEnv(opts),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new ConvosCliError(`convos ${args.slice(0, 2).join(" ")} timed out after ${opts.timeoutMs} ms`, null, stderr));
    }, opts.timeoutMs ?? 90_000);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new ConvosCliError(`cannot run convos CLI (${opts.bin}): ${err.message}`, null, ""));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code });
    });
  });
}

/** oclif decorates errors (" ›   Error: …"); keep only the sentence a human needs. */
export function cliErrorMessage(stderr: string, code: number | null): string {
  const lines = stderr.split("\n").map((l) => l.replace(/^[\s›]*/u, "").trim()).filter(Boolean);
  const errorLine = lines.find((l) => l.startsWith("Error:"));
  const line = errorLine ?? lines.at(-1);
  return line ? line.replace(/^Error:\s*/u, "") : `convos exited with code ${code}`;
}

export function parseLastJson(stdout: string): unknown {
  const text = stdout.trimEnd();
  // Pretty-printed documents start with "{" or "[" at the beginning of a line; try the
  // latest such start first and walk back until one parses to the end of the output.
  const starts: number[] = [];
  const re = /^[[{]/gmu;
  for (let m = re.exec(text); m; m = re.exec(text)) starts.push(m.index);
  for (let i = starts.length - 1; i >= 0; i--) {
    try {
      return JSON.parse(text.slice(starts[i]));
    } catch {
      // not the start of the final document
    }
  }
  return undefined;
}
