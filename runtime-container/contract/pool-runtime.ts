// The HTTP contract between the pool (the Worker) and an instance (the runtime's front server
// and the convos plugin behind it): what a provision may carry, what health, provision and
// status answer, the error body, and which invite URLs an instance may join, in one canonical
// form. Both sides import this file (the Worker by relative path, the image ships it), so a
// request the pool accepts is one every instance accepts. Plain zod, no runtime imports.
import { z } from "zod";

const XMTP_ENVS = ["dev", "production"] as const;
export type XmtpEnv = (typeof XMTP_ENVS)[number];
export const isXmtpEnv = (value: string): value is XmtpEnv => (XMTP_ENVS as readonly string[]).includes(value);

/** Invite hosts per XMTP network (the convos CLI's `dev.convos.org/v2?i=<slug>`, `popup.convos.org/v2?i=<slug>`). */
export const INVITE_HOSTS: Record<XmtpEnv, string> = {
  dev: "dev.convos.org",
  production: "popup.convos.org",
};

// --- limits -----------------------------------------------------------------------------------

/**
 * A provision body, as UTF-8 JSON on the wire. The front server forwards it to the plugin with
 * the agent name twice and a few fields more, so it must stay well under the plugin's own
 * 64 KiB body limit.
 */
export const PROVISION_BODY_MAX_BYTES = 48 * 1024;
const INSTRUCTIONS_MAX_BYTES = 32 * 1024;
const AGENT_NAME_MAX = 64;
const METADATA_MAX_KEYS = 20;
const METADATA_VALUE_MAX = 512;
const INVITE_URL_MAX = 2_100;

const encoder = new TextEncoder();
const utf8Bytes = (s: string): number => encoder.encode(s).byteLength;
export const jsonBytes = (value: unknown): number => utf8Bytes(JSON.stringify(value));

// One decoder for every call: a non-streaming decode starts afresh each time, and a fatal error leaves nothing behind.
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * Reads a request body as UTF-8, refusing what is not: a lenient decoder turns each bad byte
 * into U+FFFD (3 bytes), so 30,000 bytes of 0xFF would silently become 90 KB of replacement
 * characters.
 */
export function decodeUtf8(bytes: ArrayBuffer | Uint8Array): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

// --- fields -----------------------------------------------------------------------------------

/**
 * The agent's name becomes its Convos profile name and a command-line argument of the convos
 * CLI: control characters (a NUL cannot even be passed in argv), bidi overrides that make a
 * name read differently from what it is, and unpaired surrogates are refused.
 */
const NAME_CHARS = /^[^\p{Cc}\u202A-\u202E\u2066-\u2069\uD800-\uDFFF]*$/u;
export const AgentNameSchema = z.string().trim().min(1).max(AGENT_NAME_MAX).regex(NAME_CHARS, "must not contain control or bidi-override characters");

export const InstructionsSchema = z
  .string()
  .refine((s) => !s.includes("\u0000"), "must not contain NUL characters")
  .refine((s) => utf8Bytes(s) <= INSTRUCTIONS_MAX_BYTES, `must be at most ${INSTRUCTIONS_MAX_BYTES} bytes of UTF-8`);

/** Metadata reaches the convos CLI as `--metadata key=value` arguments: keys are plain, values have no control characters. */
const METADATA_KEY = /^[A-Za-z0-9_.-]{1,64}$/;
const METADATA_KEY_RULE = "metadata keys are 1–64 ASCII letters, digits, _ . -";
export const MetadataSchema = z
  .record(
    z.string().regex(METADATA_KEY, METADATA_KEY_RULE),
    z.union(
      [
        z
          .string()
          .max(METADATA_VALUE_MAX)
          .regex(/^\P{Cc}*$/u, "must not contain control characters"),
        z.number(),
        z.boolean(),
      ],
      { error: `must be a string (at most ${METADATA_VALUE_MAX} characters), a number or a boolean` },
    ),
    { error: (issue) => (issue.code === "invalid_key" ? METADATA_KEY_RULE : undefined) },
  )
  .refine((m) => Object.keys(m).length <= METADATA_MAX_KEYS, `at most ${METADATA_MAX_KEYS} keys`);

export const ProfileImageSchema = z.url({ protocol: /^https$/, error: "must be an https URL" }).max(2_048);

// --- invite URLs ------------------------------------------------------------------------------

