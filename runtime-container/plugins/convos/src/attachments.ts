// Files members share and files the agent sends. Inbound: decide from what the message
// declares (size, type) before downloading anything, download through the CLI into the
// workspace, then trust the bytes, not the label: an "image" is an image only if its first
// bytes say so. Outbound: files the agent sends must come from its workspace.
import fs from "node:fs";
import path from "node:path";

export const ATTACHMENT_DIR = "attachments";
export const OUTBOX_DIR = ".convos-outbox";
/** Larger files are refused before download: the model cannot use them and the volume is small. */
export const MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024;
/** Images beyond this are stored as files but not shown to the model (provider limits). */
export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;

export type DeclaredAttachment = { filename: string | null; mimeType: string | null; bytes: number | null };

export type Expectation = "image" | "audio" | "file";
export type AttachmentPlan = { action: "download"; expect: Expectation } | { action: "refuse"; reason: "too_large"; line: string };

/** What the agent says when a voice note cannot be transcribed (no key, no audio model, or it failed). */
export const CANNOT_LISTEN_LINE = "I can't listen to voice notes yet. Could you type it out for me?";

function humanSize(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}

export function isImageType(mimeType: string | null | undefined): boolean {
  return /^image\/(png|jpe?g|gif|webp)$/iu.test(mimeType ?? "");
}

// Voice notes: the formats OpenRouter's transcription endpoint takes (OpenClaw's openrouter
// media-understanding provider), by type and by file name.
const AUDIO_NAME = /\.(ogg|oga|opus|m4a|mp4a|mp3|mpeg|wav|webm|weba|aac|flac)$/iu;

export function isAudioType(mimeType: string | null | undefined): boolean {
  return /^audio\//iu.test(mimeType ?? "");
}

function tooLargeLine(filename: string | null, bytes: number, maxBytes: number): string {
  const what = filename ? `"${filename}"` : "That file";
  return `${what} is too big for me to open (${humanSize(bytes)}; I can take files up to ${humanSize(maxBytes)}).`;
}

/** Decides from the message alone (no download) what to do with a shared file. */
export function planAttachment(declared: DeclaredAttachment, maxBytes = MAX_ATTACHMENT_BYTES): AttachmentPlan {
  if (declared.bytes !== null && declared.bytes > maxBytes) {
    return { action: "refuse", reason: "too_large", line: tooLargeLine(declared.filename, declared.bytes, maxBytes) };
  }
  if (isImageType(declared.mimeType) || /\.(png|jpe?g|gif|webp)$/iu.test(declared.filename ?? "")) return { action: "download", expect: "image" };
  if (isAudioType(declared.mimeType) || AUDIO_NAME.test(declared.filename ?? "")) return { action: "download", expect: "audio" };
  return { action: "download", expect: "file" };
}

export type AudioType = "audio/ogg" | "audio/wav" | "audio/mpeg" | "audio/flac" | "audio/mp4" | "audio/webm" | "audio/aac";

/** The audio container the bytes actually are, or null (a "voice note" that is not audio stays a file). */
export function sniffAudioType(head: Buffer): AudioType | null {
  const ascii = (from: number, to: number) => head.subarray(from, to).toString("latin1");
  if (head.length >= 4 && ascii(0, 4) === "OggS") return "audio/ogg";
  if (head.length >= 12 && ascii(0, 4) === "RIFF" && ascii(8, 12) === "WAVE") return "audio/wav";
  if (head.length >= 4 && ascii(0, 4) === "fLaC") return "audio/flac";
  if (head.length >= 8 && ascii(4, 8) === "ftyp") return "audio/mp4";
  if (head.length >= 4 && head.readUInt32BE(0) === 0x1a45dfa3) return "audio/webm";
  if (head.length >= 3 && ascii(0, 3) === "ID3") return "audio/mpeg";
  // ADTS (AAC) and MPEG audio both start with a frame sync; the layer bits tell them apart.
  if (head.length >= 2 && head[0] === 0xff && (head[1]! & 0xf6) === 0xf0) return "audio/aac";
  if (head.length >= 2 && head[0] === 0xff && (head[1]! & 0xe0) === 0xe0) return "audio/mpeg";
  return null;
}

