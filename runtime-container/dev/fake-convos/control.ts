// Fake-only switches and the transcript. Switches are environment variables, overridden by
// the same keys in <home>/fake-control.json (re-read on every use, so a test can flip them
// while processes run). The transcript (<home>/fake-transcript.ndjson or
// $FAKE_CONVOS_TRANSCRIPT) records every command line and everything that reached a
// conversation, with the fields tests assert on.
import fs from "node:fs";
import path from "node:path";

export type Control = {
  joinMode: "joined" | "pending" | "invalid" | "expired";
  acceptAfterMs: number | null;
  createFail: string | null;
  slowStartMs: number;
  serveCrashAfterMs: number | null;
  serveFail: string | null;
  networkDown: boolean;
};

const numberOrNull = (value: unknown) => {
  if (value === undefined || value === null || value === "") return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
};

export function control(home: string): Control {
  let fromFile: Record<string, unknown> = {};
  try {
    fromFile = JSON.parse(fs.readFileSync(path.join(home, "fake-control.json"), "utf8"));
  } catch {
    // environment only
  }
  const get = (key: string) => fromFile[key] ?? process.env[key];
  const joinMode = String(get("FAKE_CONVOS_JOIN_MODE") ?? "joined");
  return {
    joinMode: (["joined", "pending", "invalid", "expired"].includes(joinMode) ? joinMode : "joined") as Control["joinMode"],
    acceptAfterMs: numberOrNull(get("FAKE_CONVOS_ACCEPT_AFTER_MS")),
    createFail: (get("FAKE_CONVOS_CREATE_FAIL") as string) || null,
    slowStartMs: numberOrNull(get("FAKE_CONVOS_SLOW_START_MS")) ?? 0,
    serveCrashAfterMs: numberOrNull(get("FAKE_CONVOS_SERVE_CRASH_AFTER_MS")),
    serveFail: (get("FAKE_CONVOS_SERVE_FAIL") as string) || null,
    networkDown: ["1", "true", "down"].includes(String(get("FAKE_CONVOS_NETWORK_DOWN") ?? "").toLowerCase()),
  };
}

export function transcriptPath(home: string): string {
  return process.env.FAKE_CONVOS_TRANSCRIPT ?? path.join(home, "fake-transcript.ndjson");
}

export function record(home: string, entry: Record<string, unknown>): void {
  const file = transcriptPath(home);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.appendFileSync(file, JSON.stringify({ at: new Date().toISOString(), pid: process.pid, ...entry }) + "\n");
}