/** `unreadable`: well formed, but the instance's CLI could not read or use it (damaged, expired, or the instance's own): only the CLI can tell. */
export type InviteProblem = "not_url" | "other_network" | "not_invite" | "unreadable";
export type InviteCheck = { ok: true; url: string; slug: string } | { ok: false; problem: Exclude<InviteProblem, "unreadable">; message: string };

/** Base64url with the CLI's `*` separators (and the fake CLI's `.`). */
const SLUG = /^[A-Za-z0-9._~*=-]{8,2048}$/;
/** Checked on the raw text: the URL parser silently drops tabs and newlines, reads `\` as `/` and `https:host` as `https://host`. */
const RAW_INVITE = /^https:\/\/([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/i;

/**
 * Parses an invite link once, into the one form the pool compares, stores and sends:
 * `https://<lowercase host>/v2?i=<slug>`. No port, userinfo, percent-encoded host, control
 * characters, spaces or backslashes: two spellings of one invite are one invite.
 */
export function checkInviteUrl(raw: string, env: XmtpEnv): InviteCheck {
  const example = `https://${INVITE_HOSTS[env]}/v2?i=<slug>`;
  const notInvite = (why: string): InviteCheck => ({ ok: false, problem: "not_invite", message: `joinUrl ${why}; expected a Convos invite URL like ${example}` });
  if (raw.length > INVITE_URL_MAX) return notInvite(`is longer than ${INVITE_URL_MAX} characters`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u0020\u007f-\u009f\\]/u.test(raw)) return notInvite("contains spaces, control characters or backslashes");
  const m = RAW_INVITE.exec(raw);
  if (!m) return { ok: false, problem: "not_url", message: `joinUrl is not an https URL; expected a Convos invite URL like ${example}` };
  const authority = m[1]!;
  if (!/^[A-Za-z0-9.-]+$/.test(authority)) return notInvite("has a port, user name or encoded characters in its host");
  const host = authority.toLowerCase();
  const otherEnv: XmtpEnv = env === "dev" ? "production" : "dev";
  if (host === INVITE_HOSTS[otherEnv]) {
    return {
      ok: false,
      problem: "other_network",
      message: `joinUrl is a ${otherEnv} invite (${INVITE_HOSTS[otherEnv]}) but this pool's agents run on the XMTP ${env} network (${INVITE_HOSTS[env]})`,
    };
  }
  if (host !== INVITE_HOSTS[env]) return notInvite(`is not on ${INVITE_HOSTS[env]}`);
  if (m[2] !== "/v2") return notInvite("must use the /v2 invite path");
  // The same reading the convos CLI applies (URLSearchParams), so the canonical link means the same invite.
  const slug = new URLSearchParams(m[3] ?? "").get("i");
  if (!slug || !SLUG.test(slug)) return notInvite("has no valid invite slug (the i= parameter)");
  return { ok: true, url: `https://${host}/v2?i=${encodeURIComponent(slug)}`, slug };
}

// --- bodies -----------------------------------------------------------------------------------

/** The fields a provision carries; the pool's claim API is these plus its own. */
export const ProvisionFields = {
  agentName: AgentNameSchema.optional(),
  instructions: InstructionsSchema.optional(),
  joinUrl: z.string().max(INVITE_URL_MAX).optional(),
  profileImage: ProfileImageSchema.optional(),
  metadata: MetadataSchema.optional(),
};

/** The byte budget of a provision body, reported on its largest field so the caller knows what to cut. */
export function checkProvisionBytes(body: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const size = jsonBytes(body);
  if (size <= PROVISION_BODY_MAX_BYTES) return;
  const largest = Object.keys(ProvisionFields)
    .filter((k) => body[k] !== undefined)
    .sort((a, b) => jsonBytes(body[b]) - jsonBytes(body[a]))[0];
  ctx.addIssue({
    code: "custom",
    path: largest ? [largest] : [],
    message: `the request an instance receives would be ${size} bytes of JSON; at most ${PROVISION_BODY_MAX_BYTES} (shorten ${largest ?? "the body"})`,
  });
}

export const ProvisionRequestSchema = z.strictObject(ProvisionFields).superRefine(checkProvisionBytes);
export type ProvisionRequest = z.infer<typeof ProvisionRequestSchema>;

export const ProvisionResultSchema = z
  .object({
    status: z.enum(["created", "joined", "pending_acceptance"]),
    // A join waiting for the creator's acceptance has no conversation yet.
    conversationId: z.string().min(1).nullable(),
    inviteUrl: z.string().nullable().optional(),
    joined: z.boolean(),
  })
  .refine((r) => r.conversationId !== null || r.status === "pending_acceptance", "conversationId is missing");
export type ProvisionResult = z.infer<typeof ProvisionResultSchema>;

// --- capabilities -----------------------------------------------------------------------------

/**
 * What an instance can really do for its group, by stable id: each is reported only when its
 * credential, binary or config is present on that instance. New skills are new entries here
 * (and a label); a pool that does not know an id yet ignores it rather than rejecting health.
 */
export const CAPABILITY_LABELS = {
  "web-search": "Web search",
  browser: "Web browsing",
  scheduling: "Reminders & scheduling",
  email: "Email",
  sms: "SMS",
  payments: "Payments",
  files: "Files",
  voice: "Voice notes",
} as const;
export type Capability = keyof typeof CAPABILITY_LABELS;
export const isCapability = (value: string): value is Capability => Object.hasOwn(CAPABILITY_LABELS, value);
export const CapabilityListSchema = z.array(z.string().regex(/^[a-z][a-z0-9-]{0,31}$/u, "capability ids are lowercase words joined by -")).max(32);

/** `GET /pool/health`: 200 ready (bound = no longer a fresh instance), 503 with the reason while not. */
export const HealthSchema = z.object({
  ready: z.boolean(),
  version: z.string().optional(),
  bound: z.boolean().optional(),
  reason: z.string().optional(),
  capabilities: CapabilityListSchema.optional(),
});
export type Health = z.infer<typeof HealthSchema>;

/** `GET /convos/status`: clean = never bound, nothing pending; what decides if a failed claim may return an instance to the pool. */
export const ConvosStatusSchema = z.object({
  conversationId: z.string().nullable(),
  inboxId: z.string().nullable().optional(),
  pending: z.boolean().optional(),
  clean: z.boolean(),
  streaming: z.boolean().optional(),
});
export type ConvosStatus = z.infer<typeof ConvosStatusSchema>;

/** The one error shape on both sides: `{ error: { code, message, details? } }`. */
export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** The first issue as `field: message`, the way both sides name what was wrong. */
export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "body: invalid";
  if (issue.code === "unrecognized_keys") return `unknown field${issue.keys.length > 1 ? "s" : ""}: ${issue.keys.join(", ")}`;
  return `${issue.path.join(".") || "body"}: ${issue.message}`;
}