/** The image type the bytes actually are, or null. */
export function sniffImageType(head: Buffer): "image/png" | "image/jpeg" | "image/gif" | "image/webp" | null {
  if (head.length >= 8 && head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return "image/png";
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return "image/jpeg";
  if (head.length >= 6 && /^GIF8[79]a$/u.test(head.subarray(0, 6).toString("latin1"))) return "image/gif";
  if (head.length >= 12 && head.subarray(0, 4).toString("latin1") === "RIFF" && head.subarray(8, 12).toString("latin1") === "WEBP") return "image/webp";
  return null;
}

/** A name safe to create inside the workspace: no directories, no dot-files, bounded length. */
export function safeFileName(name: string | null | undefined, messageId: string): string {
  const base = path
    .basename((name ?? "").replace(/\\/gu, "/"))
    .replace(/[^\p{L}\p{N}._ -]/gu, "_")
    .replace(/^[.\s]+/u, "")
    .trim()
    .slice(-100);
  return `${messageId.replace(/[^A-Za-z0-9]/gu, "").slice(0, 12) || "file"}-${base || "attachment"}`;
}

export type StoredAttachment = {
  kind: "image" | "audio" | "file";
  /** Absolute path in the workspace. */
  path: string;
  /** Path relative to the workspace, as the agent should refer to it. */
  relativePath: string;
  filename: string;
  contentType: string;
  bytes: number;
};

export type Inspection = { ok: true; stored: StoredAttachment } | { ok: false; reason: "too_large" | "not_an_image"; line: string };

/** Checks a downloaded file against what was declared; refused files are deleted. */
export function inspectDownloaded(file: string, workspaceDir: string, declared: DeclaredAttachment, expect: Expectation, maxBytes = MAX_ATTACHMENT_BYTES): Inspection {
  const bytes = fs.statSync(file).size;
  const filename = declared.filename ?? path.basename(file);
  if (bytes > maxBytes) {
    fs.rmSync(file, { force: true });
    return { ok: false, reason: "too_large", line: tooLargeLine(filename, bytes, maxBytes) };
  }
  const fd = fs.openSync(file, "r");
  const head = Buffer.alloc(16);
  fs.readSync(fd, head, 0, 16, 0);
  fs.closeSync(fd);
  const sniffed = sniffImageType(head);
  if (expect === "image" && !sniffed) {
    fs.rmSync(file, { force: true });
    return { ok: false, reason: "not_an_image", line: `I couldn't open "${filename}": it says it is an image, but it isn't one I can read (PNG, JPEG, GIF or WebP).` };
  }
  // Only a file announced as audio is a voice note: an MP4 video also starts with "ftyp".
  const audio = !sniffed && expect === "audio" ? sniffAudioType(head) : null;
  const kind = sniffed && bytes <= MAX_IMAGE_BYTES ? "image" : audio ? "audio" : "file";
  return {
    ok: true,
    stored: { kind, path: file, relativePath: path.relative(workspaceDir, file), filename, contentType: sniffed ?? audio ?? declared.mimeType ?? "application/octet-stream", bytes },
  };
}

/** What the agent reads about a stored file in the message body. */
export function describeStored(stored: StoredAttachment, senderName: string | null): string {
  const who = senderName ?? "Someone";
  const noun = stored.kind === "image" ? "an image" : stored.kind === "audio" ? "a voice note" : "a file";
  return `${who} shared ${noun}: ${stored.filename} (${stored.contentType}, ${humanSize(stored.bytes)}), saved in your workspace as ${stored.relativePath}.`;
}

/**
 * A voice note as the agent reads it: the stored file plus OpenClaw's transcript line, which
 * marks the words as machine-generated and untrusted (they are a member's, not instructions).
 */
export function describeVoiceNote(stored: StoredAttachment, senderName: string | null, transcriptLine: string): string {
  return `${describeStored(stored, senderName)}\n${transcriptLine}`;
}

/**
 * Resolves a file the agent asked to send: it must exist inside the workspace (after
 * symlinks), so a prompt cannot make the agent post /etc/passwd or its state files.
 */
export function resolveWorkspaceFile(workspaceDir: string, requested: string): string {
  const root = fs.realpathSync(workspaceDir);
  const candidate = path.resolve(root, requested.replace(/^file:\/\//u, ""));
  let real: string;
  try {
    real = fs.realpathSync(candidate);
  } catch {
    throw new Error(`no file ${requested} in the workspace`);
  }
  if (real !== root && !real.startsWith(root + path.sep)) throw new Error(`${requested} is outside the workspace; only workspace files can be sent`);
  if (!fs.statSync(real).isFile()) throw new Error(`${requested} is not a file`);
  return real;
}

/** Writes bytes the gateway already loaded (message tool `buffer`) to a file the CLI can attach. */
export function writeOutboxFile(workspaceDir: string, filename: string, data: Buffer): string {
  const dir = path.join(workspaceDir, OUTBOX_DIR);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, path.basename(filename).replace(/[^\p{L}\p{N}._ -]/gu, "_") || "attachment");
  fs.writeFileSync(file, data);
  return file;
}
