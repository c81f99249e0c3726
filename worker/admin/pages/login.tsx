import type { FC } from "hono/jsx";
import { Layout, type PageContext } from "../layout";

/** The pool key is typed here and posted once; it is never echoed back into the page. */
export const LoginPage: FC<{ ctx: PageContext; error?: string; notice?: string; next?: string }> = ({ ctx, error, notice, next }) => (
  <Layout ctx={ctx} title="Log in" flash={notice ? { kind: "ok", text: notice } : null}>
    <section class="card login">
      <h1>Pool admin</h1>
      <p class="muted small">
        Environment <strong>{ctx.environment}</strong>. Log in with the pool API key.
      </p>
      <form method="post" action="/admin/login">
        {next ? <input type="hidden" name="next" value={next} /> : null}
        <label for="key">Pool key</label>
        <input id="key" name="key" type="password" autocomplete="current-password" required autofocus aria-invalid={error ? "true" : undefined} aria-describedby={error ? "key-error" : undefined} />
        {error ? (
          <p class="field-error" id="key-error" role="alert">
            {error}
          </p>
        ) : null}
        <div class="form-actions">
          <button type="submit">Log in</button>
        </div>
      </form>
    </section>
  </Layout>
);
