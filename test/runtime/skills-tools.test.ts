// The agent's tools in a group chat, end to end: a real `openclaw gateway` (booted once for
// this file) with the convos plugin, the fake convos CLI, a scripted model that calls each
// tool, and a fake OpenRouter for what the instance's own key pays for (web search through a
// Sonar model, voice-note transcription). Browsing drives the real Chromium on this machine
// against a page served on loopback; PDFs go through OpenClaw's `pdf` tool, CSVs through
// `read`, and a file the agent writes goes back to the chat through the CLI's `attach`.
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CANNOT_LISTEN_LINE } from "../../runtime-container/plugins/convos/src/attachments.ts";
import { messageText, startScriptedModel, type ModelRequest, type ModelStep, type ScriptedModel } from "../support/scripted-model.ts";
import { startFakeOpenRouterTools, type FakeOpenRouterTools } from "./fake-openrouter-tools.ts";
import { IMAGE_CHROMIUM, OPENCLAW_INSTALLED, alive, descendants, fakeConvos, readTranscript, startRuntime, tempDir, waitFor, type RuntimeHandle, type TranscriptEntry } from "./support.ts";

// Debian's Chromium, as the image ships it (the browser suites' CHROMIUM_PATH overrides it).
const CHROMIUM = process.env.CHROMIUM_PATH || IMAGE_CHROMIUM;
const INSTANCE_KEY = "sk-or-v1-instance-key-for-this-agent";
const MAYA = { id: "a".repeat(64), name: "Maya" };

let r: RuntimeHandle;
let model: ScriptedModel;
let openrouter: FakeOpenRouterTools;
let pages: http.Server;
let pageUrl = "";
let conversationId: string;
let seq = 0;
const files = tempDir("skills-tools-files");

function inject(args: string[]): string {
  const id = `${(++seq).toString(16).padStart(4, "0")}${"d".repeat(60)}`;
  fakeConvos(r.convosHome, ["fake-inject", conversationId, ...args, "--sender-name", MAYA.name, "--sender-inbox-id", MAYA.id, "--id", id]);
  return id;
}
const say = (text: string) => inject(["--text", text]);
const share = (name: string, data: Buffer | string) => {
  const p = path.join(files, name);
  fs.writeFileSync(p, data);
  return inject(["--attachment", p, "--remote"]);
};
const mark = () => readTranscript(r.convosHome).length;
const since = (m: number): TranscriptEntry[] =>
  readTranscript(r.convosHome)
    .slice(m)
    .filter((e) => e.conversationId === conversationId && e.kind !== "command" && e.kind !== "injected");
const sent = (m: number) =>
  since(m)
    .filter((e) => e.kind === "sent")
    .map((e) => e.text);
const turnFinished = (id: string) =>
  waitFor(
    () => new RegExp(`turn for message ${id} finished`, "u").test(r.output()),
    () => `turn for ${id}\n${r.output().slice(-4000)}`,
    150_000,
    100,
  );
const given = (q: ModelRequest) => JSON.stringify(q.messages);
/** Tool results the model was handed in a request (role "tool"), as text. */
const toolResults = (q: ModelRequest) =>
  q.messages
    .filter((m) => m.role === "tool")
    .map(messageText)
    .join("\n");

/**
 * A model step calling one of OpenClaw's tools: directly when the request lists it, through
 * OpenClaw's `tool_call` wrapper when the tool is deferred (tool search).
 */
const callTool =
  (name: string, args: Record<string, unknown> | ((q: ModelRequest) => Record<string, unknown>)) =>
  (q: ModelRequest): ModelStep => {
    const a = typeof args === "function" ? args(q) : args;
    return q.tools?.some((t) => t.function.name === name) ? { toolCalls: [{ name, arguments: a }] } : { toolCalls: [{ name: "tool_call", arguments: { id: name, args: a } }] };
  };
/** The workspace path the plugin told the model a shared file was saved under. */
const storedPath = (q: ModelRequest, filename: string) => {
  const found = new RegExp(`saved in your workspace as (attachments/[\\w-]*${filename.replace(".", "\\.")})`, "u").exec(given(q));
  if (!found) throw new Error(`the model was not told where ${filename} is: ${given(q).slice(-1500)}`);
  return found[1]!;
};