// --- credits ----------------------------------------------------------------------------------
// The instance's own side of its model credit, called with its gateway token: the plugin
// reports an exhausted key (the model answered 402 or OpenRouter's limit error) and may ask
// what is left. The pool's routes (worker/routes/credits.ts) parse with the same schemas.

export const creditsExhaustedPath = (instanceId: string) => `/api/pool/instances/${encodeURIComponent(instanceId)}/credits/exhausted`;
export const creditsRemainingPath = (instanceId: string) => `/api/pool/instances/${encodeURIComponent(instanceId)}/credits/remaining`;

/** `POST …/credits/exhausted`: what the model API answered, for the instance's history. */
export const CreditsExhaustedReportSchema = z.strictObject({
  /** The model API's HTTP status, when the error carried one (402, or 403 for OpenRouter's key limit). */
  status: z.number().int().min(100).max(599).optional(),
  /** The provider's own words, shortened; never the key. */
  detail: z.string().max(300).optional(),
});
export type CreditsExhaustedReport = z.infer<typeof CreditsExhaustedReportSchema>;

export const CreditsExhaustedResultSchema = z.object({
  id: z.string(),
  exhaustedAt: z.number().int(),
  /** False when the instance was already marked (a repeat report changes nothing). */
  newlyMarked: z.boolean(),
});
export type CreditsExhaustedResult = z.infer<typeof CreditsExhaustedResultSchema>;

/** `GET …/credits/remaining`: the instance's monthly limit, what it spent and what is left (USD). */
export const InstanceCreditSchema = z.object({
  limitUsd: z.number().nullable(),
  usageMonthlyUsd: z.number(),
  remainingUsd: z.number().nullable(),
  limitReset: z.string().nullable(),
  exhausted: z.boolean(),
});
export type InstanceCredit = z.infer<typeof InstanceCreditSchema>;
