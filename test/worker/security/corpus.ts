/**
 * A generated corpus of bad input for every route of the Worker. Each case is a request a
 * client could send and the pool must refuse: a 4xx, never a 500, and no change to the
 * database. JSON routes answer with the one error shape; pages may answer with HTML.
 */
import { POOL_KEY } from "../helpers";

export interface BadCase {
  group: string;
  name: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Pages answer HTML; the JSON API answers the error shape. */
  page?: boolean;
  /** A status this case must get, when the corpus knows it exactly. */
  status?: number;
  /** The body field this case breaks: a 400 must name it. */
  field?: string;
}

const DEEP = 5_000;
const deepArray = "[".repeat(DEEP) + "]".repeat(DEEP);
const deepObject = '{"a":'.repeat(DEEP) + "1" + "}".repeat(DEEP);

export const MALFORMED_JSON: string[] = [
  "{",
  '{"a":',
  "nul",
  "[1,2",
  "{'agentName':'x'}",
  '{"agentName":"x",}',
  '{"count":1 "x":2}',
  "NaN",
  "undefined",
  '{"count":01}',
  '"unterminated',
  "\u0000",
  "\uFEFF{}x",
  '{"a":"\\x41"}',
  "}{",
];

export const NOT_OBJECTS = ["[]", '"string"', "1", "null", "true", deepArray, deepObject];

