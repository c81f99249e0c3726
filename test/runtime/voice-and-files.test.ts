// The plugin's decisions about voice notes and the files the agent sends, without a gateway:
// which shared files are voice notes (by what they declare, then by their bytes), and which
// workspace files sendAttachment's `workspaceFile` may put in the chat.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  CANNOT_LISTEN_LINE,
  MAX_ATTACHMENT_BYTES,
  describeStored,
  describeVoiceNote,
  inspectDownloaded,
  planAttachment,
  sniffAudioType,
} from "../../runtime-container/plugins/convos/src/attachments.ts";
import { CONTENT_TYPES } from "../../runtime-container/plugins/convos/src/cli-protocol.ts";
import type { ConvosService } from "../../runtime-container/plugins/convos/src/convos-service.ts";
import { type InboundDeps, handleInbound } from "../../runtime-container/plugins/convos/src/inbound-dispatch.ts";
import { fromServeMessage } from "../../runtime-container/plugins/convos/src/inbound-message.ts";
import { RoomState } from "../../runtime-container/plugins/convos/src/room-state.ts";
import { runAgentAction } from "../../runtime-container/plugins/convos/src/message-actions.ts";
import { tempDir } from "./support.ts";

describe("voice notes", () => {
  it("expects audio from its type or its name, before downloading", () => {
    expect(planAttachment({ filename: null, mimeType: "audio/ogg", bytes: 5000 })).toEqual({ action: "download", expect: "audio" });
    // Remote attachments carry no type: the name says it.
    for (const name of ["Voice memo.m4a", "note.OPUS", "rec.webm", "a.mp3", "b.wav"])
      expect(planAttachment({ filename: name, mimeType: null, bytes: null })).toEqual({ action: "download", expect: "audio" });
    expect(planAttachment({ filename: "notes.csv", mimeType: null, bytes: null })).toEqual({ action: "download", expect: "file" });
  });

  it("recognises the audio containers OpenRouter transcribes by their first bytes", () => {
    const head = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : Buffer.from(p))));
    expect(sniffAudioType(head("OggS", [0, 2]))).toBe("audio/ogg");
    expect(sniffAudioType(head("RIFF", [0, 0, 0, 0], "WAVE"))).toBe("audio/wav");
    expect(sniffAudioType(head("fLaC"))).toBe("audio/flac");
    expect(sniffAudioType(head([0, 0, 0, 0x20], "ftypM4A "))).toBe("audio/mp4");
    expect(sniffAudioType(head([0x1a, 0x45, 0xdf, 0xa3]))).toBe("audio/webm");
    expect(sniffAudioType(head("ID3", [4, 0]))).toBe("audio/mpeg");
    expect(sniffAudioType(head([0xff, 0xfb, 0x90]))).toBe("audio/mpeg");
    expect(sniffAudioType(head([0xff, 0xf1, 0x50]))).toBe("audio/aac");
    expect(sniffAudioType(head("RIFF", [0, 0, 0, 0], "WEBP"))).toBeNull();
    expect(sniffAudioType(head("hello, this is text"))).toBeNull();
  });

  it("stores a real voice note as audio, and a mislabelled one or an MP4 video as a plain file", () => {
    const ws = tempDir("voice");
    const write = (name: string, data: Buffer) => {
      const p = path.join(ws, name);
      fs.writeFileSync(p, data);
      return p;
    };
    const ogg = write("a-voice.ogg", Buffer.concat([Buffer.from("OggS", "latin1"), Buffer.alloc(2000)]));
    const stored = inspectDownloaded(ogg, ws, { filename: "voice.ogg", mimeType: null, bytes: null }, "audio");
    expect(stored).toMatchObject({ ok: true, stored: { kind: "audio", contentType: "audio/ogg", relativePath: "a-voice.ogg", bytes: 2004 } });
    const text = write("b-voice.ogg", Buffer.from("not audio at all"));
    expect(inspectDownloaded(text, ws, { filename: "voice.ogg", mimeType: "audio/ogg", bytes: null }, "audio")).toMatchObject({ ok: true, stored: { kind: "file", contentType: "audio/ogg" } });
    const video = write("c-clip.mp4", Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from("ftypmp42", "latin1"), Buffer.alloc(100)]));
    expect(inspectDownloaded(video, ws, { filename: "clip.mp4", mimeType: "video/mp4", bytes: null }, "file")).toMatchObject({ ok: true, stored: { kind: "file" } });
  });

  it("tells the agent who sent the voice note, where it is and what was said", () => {
    const stored = { kind: "audio" as const, path: "/ws/attachments/x-voice.ogg", relativePath: "attachments/x-voice.ogg", filename: "voice.ogg", contentType: "audio/ogg", bytes: 4096 };
    expect(describeStored(stored, "Maya")).toBe("Maya shared a voice note: voice.ogg (audio/ogg, 4 KB), saved in your workspace as attachments/x-voice.ogg.");
    expect(describeVoiceNote(stored, null, '[Audio transcript]: "see you at 8"')).toBe(
      'Someone shared a voice note: voice.ogg (audio/ogg, 4 KB), saved in your workspace as attachments/x-voice.ogg.\n[Audio transcript]: "see you at 8"',
    );
  });
});

