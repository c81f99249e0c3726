// The credit notice's decisions without a gateway: which replies are the model refusing for
// lack of credits (OpenClaw's own wordings, test/runtime/credit-notice.test.ts shows the real
// one), and once per exhaustion period, across a restart, ending with a real answer or a new
// UTC month.
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CREDIT_NOTICE, CreditNotice, creditExhaustion, creditReply } from "../../runtime-container/plugins/convos/src/credit-notice.ts";
import { tempDir } from "./support.ts";

// OpenClaw's failover copy for billing errors (dist/user-copy-*.mjs, formatBillingErrorMessage).
const OPENCLAW_BILLING =
  "⚠️ API provider returned a billing error — your API key has run out of credits or has an insufficient balance. Check your provider's billing dashboard and top up or switch to a different API key.";
const OPENCLAW_BILLING_LABELLED =
  "⚠️ openrouter (anthropic/claude-sonnet-4.5) returned a billing error — your API key has run out of credits or has an insufficient balance. Check your openrouter billing dashboard and top up or switch to a different API key.";

describe("which replies are an exhausted key", () => {
  it("OpenClaw's billing error replies, with or without the provider named, and OpenRouter's own words", () => {
    expect(creditExhaustion({ text: OPENCLAW_BILLING, isError: true })).toEqual({ status: 402, detail: OPENCLAW_BILLING.replace("⚠️ ", "") });
    expect(creditExhaustion({ text: OPENCLAW_BILLING_LABELLED })).toMatchObject({ status: 402 });
    expect(creditExhaustion({ text: "402 Insufficient credits. Add more using https://openrouter.ai/credits", isError: true })).toMatchObject({ status: 402 });
    expect(creditExhaustion({ text: "⚠️ 403 Key limit exceeded", isError: true })).toMatchObject({ status: 403 });
  });

  it("not other errors, and not a real answer that talks about credits", () => {
    expect(creditExhaustion({ text: "⚠️ API rate limit reached. Please try again later.", isError: true })).toBeNull();
    expect(creditExhaustion({ text: "The AI service is temporarily overloaded. Please try again in a moment.", isError: true })).toBeNull();
    expect(creditExhaustion({ text: "Your airline miles ran out of credits? Insufficient credits happen; try the 402 bus." })).toBeNull();
    expect(creditExhaustion({})).toBeNull();
  });
});

describe("once per exhaustion period", () => {
  const at = (iso: string) => () => new Date(iso);

  it("announces once, stays quiet after a restart, and again after a real answer", () => {
    const file = path.join(tempDir("credit-notice"), "credit-notice.json");
    const notice = new CreditNotice(file, at("2026-12-02T06:00:00Z"));
    expect(notice.onExhausted()).toEqual({ action: "announce" });
    expect(notice.onExhausted()).toEqual({ action: "suppress" });
    // A restarted plugin reads the same file.
    expect(new CreditNotice(file, at("2026-12-20T06:00:00Z")).onExhausted()).toEqual({ action: "suppress" });
    notice.onAnswered();
    expect(notice.onExhausted()).toEqual({ action: "announce" });
  });

  it("a new UTC month is a new period (OpenRouter resets monthly limits)", () => {
    const file = path.join(tempDir("credit-notice"), "credit-notice.json");
    expect(new CreditNotice(file, at("2026-12-31T23:59:00Z")).onExhausted()).toEqual({ action: "announce" });
    expect(new CreditNotice(file, at("2026-12-31T23:59:59Z")).onExhausted()).toEqual({ action: "suppress" });
    expect(new CreditNotice(file, at("2027-01-01T00:00:01Z")).onExhausted()).toEqual({ action: "announce" });
  });
});

describe("what the channel sends", () => {
  it("the error becomes the notice once; later errors send nothing; a real answer passes and opens a new period", () => {
    const notice = new CreditNotice(path.join(tempDir("credit-notice"), "credit-notice.json"));
    // No pool configured here: the report is skipped (credit-notice.test.ts reports to the real pool).
    const noPool = { poolUrl: undefined, instanceId: undefined, gatewayToken: undefined };
    const error = { text: OPENCLAW_BILLING, isError: true };
    expect(creditReply({ text: "Saturday: hike at 9" }, notice, noPool)).toEqual({ kind: "pass" });
    expect(creditReply(error, notice, noPool)).toEqual({ kind: "notice", text: CREDIT_NOTICE });
    expect(creditReply(error, notice, noPool)).toEqual({ kind: "drop" });
    // Scheduled runs reach the channel as plain text: the same wording is recognised there.
    expect(creditReply({ text: OPENCLAW_BILLING_LABELLED }, notice, noPool)).toEqual({ kind: "drop" });
    // Another error passes as it is.
    expect(creditReply({ text: "⚠️ API rate limit reached. Please try again later.", isError: true }, notice, noPool)).toEqual({ kind: "pass" });
    expect(creditReply(error, notice, noPool)).toEqual({ kind: "drop" });
    expect(creditReply({ text: "Back again: Sunday works." }, notice, noPool)).toEqual({ kind: "pass" });
    expect(creditReply(error, notice, noPool)).toEqual({ kind: "notice", text: CREDIT_NOTICE });
  });
});
