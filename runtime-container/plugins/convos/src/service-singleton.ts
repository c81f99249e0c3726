// One ConvosService per process: the gateway may register the plugin more than once
// (setup vs full load, hot reload), but there must only ever be one `agent serve` child.
import { ConvosService, type ConvosServiceOptions } from "./convos-service.ts";

const SERVICE = Symbol.for("convos-agent-pool.convos-service");
const RUNTIME = Symbol.for("convos-agent-pool.openclaw-runtime");
type Holder = { [SERVICE]?: ConvosService; [RUNTIME]?: PluginRuntimeLike };
export type PluginRuntimeLike = { channel?: unknown; config?: { current?: () => unknown } };

export function getOrCreateService(make: () => ConvosServiceOptions): ConvosService {
  const holder = globalThis as Holder;
  holder[SERVICE] ??= new ConvosService(make());
  return holder[SERVICE];
}

export function currentService(): ConvosService | undefined {
  return (globalThis as Holder)[SERVICE];
}

/** The channel's startAccount needs the plugin runtime captured at registration. */
export function rememberRuntime(runtime: PluginRuntimeLike): void {
  (globalThis as Holder)[RUNTIME] = runtime;
}

export function currentRuntime(): PluginRuntimeLike | undefined {
  return (globalThis as Holder)[RUNTIME];
}
