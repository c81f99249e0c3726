#!/usr/bin/env node
// Bankr agent API: submit a plain-language prompt, poll the job until it finishes.
const NOT_CONFIGURED = 3;
const key = process.env.BANKR_API_KEY;
const base = (process.env.BANKR_API_URL || "https://api.bankr.bot").replace(/\/+$/u, "");

function fail(message, code = 1) {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

if (!key) fail("Bankr is not configured on this instance (no BANKR_API_KEY): payments are unavailable here.", NOT_CONFIGURED);
const prompt = process.argv.slice(2).join(" ").trim();
if (!prompt) fail('usage: bankr.mjs "<what to do>"');

async function api(method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { "x-api-key": key, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (!res.ok) fail(`Bankr answered ${res.status}: ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : {};
}

const { jobId } = await api("POST", "/agent/prompt", { prompt });
if (!jobId) fail("Bankr did not return a job id");
const deadline = Date.now() + 120_000;
const pollMs = Number(process.env.BANKR_POLL_MS) || 2000;
while (Date.now() < deadline) {
  const job = await api("GET", `/agent/job/${encodeURIComponent(jobId)}`);
  if (job.status === "completed") {
    process.stdout.write(JSON.stringify({ status: "completed", response: job.response ?? null }) + "\n");
    process.exit(0);
  }
  if (job.status === "failed" || job.status === "cancelled") fail(`Bankr job ${job.status}: ${job.error ?? job.response ?? "no details"}`);
  await new Promise((r) => setTimeout(r, pollMs));
}
fail("Bankr did not finish within 2 minutes; ask again later");