/** A one-page PDF whose text is `lines` (Helvetica), with a correct cross-reference table. */
function pdfWith(lines: string[]): Buffer {
  const text = lines.map((l, i) => `BT /F1 12 Tf 72 ${740 - i * 18} Td (${l.replace(/[()\\]/gu, "\\$&")}) Tj ET`).join("\n");
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
    `<< /Length ${Buffer.byteLength(text)} >>\nstream\n${text}\nendstream`,
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
  ];
  let out = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out);
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("")}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, "latin1");
}

beforeAll(async () => {
  if (!OPENCLAW_INSTALLED) throw new Error("openclaw is not installed in runtime-container/node_modules: run `npm install` at the repo root");
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium`);
  model = await startScriptedModel();
  openrouter = await startFakeOpenRouterTools();
  pages = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(
      "<!doctype html><html><head><title>Lake Trail conditions</title></head><body><h1>Lake Trail</h1><p id=status>Trail status: open, bridge repaired on Friday.</p><script>document.getElementById('status').insertAdjacentHTML('afterend','<p>Parking fee today: 4 euros</p>')</script></body></html>",
    );
  });
  await new Promise<void>((resolve) => pages.listen(0, "127.0.0.1", resolve));
  pageUrl = `http://127.0.0.1:${(pages.address() as AddressInfo).port}/lake-trail`;
  r = await startRuntime({
    gateway: "openclaw",
    env: {
      OPENROUTER_API_KEY: INSTANCE_KEY,
      OPENROUTER_BASE_URL: openrouter.baseUrl,
      HTTP_PROXY: openrouter.proxyUrl,
      NO_PROXY: "127.0.0.1,localhost",
      OPENCLAW_DEV_MODEL_URL: model.url,
      CONVOS_UPLOAD_PROVIDER: "convos-api",
      CHROME_PATH: CHROMIUM,
      // The page is on loopback, which the browser refuses unless the host is allowed.
      BROWSER_ALLOWED_HOSTS: "127.0.0.1",
    },
  });
  await r.waitReady(240_000);
  const provisioned = await r.call("POST", "/pool/provision", { agentName: "Ava", instructions: "Help the group plan a lake weekend." });
  expect(provisioned.status, JSON.stringify(provisioned.body)).toBe(200);
  conversationId = provisioned.body.conversationId;
  await waitFor(async () => (await r.call("GET", "/convos/status")).body.streaming, "conversation stream");
  // The greeting goes out first, without the model.
  await waitFor(() => since(0).some((e) => e.kind === "sent"), "the greeting", 60_000, 100);
}, 300_000);

afterAll(async () => {
  if (process.env.SKILLS_TOOLS_DEBUG_DIR && r) {
    fs.writeFileSync(path.join(process.env.SKILLS_TOOLS_DEBUG_DIR, "gateway.log"), r.output());
    fs.writeFileSync(path.join(process.env.SKILLS_TOOLS_DEBUG_DIR, "requests.json"), JSON.stringify(model.requests, null, 1));
    fs.writeFileSync(path.join(process.env.SKILLS_TOOLS_DEBUG_DIR, "openrouter.json"), JSON.stringify(openrouter.calls, null, 1));
  }
  const tree = r ? descendants(r.child.pid!) : [];
  expect(await r?.stop()).toBe(0);
  // Chromium is part of the instance's process tree: it goes with the gateway.
  await waitFor(() => tree.every((pid) => !alive(pid)), "gateway process tree (browser included) to exit", 20_000);
  await model?.close();
  await openrouter?.close();
  pages?.close();
}, 60_000);

afterEach(() => expect(model.pending()).toBe(0));

describe("web search", () => {
  it("searches through OpenRouter's Sonar model with the instance's own key and answers from the result", async () => {
    const query = "Lake Annecy ferry timetable this weekend";
    openrouter.answers.set(query, { content: "Ferries leave Annecy at 10:00 and 14:30 on Saturday and Sunday.", citations: ["https://bateaux-annecy.example/horaires"] });
    model.script(callTool("web_search", { query }), { text: "Ferries at 10:00 and 14:30 both days." });
    const start = mark();
    const id = say("Ava, when do the ferries run this weekend?");
    await turnFinished(id);

    const searches = openrouter.calls.filter((c) => c.path === "/api/v1/chat/completions");
    expect(searches).toHaveLength(1);
    expect(searches[0]!.authorization).toBe(`Bearer ${INSTANCE_KEY}`);
    expect(searches[0]!.body).toMatchObject({ model: "perplexity/sonar", messages: [{ role: "user", content: query }] });
    const after = model.requests.at(-1)!;
    expect(toolResults(after)).toContain("Ferries leave Annecy at 10:00 and 14:30");
    expect(toolResults(after)).toContain("https://bateaux-annecy.example/horaires");
    expect(sent(start)).toEqual(["Ferries at 10:00 and 14:30 both days."]);
  }, 200_000);
});

