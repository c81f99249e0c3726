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

export type AttachmentPlan = { action: "download"; expect: "image" | "file" } | { action: "refuse"; reason: "too_large"; line: string };

function humanSize(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}

export function isImageType(mimeType: string | null | undefined): boolean {
  return /^image\/(png|jpe?g|gif|webp)$/iu.test(mimeType ?? "");
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
  return { action: "download", expect: isImageType(declared.mimeType) || /\.(png|jpe?g|gif|webp)$/iu.test(declared.filename ?? "") ? "image" : "file" };
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
  kind: "image" | "file";
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
export function inspectDownloaded(file: string, workspaceDir: string, declared: DeclaredAttachment, expect: "image" | "file", maxBytes = MAX_ATTACHMENT_BYTES): Inspection {
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
  const kind = sniffed && bytes <= MAX_IMAGE_BYTES ? "image" : "file";
  return {
    ok: true,
    stored: { kind, path: file, relativePath: path.relative(workspaceDir, file), filename, contentType: sniffed ?? declared.mimeType ?? "application/octet-stream", bytes },
  };
}

/** What the agent reads about a stored file in the message body. */
export function describeStored(stored: StoredAttachment, senderName: string | null): string {
  const who = senderName ?? "Someone";
  const noun = stored.kind === "image" ? "an image" : "a file";
  return `${who} shared ${noun}: ${stored.filename} (${stored.contentType}, ${humanSize(stored.bytes)}), saved in your workspace as ${stored.relativePath}.`;
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
