// Failures printed exactly as the real CLI prints them, by the real CLI's own oclif
// (@oclif/core handle()): " ›   Error: <message wrapped at 74 columns>" on stderr, nothing on
// stdout, exit 2. Errors the real command raises with this.error() print only that; errors
// that escape a command (XMTP transport, protobuf decoding of a bad invite, fs) go through
// ConvosBaseCommand.catch(), which sets showHelp, so the command's USAGE, ARGUMENTS and FLAGS
// follow on stderr.
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

// The real CLI package (its "exports" hide package.json): <root>/dist/index.js → <root>.
export const CLI_ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.resolve("@xmtp/convos-cli"))));

export class CliFailure extends Error {
  readonly exit: number;
  readonly showHelp: boolean;
  /** oclif.Errors.warn lines printed before the error (unknown command). */
  readonly warnings: string[];
  constructor(message: string, opts: { exit?: number; showHelp?: boolean; warnings?: string[] } = {}) {
    super(message);
    this.exit = opts.exit ?? 2;
    this.showHelp = opts.showHelp ?? false;
    this.warnings = opts.warnings ?? [];
  }
}

/** An error thrown inside a command (not this.error()): printed with the USAGE block. */
export const thrown = (message: string) => new CliFailure(message, { showHelp: true });

/** The error XMTP's client builder throws when no XMTP node is reachable (observed). */
export const TRANSPORT_ERROR = "[MessageBackendBuilderError::GrpcBuilder] transport error";

export async function printFailureAndExit(failure: CliFailure): Promise<never> {
  const oclif = await import("@oclif/core");
  const { handle } = await import("@oclif/core/handle");
  for (const warning of failure.warnings) oclif.Errors.warn(warning);
  const err = new oclif.Errors.CLIError(failure.message, { exit: failure.exit }) as InstanceType<typeof oclif.Errors.CLIError> & {
    showHelp?: boolean;
    parse?: { input: { argv: string[] } };
  };
  if (failure.showHelp) {
    // handle() prints help only when oclif's run() has cached its Config; the model is not
    // started through run(), so cache the real CLI's Config the same way.
    const config = await oclif.Config.load({ root: CLI_ROOT });
    const corePkg = createRequire(import.meta.url).resolve("@oclif/core/package.json");
    const cacheModule = await import(path.join(path.dirname(corePkg), "lib", "cache.js"));
    const Cache = cacheModule.default.default ?? cacheModule.default;
    Cache.getInstance().set("config", config);
    err.showHelp = true;
    err.parse = { input: { argv: process.argv.slice(2) } };
  }
  await handle(err as Parameters<typeof handle>[0]);
  // handle() exits; this only satisfies the type.
  process.exit(failure.exit);
}