/** Values of the wrong type for any field, and values of the right type that are still wrong. */
const WRONG_TYPES: [string, unknown][] = [
  ["null", null],
  ["true", true],
  ["number", 12345],
  ["negative", -1],
  ["float", 1.5],
  ["array", ["a"]],
  ["object", { a: 1 }],
  ["deep nesting", JSON.parse('{"a":'.repeat(400) + "1" + "}".repeat(400))],
];
const BAD_STRINGS: [string, string][] = [
  ["empty", ""],
  ["huge", "x".repeat(40_000)],
  ["NUL", "a\u0000b"],
  ["control characters", "a\u0007\u001b[31mb"],
  ["bidi override", "abc\u202Eevil"],
  ["lone surrogate", "a\uD800b"],
  ["path traversal", "../../../etc/passwd"],
  ["encoded traversal", "..%2f..%2fetc%2fpasswd"],
  ["SQL", "x' OR '1'='1"],
  ["SQL statement", "1; DROP TABLE instances; --"],
  ["script", "<script>alert(1)</script>"],
];
const BAD_COUNTS: [string, unknown][] = [
  ["zero", 0],
  ["negative", -5],
  ["over the cap", 21],
  ["huge", 1e308],
  ["beyond safe integers", 2 ** 53 + 1],
  ["fraction", 2.5],
  ["numeric string", "5"],
  ["null", null],
];
const BAD_IDS = [
  "..",
  "..%2F..%2Fetc%2Fpasswd",
  "%2e%2e",
  "i'%20OR%20'1'%3D'1",
  "1%3BDROP%20TABLE%20instances",
  "%00",
  "I-UPPER",
  "-leading-dash",
  "%E2%80%AEabc",
  "%EF%BD%89%EF%BC%91",
  "a".repeat(65),
  "x%20y",
];
const BAD_INVITES: [string, string][] = [
  ["production invite on a dev pool", "https://popup.convos.org/v2?i=abcdefgh123"],
  ["another host", "https://evil.example/v2?i=abcdefgh123"],
  ["look-alike host", "https://dev.convos.org.evil.example/v2?i=abcdefgh123"],
  ["userinfo trick", "https://dev.convos.org.evil.example/v2?i=abcdefgh123"],
  ["plain http", "http://dev.convos.org/v2?i=abcdefgh123"],
  ["javascript", "javascript:alert(1)"],
  ["data", "data:text/html,<script>alert(1)</script>"],
  ["no invite", "https://dev.convos.org/"],
  ["not a URL", "not a url"],
  ["too long", `https://dev.convos.org/v2?i=${"a".repeat(2_200)}`],
];
const WRONG_CONTENT_TYPES = ["text/plain", "text/html", "application/xml", "application/jsonp", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"];

interface JsonRoute {
  method: string;
  path: string;
  /** A valid body, whose fields are broken one at a time. */
  valid?: Record<string, unknown>;
  /** Fields and the bad values specific to them. */
  fields?: Record<string, [string, unknown][]>;
  headers?: Record<string, string>;
}

/** Identifier-like fields (slugs, template names in a claim): every odd string is refused. */
const stringField = (extra: [string, unknown][] = []) => [...WRONG_TYPES, ...BAD_STRINGS, ...extra];
/**
 * Names a person types: SQL- or HTML-looking text is a legal name (stored verbatim, escaped
 * when shown, checked elsewhere); characters that no name has are refused.
 */
const NAME_REFUSALS = new Set(["empty", "huge", "NUL", "control characters", "bidi override", "lone surrogate"]);
const nameField = (extra: [string, unknown][] = []) => [...WRONG_TYPES, ...BAD_STRINGS.filter(([n]) => NAME_REFUSALS.has(n)), ...extra];
/** Operators' free text (template names, descriptions): wrong types and sizes. */
const textField = (extra: [string, unknown][] = []) => [...WRONG_TYPES, ...BAD_STRINGS.filter(([n]) => n === "empty" || n === "huge"), ...extra];

export const JSON_ROUTES: JsonRoute[] = [
  {
    method: "POST",
    path: "/api/pool/claim",
    valid: { agentName: "Ada" },
    fields: {
      agentName: nameField([
        ["whitespace only", "   "],
        ["too long", "n".repeat(65)],
      ]),
      instructions: [...WRONG_TYPES, ["huge", "i".repeat(40_000)], ["NUL", "a\u0000b"]],
      joinUrl: [...WRONG_TYPES, ...BAD_INVITES],
      profileImage: [...WRONG_TYPES, ["http", "http://x.example/a.png"], ["javascript", "javascript:alert(1)"], ["not a URL", "nope"]],
      metadata: [
        ["array", [1]],
        ["string", "x"],
        ["nested object value", { a: { b: 1 } }],
        ["too many keys", Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]))],
        ["long value", { a: "v".repeat(2_000) }],
        ["empty key", { "": 1 }],
      ],
      template: stringField([
        ["unknown", "no-such-template"],
        ["uppercase", "Study-Buddy"],
      ]),
    },
  },
  { method: "POST", path: "/api/pool/replenish", valid: { count: 1 }, fields: { count: BAD_COUNTS } },
  { method: "POST", path: "/api/pool/drain", valid: { count: 1 }, fields: { count: BAD_COUNTS } },
  { method: "POST", path: "/api/pool/reconcile", valid: {} },
  // Any body but {} is refused before the id is looked up.
  { method: "POST", path: "/api/pool/instances/inope/recheck", valid: {} },
  {
    method: "PUT",
    path: "/api/pool/settings",
    valid: { minIdle: 2 },
    fields: {
      minIdle: [...BAD_COUNTS.filter(([n]) => n !== "zero" && n !== "over the cap"), ["above maxTotal", 10_000]],
      maxTotal: [
        ["negative", -1],
        ["string", "10"],
        ["huge", 1e12],
      ],
      tickIntervalMs: [
        ["too fast", 10],
        ["fraction", 1000.5],
        ["too slow", 1e9],
      ],
      claimTimeoutMs: [
        ["too short", 1],
        ["null", null],
      ],
      breakerThreshold: [
        ["zero", 0],
        ["object", {}],
      ],
    },
  },
  {
    method: "POST",
    path: "/api/pool/templates",
    valid: { slug: "corpus-template", name: "Corpus", description: "d", category: "c", emoji: "🧪", skills: [], instructions: "do things" },
    fields: {
      slug: stringField([
        ["uppercase", "Bad-Slug"],
        ["spaces", "a b"],
        ["too long", "s".repeat(65)],
      ]),
      name: textField([["too long", "n".repeat(81)]]),
      skills: [
        ["string", "x"],
        ["too many", Array.from({ length: 30 }, (_, i) => `s${i}`)],
        ["non-strings", [1, 2]],
      ],
      notionPageId: [
        ["SQL", "x' OR '1'='1"],
        ["traversal", "../../x"],
        ["number", 5],
      ],
      featured: [
        ["string", "yes"],
        ["number", 1],
      ],
    },
  },
  {
    method: "PATCH",
    path: "/api/pool/templates/study-buddy",
    valid: { name: "Renamed" },
    fields: {
      name: textField(),
      emoji: [
        ["huge", "e".repeat(100)],
        ["null", null],
      ],
      published: [["string", "false"]],
    },
  },
  {
    method: "PUT",
    path: "/api/pool/templates/study-buddy",
    valid: { name: "N", description: "d", category: "c", emoji: "🧪", skills: [], instructions: "x" },
    fields: { description: textField([["too long", "d".repeat(2_001)]]) },
  },
  {
    method: "PUT",
    path: "/api/pool/image",
    valid: { image: "v2" },
    fields: {
      image: stringField([
        ["shell", "v2; rm -rf /"],
        ["traversal", "../runtime"],
        ["too long", "v".repeat(301)],
      ]),
      batchSize: BAD_COUNTS,
    },
  },
];

/** Routes whose only input is the path (ids, slugs) or the query. */
export const PATH_ROUTES: { method: string; path: (id: string) => string; page?: boolean }[] = [
  { method: "GET", path: (id) => `/api/pool/instances/${id}` },
  { method: "DELETE", path: (id) => `/api/pool/instances/${id}` },
  { method: "DELETE", path: (id) => `/api/pool/crashed/${id}` },
  { method: "POST", path: (id) => `/api/pool/instances/${id}/self-destruct` },
  { method: "POST", path: (id) => `/api/pool/instances/${id}/recheck` },
  { method: "POST", path: (id) => `/api/pool/instances/${id}/upgrade` },
  { method: "GET", path: (id) => `/api/pool/templates/${id}` },
  { method: "GET", path: (id) => `/api/pool/catalog/templates/${id}` },
  { method: "DELETE", path: (id) => `/api/pool/templates/${id}` },
  { method: "GET", path: (id) => `/api/prompts/${id}` },
];

