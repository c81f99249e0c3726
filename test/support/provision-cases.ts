/**
 * Odd but plausible claim bodies, for both sides of the pool ↔ runtime contract: the Worker's
 * claim API (test/worker/provision-contract.test.ts) and an instance's front server
 * (test/runtime/provision-contract.test.ts) must refuse the same ones, naming the same field,
 * and accept the same ones.
 */
const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));

/** `instance`: what an instance answers when it is not a 400 naming the field (the byte budget is checked on the raw body: 413). */
export const REFUSED: { name: string; body: Record<string, unknown>; field: string; instance?: 413 }[] = [
  { name: "a null metadata value", body: { metadata: { a: null } }, field: "metadata.a" },
  { name: "a metadata key with a space", body: { metadata: { "a b": "x" } }, field: "metadata.a b" },
  { name: "a metadata key with a colon", body: { metadata: { "a:b": "x" } }, field: "metadata.a:b" },
  { name: "a non-ASCII metadata key", body: { metadata: { clé: "x" } }, field: "metadata.clé" },
  { name: "an emoji metadata key", body: { metadata: { "🔑": "x" } }, field: "metadata.🔑" },
  { name: "a 600-character metadata value", body: { metadata: { a: "x".repeat(600) } }, field: "metadata.a" },
  { name: "a 1,024-character metadata value", body: { metadata: { a: "x".repeat(1_024) } }, field: "metadata.a" },
  { name: "a metadata value with a newline", body: { metadata: { a: "x\ny" } }, field: "metadata.a" },
  { name: "21 metadata keys", body: { metadata: keys(21) }, field: "metadata" },
  { name: "25 metadata keys", body: { metadata: keys(25) }, field: "metadata" },
  { name: "32 metadata keys", body: { metadata: keys(32) }, field: "metadata" },
  { name: "a NUL in the agent name", body: { agentName: "Ava\u0000" }, field: "agentName" },
  { name: "an RLO override in the agent name", body: { agentName: "Ava\u202Egnp.exe" }, field: "agentName" },
  { name: "a 65-character agent name", body: { agentName: "a".repeat(65) }, field: "agentName" },
  { name: "a NUL in the instructions", body: { instructions: "be nice\u0000" }, field: "instructions" },
  // 11,000 characters, 33,000 bytes: under a character limit, over the byte limit.
  { name: "instructions over 32 KiB of UTF-8", body: { instructions: "€".repeat(11_000) }, field: "instructions" },
  // 30,000 bytes of text but 60,000 bytes of JSON: the budget is what is sent.
  { name: "a provision body over 48 KiB of JSON", body: { instructions: "\n".repeat(30_000) }, field: "instructions", instance: 413 },
  { name: "an http profile image", body: { profileImage: "http://images.example/a.png" }, field: "profileImage" },
  { name: "an invite with a port", body: { joinUrl: "https://dev.convos.org:8443/v2?i=abcdefgh123" }, field: "joinUrl" },
  { name: "an invite with userinfo", body: { joinUrl: "https://user:pass@dev.convos.org/v2?i=abcdefgh123" }, field: "joinUrl" },
  { name: "an invite with a percent-encoded host", body: { joinUrl: "https://dev%2Econvos.org/v2?i=abcdefgh123" }, field: "joinUrl" },
  { name: "an invite without //", body: { joinUrl: "https:dev.convos.org/v2?i=abcdefgh123" }, field: "joinUrl" },
  { name: "an invite with backslashes", body: { joinUrl: "https:\\\\dev.convos.org\\v2?i=abcdefgh123" }, field: "joinUrl" },
  { name: "an invite with a tab", body: { joinUrl: "https://dev.convos.org/v2?i=abcd\tefgh123" }, field: "joinUrl" },
  { name: "an invite with a newline", body: { joinUrl: "https://dev.convos.org/v2?i=abcdefgh123\n" }, field: "joinUrl" },
  { name: "a production invite on dev", body: { joinUrl: "https://popup.convos.org/v2?i=abcdefgh123" }, field: "joinUrl" },
];

export const ACCEPTED: { name: string; body: Record<string, unknown> }[] = [
  // Near the 48 KiB budget; the front server forwards it to the plugin (64 KiB) with the name twice.
  {
    name: "32 KiB of instructions, a 64-character name and 10 KiB of metadata",
    body: {
      agentName: `${"a".repeat(62)}🦊`,
      instructions: "x".repeat(32 * 1024),
      metadata: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, "é".repeat(512)])),
    },
  },
  {
    name: "20 metadata keys at the limits",
    body: { metadata: { ...Object.fromEntries(Array.from({ length: 18 }, (_, i) => [`k.${i}_-`, "v"])), ["K".repeat(64)]: "é".repeat(512), flag: true } },
  },
  { name: "numbers and booleans as metadata", body: { metadata: { plan: "pro", seats: 3, ratio: 0.5, trial: false } } },
  { name: "a 64-character name with an emoji", body: { agentName: `${"a".repeat(62)}🦊` } },
  { name: "32 KiB of ASCII instructions", body: { instructions: "x".repeat(32 * 1024) } },
  { name: "an https profile image", body: { profileImage: "https://images.example/a.png" } },
];

/** 30,000 bytes of 0xFF: invalid UTF-8 that a lenient decoder would turn into 90 KB of U+FFFD. */
export const INVALID_UTF8 = new Uint8Array(30_000).fill(0xff);
