#!/usr/bin/env node
// AgentMail from the agent's own inbox: send, invite (ICS), inbox. API: https://api.agentmail.to/v0
import { parseArgs } from "node:util";

const NOT_CONFIGURED = 3;
const key = process.env.AGENTMAIL_API_KEY;
const inbox = process.env.AGENTMAIL_INBOX;
const base = (process.env.AGENTMAIL_BASE_URL || "https://api.agentmail.to").replace(/\/+$/u, "");

function fail(message, code = 1) {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

if (!key || !inbox) {
  fail("AgentMail is not configured on this instance (no AGENTMAIL_API_KEY / AGENTMAIL_INBOX): email is unavailable here.", NOT_CONFIGURED);
}

const [command, ...rest] = process.argv.slice(2);
const { values } = parseArgs({
  args: rest,
  options: {
    to: { type: "string", multiple: true },
    cc: { type: "string", multiple: true },
    subject: { type: "string" },
    text: { type: "string" },
    html: { type: "string" },
    title: { type: "string" },
    start: { type: "string" },
    end: { type: "string" },
    location: { type: "string" },
    limit: { type: "string" },
  },
});

async function api(method, path, body) {
  const res = await fetch(`${base}/v0${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (!res.ok) {
    let detail = text.slice(0, 300);
    try {
      const parsed = JSON.parse(text);
      detail = parsed.message ?? parsed.name ?? detail;
    } catch {}
    fail(`AgentMail answered ${res.status}: ${detail}`);
  }
  return text ? JSON.parse(text) : {};
}

function icsDate(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) fail(`not an ISO 8601 time: ${iso}`);
  return d
    .toISOString()
    .replace(/[-:]/gu, "")
    .replace(/\.\d{3}/u, "");
}

function icsEscape(s) {
  return String(s).replace(/\\/gu, "\\\\").replace(/;/gu, "\\;").replace(/,/gu, "\\,").replace(/\n/gu, "\\n");
}

export function buildIcs({ title, start, end, location, description, organizer, attendees, uid }) {
  return [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "PRODID:-//Convos Agent//AgentMail//EN",
    "METHOD:REQUEST",
    "BEGIN:VEVENT",
    `UID:${uid}`,
    `DTSTAMP:${icsDate(new Date().toISOString())}`,
    `DTSTART:${icsDate(start)}`,
    `DTEND:${icsDate(end)}`,
    `SUMMARY:${icsEscape(title)}`,
    ...(location ? [`LOCATION:${icsEscape(location)}`] : []),
    ...(description ? [`DESCRIPTION:${icsEscape(description)}`] : []),
    `ORGANIZER:mailto:${organizer}`,
    ...attendees.map((a) => `ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:${a}`),
    "END:VEVENT",
    "END:VCALENDAR",
    "",
  ].join("\r\n");
}

const path = `/inboxes/${encodeURIComponent(inbox)}`;
if (command === "send") {
  if (!values.to?.length) fail("send needs --to");
  const out = await api("POST", `${path}/messages/send`, { to: values.to, cc: values.cc, subject: values.subject, text: values.text, html: values.html });
  process.stdout.write(JSON.stringify({ sent: true, message_id: out.message_id, thread_id: out.thread_id }) + "\n");
} else if (command === "invite") {
  if (!values.to?.length || !values.title || !values.start || !values.end) fail("invite needs --to, --title, --start and --end");
  const ics = buildIcs({
    title: values.title,
    start: values.start,
    end: values.end,
    location: values.location,
    description: values.text,
    organizer: inbox,
    attendees: values.to,
    uid: `${Date.now()}-${Math.random().toString(36).slice(2)}@convos-agent`,
  });
  const out = await api("POST", `${path}/messages/send`, {
    to: values.to,
    cc: values.cc,
    subject: values.subject ?? `Invitation: ${values.title}`,
    text: values.text ?? `You're invited: ${values.title}`,
    attachments: [{ filename: "invite.ics", content_type: "text/calendar; method=REQUEST", content_disposition: "attachment", content: Buffer.from(ics).toString("base64") }],
  });
  process.stdout.write(JSON.stringify({ sent: true, invite: true, message_id: out.message_id }) + "\n");
} else if (command === "inbox") {
  const out = await api("GET", `${path}/messages?limit=${Number(values.limit ?? 10)}`);
  const messages = (out.messages ?? []).map((m) => ({ from: m.from, subject: m.subject, preview: m.preview, at: m.timestamp ?? m.created_at, message_id: m.message_id }));
  process.stdout.write(JSON.stringify({ count: out.count ?? messages.length, messages }, null, 2) + "\n");
} else {
  fail("usage: agentmail.mjs send|invite|inbox [options] (see SKILL.md)");
}
