#!/usr/bin/env node
// SMS from the agent's own number through Telnyx API v2: send, status, inbox.
import { parseArgs } from "node:util";

const NOT_CONFIGURED = 3;
const key = process.env.TELNYX_API_KEY;
const from = process.env.TELNYX_PHONE_NUMBER;
const base = (process.env.TELNYX_BASE_URL || "https://api.telnyx.com").replace(/\/+$/u, "");

function fail(message, code = 1) {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

if (!key || !from) fail("SMS is not configured on this instance (no TELNYX_API_KEY / TELNYX_PHONE_NUMBER): texting is unavailable here.", NOT_CONFIGURED);

const [command, ...rest] = process.argv.slice(2);
const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { to: { type: "string" }, text: { type: "string" }, limit: { type: "string" } } });

async function api(method, path, body) {
  const res = await fetch(`${base}/v2${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, accept: "application/json", ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (!res.ok) {
    let detail = text.slice(0, 300);
    try {
      const first = JSON.parse(text).errors?.[0];
      if (first) detail = `${first.title}${first.detail ? `: ${first.detail}` : ""}`;
    } catch {}
    fail(`Telnyx answered ${res.status}: ${detail}`);
  }
  return text ? JSON.parse(text) : {};
}

if (command === "send") {
  if (!values.to || !/^\+[1-9]\d{6,14}$/u.test(values.to)) fail("send needs --to as an E.164 number, e.g. +15551234567");
  if (!values.text) fail("send needs --text");
  const { data } = await api("POST", "/messages", { from, to: values.to, text: values.text, type: "SMS" });
  process.stdout.write(JSON.stringify({ sent: true, id: data.id, status: data.to?.[0]?.status ?? null, parts: data.parts }) + "\n");
} else if (command === "status") {
  const id = positionals[0];
  if (!id) fail("status needs the message id");
  const { data } = await api("GET", `/messages/${encodeURIComponent(id)}`);
  process.stdout.write(JSON.stringify({ id: data.id, to: data.to?.map((t) => ({ number: t.phone_number, status: t.status })), errors: data.errors ?? [] }) + "\n");
} else if (command === "inbox") {
  // Inbound texts are kept as messaging detail records; filter to this number's inbound ones.
  const limit = Math.min(50, Number(values.limit ?? 10));
  const out = await api("GET", `/detail_records?filter[record_type]=messaging&page[size]=${limit * 3}&sort=-created_at`);
  const inbound = (out.data ?? []).filter((r) => r.direction === "inbound" && (r.cld === from || r.to === from)).slice(0, limit);
  process.stdout.write(JSON.stringify({ count: inbound.length, messages: inbound.map((r) => ({ from: r.cli ?? r.from, at: r.created_at ?? r.sent_at, text: r.message ?? null })) }, null, 2) + "\n");
} else {
  fail("usage: sms.mjs send|status|inbox [options] (see SKILL.md)");
}
