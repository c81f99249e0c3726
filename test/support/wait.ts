/**
 * Polls `fn` until it returns something truthy. On timeout the error names what was awaited,
 * the last error `fn` threw, and (when `explain` is given) what things looked like instead.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, what: string | (() => string), timeoutMs = 10_000, intervalMs = 50, explain?: () => Promise<string> | string): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const label = typeof what === "function" ? what() : what;
  const seen = explain
    ? await Promise.resolve()
        .then(explain)
        .catch((err) => `(could not tell: ${String(err)})`)
    : "";
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${label}${last ? ` (last error: ${String(last)})` : ""}${seen ? `; instead: ${seen}` : ""}`);
}
