/**
 * Structured logs, one JSON line each. Callers pass facts, never secrets; `redact` is the
 * last line of defence for values that might carry a token (URLs with credentials, errors).
 */
type Fields = Record<string, unknown>;

const SECRET_KEYS = /token|secret|key|password|authorization|cookie/i;

export function redact(fields: Fields): Fields {
  const out: Fields = {};
  for (const [k, v] of Object.entries(fields)) out[k] = SECRET_KEYS.test(k) ? "[redacted]" : v;
  return out;
}

export const log = {
  info: (msg: string, fields: Fields = {}) => console.log(JSON.stringify({ level: "info", msg, ...redact(fields) })),
  warn: (msg: string, fields: Fields = {}) => console.warn(JSON.stringify({ level: "warn", msg, ...redact(fields) })),
  error: (msg: string, fields: Fields = {}) => console.error(JSON.stringify({ level: "error", msg, ...redact(fields) })),
};