describe("a voice note nobody can transcribe", () => {
  it("gets a plain 'can't listen yet' line threaded to it, and never reaches the model", async () => {
    const ws = tempDir("voice-turn");
    const sent: Array<[string, string | undefined]> = [];
    const asked: string[] = [];
    const service = {
      // `conversation download-attachment … --output <file>` writes the decrypted bytes there.
      runCli: async (args: string[]) => {
        fs.writeFileSync(args[args.indexOf("--output") + 1]!, Buffer.concat([Buffer.from("OggS", "latin1"), Buffer.alloc(3000)]));
        return { success: true };
      },
      send: async (text: string, replyTo?: string) => {
        sent.push([text, replyTo]);
        return {};
      },
    } as unknown as ConvosService;
    const room = new RoomState({ selfName: "Ava" });
    room.ready({ inboxId: "agent-inbox", name: "Weekend" });
    room.member("maya", "Maya");
    const msg = fromServeMessage("conv-1", {
      event: "message",
      id: "voice-1",
      senderInboxId: "maya",
      senderProfile: { name: "Maya" },
      contentType: CONTENT_TYPES.attachment,
      content: "[attachment: voice.ogg (audio/ogg)]",
      sentAt: new Date().toISOString(),
      deliveryStatus: 1,
    });
    // Any use of OpenClaw's reply pipeline would be a model turn.
    const channelRuntime = new Proxy(
      {},
      {
        get: (_t, key) => {
          throw new Error(`the model was asked (${String(key)})`);
        },
      },
    ) as InboundDeps["channelRuntime"];
    await handleInbound(msg, {
      channelRuntime,
      loadConfig: () => ({}),
      service,
      room,
      accountId: "default",
      workspaceDir: ws,
      transcribe: async ({ mime }) => {
        asked.push(mime);
        return { why: "no audio model has credentials" };
      },
    });
    expect(asked).toEqual(["audio/ogg"]);
    expect(sent).toEqual([[CANNOT_LISTEN_LINE, "voice-1"]]);
  });
});

describe("files the agent sends with workspaceFile", () => {
  const setup = () => {
    const root = tempDir("send-ws");
    const ws = path.join(root, "workspace");
    fs.mkdirSync(ws);
    const commands: unknown[] = [];
    const serveCommand = async (cmd: unknown) => {
      commands.push(cmd);
      return { ok: true };
    };
    const service = { serveCommand, send: async () => ({}) } as unknown as ConvosService;
    return { root, ws, commands, service };
  };

  it("attaches a workspace file of any type through the CLI, as it is", async () => {
    const { ws, commands, service } = setup();
    fs.writeFileSync(path.join(ws, "trip.ics"), "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n");
    const result = await runAgentAction(service, { action: "sendAttachment", params: { workspaceFile: "trip.ics", replyTo: "m1" } }, ws);
    expect(commands).toEqual([{ type: "attach", file: fs.realpathSync(path.join(ws, "trip.ics")), replyTo: "m1" }]);
    expect(result.content[0]!.text).toBe("sent trip.ics");
  });

  it("refuses files outside the workspace and files too big to send, sending nothing", async () => {
    const { root, ws, commands, service } = setup();
    fs.writeFileSync(path.join(root, "convos-binding.json"), "{}");
    await expect(runAgentAction(service, { action: "sendAttachment", params: { workspaceFile: "../convos-binding.json" } }, ws)).rejects.toThrow(/outside the workspace/u);
    await expect(runAgentAction(service, { action: "sendAttachment", params: { workspaceFile: "missing.csv" } }, ws)).rejects.toThrow(/no file missing\.csv/u);
    fs.writeFileSync(path.join(ws, "huge.csv"), Buffer.alloc(MAX_ATTACHMENT_BYTES + 1));
    await expect(runAgentAction(service, { action: "sendAttachment", params: { workspaceFile: "huge.csv" } }, ws)).rejects.toThrow(/files up to 10485760 bytes can be sent/u);
    expect(commands).toEqual([]);
  });
});