describe("browsing", () => {
  it("opens a page in the instance's headless Chromium and reads what its script rendered", async () => {
    // The first open launches Chromium, which on a loaded machine can outlast the tool's own
    // wait and come back as an error; a model would open the page again, so the script does.
    model.script(callTool("browser", { action: "open", url: pageUrl }), callTool("browser", { action: "open", url: pageUrl }), callTool("browser", { action: "snapshot" }), {
      text: "The trail is open; parking is 4 euros.",
    });
    const start = mark();
    const id = say("Ava, can you check the Lake Trail page?");
    await turnFinished(id);

    const snapshot = toolResults(model.requests.at(-1)!);
    expect(snapshot).toContain("Trail status: open, bridge repaired on Friday.");
    // Written by the page's JavaScript: a real browser rendered it, not a plain fetch.
    expect(snapshot).toContain("Parking fee today: 4 euros");
    expect(sent(start)).toEqual(["The trail is open; parking is 4 euros."]);

    // One browser for the instance, launched with the container's flags, profile on the volume.
    const cmdlines = descendants(r.child.pid!)
      .map((pid) => {
        try {
          return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
        } catch {
          return [];
        }
      })
      // The browser process itself: its helpers (renderers, zygotes, crashpad) carry --type.
      .filter((argv) => argv.some((a) => a.startsWith("--user-data-dir=")) && !argv.some((a) => a.startsWith("--type=")));
    expect(cmdlines).toHaveLength(1);
    const browser = cmdlines[0]!;
    for (const flag of ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--renderer-process-limit=2"]) expect(browser).toContain(flag);
    const userDataDir = browser.find((a) => a.startsWith("--user-data-dir="))!.slice("--user-data-dir=".length);
    expect(userDataDir.startsWith(r.stateDir + path.sep)).toBe(true);
  }, 200_000);
});

describe("files a member shares", () => {
  it("reads a PDF through OpenClaw's pdf tool: its text reaches the model", async () => {
    const pdf = pdfWith([
      "Chalet du Lac - weekend menu",
      "Saturday dinner: mushroom risotto, 18 euros per person.",
      "Sunday brunch: crepes and fruit, 12 euros per person.",
      "Booking needed before Thursday noon; call the chalet to confirm numbers.",
    ]);
    let relative = "";
    model.script(
      callTool("pdf", (q) => ({ pdf: (relative = storedPath(q, "menu.pdf")), prompt: "What does dinner cost?" })),
      // The pdf tool's own model call: it carries the text extracted from the document.
      { text: "Dinner on Saturday is mushroom risotto at 18 euros per person." },
      { text: "Saturday dinner is 18 euros each; book before Thursday noon." },
    );
    const start = mark();
    const id = share("menu.pdf", pdf);
    await turnFinished(id);

    expect(fs.readFileSync(path.join(r.stateDir, "workspace", relative)).equals(pdf)).toBe(true);
    const analysis = model.requests.find((q) => given(q).includes("mushroom risotto, 18 euros per person") && !given(q).includes("[message id:"));
    expect(analysis, "the pdf tool's model request with the extracted text").toBeDefined();
    expect(given(analysis!)).toContain("What does dinner cost?");
    expect(toolResults(model.requests.at(-1)!)).toContain("mushroom risotto at 18 euros");
    expect(sent(start)).toEqual(["Saturday dinner is 18 euros each; book before Thursday noon."]);
  }, 200_000);

  it("reads a CSV with the read tool", async () => {
    const csv = "item,who,qty\ntent,Maya,1\nstove,Jon,1\nmarshmallows,Sam,3\n";
    model.script(
      callTool("read", (q) => ({ path: storedPath(q, "packing.csv") })),
      { text: "Sam brings 3 bags of marshmallows." },
    );
    const start = mark();
    const id = share("packing.csv", csv);
    await turnFinished(id);
    expect(toolResults(model.requests.at(-1)!)).toContain("marshmallows,Sam,3");
    expect(sent(start)).toEqual(["Sam brings 3 bags of marshmallows."]);
  }, 200_000);
});

describe("voice notes", () => {
  // Ogg pages start with "OggS": the plugin checks the bytes, not only the name.
  // (OpenClaw skips audio under 1 KB as too short to hold speech.)
  const OGG = Buffer.concat([Buffer.from("OggS\0\x02", "latin1"), Buffer.alloc(4096, 7)]);
  const OGG_UNHEARD = Buffer.concat([Buffer.from("OggS\0\x02", "latin1"), Buffer.alloc(4096, 9)]);

  it("transcribes a voice note through OpenRouter with the instance's key and gives the agent the words", async () => {
    openrouter.transcripts.set(OGG.toString("base64"), "Can we leave at eight and bring the big tent?");
    model.script({ text: "Eight works, and I'll add the big tent to the list." });
    const start = mark();
    const id = share("voice-note.ogg", OGG);
    await turnFinished(id);

    const stt = openrouter.calls.filter((c) => c.path === "/api/v1/audio/transcriptions");
    expect(stt).toHaveLength(1);
    expect(stt[0]!.authorization).toBe(`Bearer ${INSTANCE_KEY}`);
    expect(stt[0]!.body).toMatchObject({ model: "openai/whisper-large-v3-turbo", input_audio: { data: OGG.toString("base64"), format: "ogg" } });
    const q = model.requests.at(-1)!;
    expect(given(q)).toContain("shared a voice note: voice-note.ogg");
    expect(given(q)).toContain("Can we leave at eight and bring the big tent?");
    expect(
      since(start)
        .filter((e) => e.kind === "sent")
        .map((e) => [e.text, (e as { replyTo?: string }).replyTo]),
    ).toEqual([["Eight works, and I'll add the big tent to the list.", id]]);
  }, 200_000);

  it("says it cannot listen to audio yet when transcription is not possible, without a model turn", async () => {
    const before = model.requests.length;
    const start = mark();
    // No transcript for these bytes: the fake answers 500, as OpenRouter does when it fails.
    const id = share("another-note.ogg", OGG_UNHEARD);
    await turnFinished(id);
    expect(
      since(start)
        .filter((e) => e.kind === "sent")
        .map((e) => [e.text, (e as { replyTo?: string }).replyTo]),
    ).toEqual([[CANNOT_LISTEN_LINE, id]]);
    expect(model.requests.length).toBe(before);
  }, 200_000);
});

describe("files the agent makes", () => {
  it("writes an ICS invite in its workspace and sends it to the chat through the CLI's attach", async () => {
    const ics = [
      "BEGIN:VCALENDAR",
      "VERSION:2.0",
      "PRODID:-//Ava//Convos//EN",
      "BEGIN:VEVENT",
      "UID:lake-weekend@ava",
      "DTSTART:20261205T080000Z",
      "DTEND:20261206T180000Z",
      "SUMMARY:Lake weekend",
      "END:VEVENT",
      "END:VCALENDAR",
      "",
    ].join("\r\n");
    model.script(callTool("write", { path: "lake-weekend.ics", content: ics }), callTool("message", { action: "sendAttachment", workspaceFile: "lake-weekend.ics" }), {
      text: "Invite sent, add it to your calendars.",
    });
    const start = mark();
    const id = say("Ava, can you send us a calendar invite for the lake weekend?");
    await turnFinished(id);

    const file = path.join(r.stateDir, "workspace", "lake-weekend.ics");
    expect(fs.readFileSync(file, "utf8")).toBe(ics);
    const attachments = since(start).filter((e) => e.kind === "attachment") as Array<TranscriptEntry & { id?: string; filename?: string; size?: number }>;
    expect(attachments).toMatchObject([{ filename: "lake-weekend.ics", size: Buffer.byteLength(ics) }]);
    // What members receive: the attachment as anyone in the chat downloads it with the CLI.
    const received = path.join(files, "received.ics");
    fakeConvos(r.convosHome, ["conversation", "download-attachment", conversationId, attachments[0]!.id!, "--output", received, "--json"]);
    expect(fs.readFileSync(received, "utf8")).toBe(ics);
    expect(sent(start)).toEqual(["Invite sent, add it to your calendars."]);
  }, 200_000);
});
