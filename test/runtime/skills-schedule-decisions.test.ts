// The pure decisions behind scheduling and honest skills: what a reminders tool call becomes
// as an OpenClaw cron job (or the sentence refusing it), which jobs an explosion removes, and
// which capabilities an instance reports from its skills' gates and its rendered config.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { planReminder, reminderJobIds } from "../../runtime-container/plugins/convos/src/reminders.ts";
import { IMAGE_SKILL_GATES, instanceCapabilities, parseSkillGate, skillEnabled } from "../../runtime-container/src/capabilities.ts";
import { readSkillGates } from "../../runtime-container/src/skill-gates.ts";
import { RUNTIME_DIR } from "./support.ts";

const NOW = new Date("2026-12-02T10:00:00Z");
const CONV = "9378d0858ab5e269fc2b27d6eba494e0";

describe("a reminders tool call", () => {
  it("becomes a one-off job delivered into this conversation, removed after it ran", () => {
    const plan = planReminder({ action: "set", text: "pack the tent", inMinutes: 30 }, CONV, NOW);
    expect(plan).toMatchObject({
      action: "set",
      summary: "scheduled at 2026-12-02T10:30:00.000Z: pack the tent",
      job: {
        name: "convos-reminder:pack the tent",
        schedule: { kind: "at", at: "2026-12-02T10:30:00.000Z" },
        sessionTarget: "isolated",
        payload: { kind: "agentTurn", lightContext: true, toolsAllow: ["read", "web_search", "web_fetch"] },
        delivery: { mode: "announce", channel: "convos", to: CONV },
        deleteAfterRun: true,
      },
    });
    expect(plan.action === "set" && plan.job.payload.message).toContain("pack the tent");
  });

  it("becomes a recurring job on a cron expression in the group's time zone, kept after each run", () => {
    const plan = planReminder({ action: "set", text: "weekly check", cron: "0 9 * * 1", tz: "Europe/Lisbon" }, CONV, NOW);
    expect(plan).toMatchObject({ action: "set", job: { schedule: { kind: "cron", expr: "0 9 * * 1", tz: "Europe/Lisbon" }, deleteAfterRun: false } });
  });

  it("is refused with a sentence the agent can repeat", () => {
    const refusal = (params: Record<string, unknown>, conversation: string | null = CONV) => {
      const plan = planReminder(params, conversation, NOW);
      return plan.action === "error" ? plan.message : plan.action;
    };
    expect(refusal({ action: "set", text: "x", at: "2026-12-02T09:00:00Z" })).toBe("that time has already passed");
    expect(refusal({ action: "set", text: "x", at: "tomorrow" })).toMatch(/ISO-8601/u);
    expect(refusal({ action: "set", text: "x" })).toBe("give exactly one of at, inMinutes or cron");
    expect(refusal({ action: "set", text: "x", inMinutes: 5, cron: "* * * * *" })).toBe("give exactly one of at, inMinutes or cron");
    expect(refusal({ action: "set", text: " ", inMinutes: 5 })).toMatch(/text is required/u);
    expect(refusal({ action: "set", text: "x", cron: "every monday" })).toMatch(/5-field/u);
    expect(refusal({ action: "set", text: "x", cron: "0 9 * * 1", tz: "Mars/Olympus" })).toMatch(/not an IANA time zone/u);
    expect(refusal({ action: "set", text: "x", inMinutes: 5 }, null)).toMatch(/not in a conversation/u);
    expect(refusal({ action: "cancel" })).toMatch(/job id/u);
    expect(refusal({ action: "delete-everything" })).toMatch(/action must be/u);
    expect(refusal({ action: "list" })).toBe("list");
  });

  it("an explosion removes this channel's jobs, not what OpenClaw schedules for itself", () => {
    expect(
      reminderJobIds([
        { id: "a", name: "convos-reminder:pack the tent" },
        { id: "b", name: "heartbeat-main" },
        { id: "c", name: "Memory Dreaming Promotion" },
        { id: "d", name: "convos-reminder:weekly check" },
      ]),
    ).toEqual(["a", "d"]);
  });
});

describe("an instance's capabilities", () => {
  const gates = readSkillGates(path.join(RUNTIME_DIR, "openclaw", "skills"));

  it("reads each image skill's OpenClaw gate from its SKILL.md", () => {
    expect(gates).toEqual([
      { name: "agentmail", env: ["AGENTMAIL_API_KEY", "AGENTMAIL_INBOX"], bins: [] },
      { name: "bankr", env: ["BANKR_API_KEY"], bins: [] },
      { name: "telnyx-cli", env: ["TELNYX_API_KEY", "TELNYX_PHONE_NUMBER"], bins: [] },
    ]);
    // The simulated instances (npm start, worker tests) use this copy: it must not drift.
    expect(IMAGE_SKILL_GATES).toEqual(gates);
    expect(parseSkillGate("x", '---\nname: x\nmetadata: {"openclaw": {"requires": {"bins": ["ffmpeg"]}}}\n---\n')).toEqual({ name: "x", env: [], bins: ["ffmpeg"] });
    expect(parseSkillGate("y", "---\nname: y\n---\n")).toEqual({ name: "y", env: [], bins: [] });
  });

  it("needs every credential of a skill (an empty value is missing) and every binary", () => {
    const gate = { name: "s", env: ["A", "B"], bins: ["tool"] };
    expect(skillEnabled(gate, { A: "1", B: "2" }, () => true)).toBe(true);
    expect(skillEnabled(gate, { A: "1", B: " " }, () => true)).toBe(false);
    expect(skillEnabled(gate, { A: "1", B: "2" }, () => false)).toBe(false);
  });

  it("reports scheduling, files and the browser from the config and a skill only with its credentials", () => {
    const config = JSON.parse(fs.readFileSync(path.join(RUNTIME_DIR, "openclaw", "openclaw.template.json"), "utf8"));
    expect(instanceCapabilities({ config, gates, env: {}, hasBin: () => true })).toEqual(["browser", "files", "scheduling"]);
    expect(instanceCapabilities({ config, gates, env: { BANKR_API_KEY: "k", AGENTMAIL_API_KEY: "k" }, hasBin: () => true })).toEqual(["browser", "files", "payments", "scheduling"]);
    expect(instanceCapabilities({ config: { ...config, cron: { enabled: false } }, gates, env: {}, hasBin: () => true })).toEqual(["browser", "files"]);
  });

  it("reports search and voice notes only with the instance's OpenRouter key, the browser only with its binary", () => {
    const config = JSON.parse(fs.readFileSync(path.join(RUNTIME_DIR, "openclaw", "openclaw.template.json"), "utf8"));
    const facts = { gates: [], env: { OPENROUTER_API_KEY: "sk-or-instance" } };
    expect(instanceCapabilities({ config, ...facts, hasBin: () => true })).toEqual(["browser", "files", "scheduling", "voice", "web-search"]);
    expect(instanceCapabilities({ config, ...facts, hasBin: () => false })).toEqual(["files", "scheduling", "voice", "web-search"]);
    expect(instanceCapabilities({ config, gates: [], env: { OPENROUTER_API_KEY: " " }, hasBin: () => true })).toEqual(["browser", "files", "scheduling"]);
  });
});