export const BAD_QUERIES = [
  "/api/pool/agents?status=nope",
  "/api/pool/agents?status=idle'%20OR%201=1",
  "/api/pool/agents?limit=-1",
  "/api/pool/agents?limit=0",
  "/api/pool/agents?limit=100000",
  "/api/pool/agents?limit=abc",
  "/api/pool/agents?limit=1e3",
  "/api/pool/agents?extra=1",
  "/api/pool/agents?status=%00",
  "/api/pool/agents?status=IDLE",
];

const bearer = { authorization: `Bearer ${POOL_KEY}` };
const JSON_TYPE = { "content-type": "application/json" };

export function jsonCases(): BadCase[] {
  const out: BadCase[] = [];
  for (const route of JSON_ROUTES) {
    const base = { method: route.method, path: route.path };
    const group = `${route.method} ${route.path}`;
    for (const text of MALFORMED_JSON) out.push({ ...base, group, name: `malformed JSON ${JSON.stringify(text.slice(0, 20))}`, headers: { ...bearer, ...JSON_TYPE }, body: text, status: 400 });
    for (const text of NOT_OBJECTS) out.push({ ...base, group, name: `non-object body ${text.slice(0, 12)}`, headers: { ...bearer, ...JSON_TYPE }, body: text, status: 400 });
    out.push({ ...base, group, name: "invalid UTF-8", headers: { ...bearer, ...JSON_TYPE }, body: new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]) });
    for (const type of WRONG_CONTENT_TYPES) {
      out.push({ ...base, group, name: `content type ${type}`, headers: { ...bearer, "content-type": type }, body: JSON.stringify(route.valid ?? {}), status: 415 });
    }
    out.push({ ...base, group, name: "over 64 KiB", headers: { ...bearer, ...JSON_TYPE }, body: JSON.stringify({ ...route.valid, pad: "p".repeat(70_000) }), status: 413 });
    for (const extra of ["evil", "__proto__", "constructor"]) {
      out.push({
        ...base,
        group,
        name: `unknown field ${extra}`,
        headers: { ...bearer, ...JSON_TYPE },
        body: `{${Object.entries(route.valid ?? {})
          .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)},`)
          .join("")}"${extra}":{"isAdmin":true}}`,
        status: 400,
      });
    }
    for (const [field, values] of Object.entries(route.fields ?? {})) {
      for (const [label, value] of values) {
        out.push({ ...base, group, field, name: `${field}: ${label}`, headers: { ...bearer, ...JSON_TYPE }, body: JSON.stringify({ ...route.valid, [field]: value }) });
      }
    }
  }
  // Idempotency keys that are not keys, on an otherwise valid claim.
  for (const [label, key] of [
    ["empty", ""],
    ["spaces", "a b"],
    ["too long", "k".repeat(201)],
    ["unicode", "clé"],
    ["control", "k\u0001"],
  ] as const) {
    out.push({
      group: "POST /api/pool/claim",
      name: `Idempotency-Key ${label}`,
      method: "POST",
      path: "/api/pool/claim",
      headers: { ...bearer, ...JSON_TYPE, "idempotency-key": key },
      body: "{}",
      status: 400,
    });
  }
  for (const route of PATH_ROUTES) {
    for (const id of BAD_IDS) {
      const path = route.path(id);
      out.push({
        group: `${route.method} ${route.path(":id")}`,
        name: `id ${decodeURIComponentSafe(id).slice(0, 30)}`,
        method: route.method,
        path,
        headers: { ...bearer, ...(route.method === "POST" ? JSON_TYPE : {}) },
        body: route.method === "POST" ? "{}" : undefined,
      });
    }
  }
  for (const path of BAD_QUERIES) out.push({ group: "GET /api/pool/agents", name: path.split("?")[1]!, method: "GET", path, headers: bearer, status: 400 });
  out.push({ group: "unknown routes", name: "unknown path", method: "GET", path: "/api/pool/../../etc/passwd", headers: bearer, status: 404 });
  out.push({ group: "unknown routes", name: "unknown method", method: "PATCH", path: "/api/pool/claim", headers: bearer, body: "{}", status: 404 });
  out.push({ group: "unknown routes", name: "SQL path", method: "GET", path: "/api/pool/instances%27%3B%20DROP%20TABLE%20instances", headers: bearer });
  return out;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Form fields that are wrong for the admin's and the catalog's forms. */
export const BAD_FORM_VALUES: [string, string][] = [
  ["empty", ""],
  ["huge", "x".repeat(40_000)],
  ["NUL", "a\u0000b"],
  ["control characters", "a\u0007\u001b[31mb"],
  ["bidi override", "abc\u202Eevil"],
  ["traversal", "../../../etc/passwd"],
  ["SQL", "x' OR '1'='1"],
  ["negative", "-3"],
  ["huge number", "1e308"],
  ["fraction", "2.5"],
];

export { BAD_INVITES, BAD_IDS };
