import { readFileSync } from "node:fs";

/**
 * Just enough OpenAPI 3.0/3.1 schema checking to hold the fakes and clients to the providers'
 * published specs: $ref, allOf/oneOf/anyOf, type (incl. arrays and nullable), required,
 * properties, items and enum. Unknown properties are allowed, as providers add fields.
 */
type Schema = Record<string, any>;

export function loadSpec(relative: string): Schema {
  return JSON.parse(readFileSync(new URL(`../support/fixtures/${relative}`, import.meta.url), "utf8"));
}

export function resolve(spec: Schema, schema: Schema): Schema {
  let s = schema;
  while (s && typeof s.$ref === "string") {
    s = s.$ref
      .replace(/^#\//, "")
      .split("/")
      .reduce((node: any, key: string) => node?.[key.replace(/~1/g, "/").replace(/~0/g, "~")], spec);
    if (!s) throw new Error(`unresolved ${schema.$ref}`);
  }
  return s;
}

export function check(spec: Schema, schema: Schema, value: unknown, path = "$"): string[] {
  const s = resolve(spec, schema);
  if (!s || Object.keys(s).length === 0) return [];
  if (value === null && (s.nullable || (Array.isArray(s.type) && s.type.includes("null")) || s.type === "null")) return [];
  if (s.allOf) return s.allOf.flatMap((sub: Schema) => check(spec, sub, value, path));
  for (const key of ["oneOf", "anyOf"]) {
    if (s[key]) {
      const results = s[key].map((sub: Schema) => check(spec, sub, value, path));
      return results.some((r: string[]) => r.length === 0) ? [] : [`${path}: matches none of ${key} (${results.map((r: string[]) => r[0]).join(" | ")})`];
    }
  }
  const errors: string[] = [];
  const types: string[] = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  if (types.length && !types.some((t) => typeMatches(t, value))) return [`${path}: expected ${types.join("|")}, got ${value === null ? "null" : typeof value}`];
  if (s.enum && !s.enum.includes(value)) errors.push(`${path}: ${JSON.stringify(value)} not in enum`);
  if (s.const !== undefined && s.const !== value) errors.push(`${path}: expected const ${JSON.stringify(s.const)}`);
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const req of s.required ?? []) if (!(req in (value as object))) errors.push(`${path}.${req}: required`);
    for (const [k, sub] of Object.entries(s.properties ?? {})) {
      if (k in (value as object)) errors.push(...check(spec, sub as Schema, (value as Record<string, unknown>)[k], `${path}.${k}`));
    }
  }
  if (Array.isArray(value) && s.items) value.forEach((item, i) => errors.push(...check(spec, s.items, item, `${path}[${i}]`)));
  return errors;
}

function typeMatches(type: string, value: unknown): boolean {
  switch (type) {
    case "null":
      return value === null;
    case "integer":
      return Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "array":
      return Array.isArray(value);
    case "object":
      return value !== null && typeof value === "object" && !Array.isArray(value);
    default:
      return typeof value === type;
  }
}

/** The JSON schema of an operation's response (or request body, with status "request"). */
export function operationSchema(spec: Schema, path: string, method: string, status: string): Schema {
  const op = spec.paths[path]?.[method];
  if (!op) throw new Error(`spec has no ${method.toUpperCase()} ${path}`);
  const holder = status === "request" ? resolve(spec, op.requestBody) : resolve(spec, op.responses[status] ?? op.responses[`${status[0]}XX`] ?? op.responses.default);
  const schema = holder?.content?.["application/json"]?.schema;
  if (!schema) throw new Error(`spec has no JSON schema for ${method.toUpperCase()} ${path} ${status}`);
  return schema;
}

/** Names of the properties an object schema declares (through $ref/allOf). */
export function propertyNames(spec: Schema, schema: Schema): string[] {
  const s = resolve(spec, schema);
  return [...Object.keys(s.properties ?? {}), ...(s.allOf ?? []).flatMap((sub: Schema) => propertyNames(spec, sub))];
}
