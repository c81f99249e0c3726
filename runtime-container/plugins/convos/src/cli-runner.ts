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
  /** What the command printed on stdout before failing (its progress lines). */
  readonly stdout: string;
  readonly command: string;
  constructor(message: string, exitCode: number | null, stderr: string, stdout = "", command = "") {
    super(message);
    this.name = "ConvosCliError";
    this.exitCode = exitCode;
    this.stderr = stderr;
    this.stdout = stdout;
    this.command = command;
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
  const command = commandName(args);
  if (code !== 0) throw new ConvosCliError(cliErrorMessage(stderr, code), code, stderr, stdout, command);
  const parsed = parseLastJson(stdout);
  if (parsed === undefined) {
    throw new ConvosCliError(`convos ${command} printed no JSON result`, code, stderr, stdout, command);
  }
  return parsed as T;
}

/** "conversations join" from ["conversations", "join", "<invite>", "--timeout", …]. */
function commandName(args: string[]): string {
  const words: string[] = [];
  for (const a of args) {
    if (a.startsWith("-") || words.length === 2 || (words.length === 1 && !/^[a-z-]+$/u.test(a))) break;
    words.push(a);
  }
  return words.join(" ");
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
      reject(new ConvosCliError(`convos ${commandName(args)} timed out after ${opts.timeoutMs ?? 90_000} ms`, null, stderr, stdout, commandName(args)));
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

// oclif prints an error as " ›   Error: <message>", hard-wrapped to the terminal width with
// each continuation line prefixed the same way (a soft break keeps its trailing space, a hard
// break splits a long word), then, for errors that are not the CLI's own (a protobuf decode
// error, a network failure), a blank line and the command's help from "USAGE" on.
// (@oclif/core lib/errors/handle.js, lib/errors/errors/pretty-print.js)
// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts the ANSI colour codes oclif writes to stderr.
const ANSI = /\u001b\[[0-9;]*m/gu;
const BANG_LINE = /^ ?[›»] {3}/u;
const HELP_SECTION = /^(USAGE|ARGUMENTS|FLAGS|GLOBAL FLAGS|DESCRIPTION|EXAMPLES|ALIASES)$/u;

/** The whole cause of a CLI failure in one line: stderr joined, oclif decoration and help dropped. */
export function cliErrorMessage(stderr: string, code: number | null): string {
  const lines = stderr.replace(ANSI, "").split("\n");
  const help = lines.findIndex((l) => HELP_SECTION.test(l.trim()));
  const kept = (help === -1 ? lines : lines.slice(0, help)).filter((l) => !/^\(node:\d+\)|^\(Use `node --trace/u.test(l));
  const errors: string[] = [];
  const plain: string[] = [];
  let current: string | null = null;
  for (const line of kept) {
    if (BANG_LINE.test(line)) {
      const text = line.replace(BANG_LINE, "");
      if (/^(Error|Caused by):/u.test(text) || current === null) {
        if (current !== null) errors.push(current);
        current = text;
      } else current += text;
      continue;
    }
    if (current !== null) errors.push(current);
    current = null;
    if (line.trim()) plain.push(line.trim());
  }
  if (current !== null) errors.push(current);
  const fromBang = errors
    .filter((e) => !/^Warning:/u.test(e))
    .map((e) =>
      e
        .trim()
        .replace(/^Error:\s*/u, "")
        .replace(/^Caused by:\s*/u, "caused by: "),
    );
  const message = (fromBang.length ? fromBang.join("; ") : plain.join(" ")).replace(/\s+/gu, " ").trim();
  return message || `convos exited with code ${code}`;
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
