import type { FC } from "hono/jsx";
import type { PromptText } from "../catalog/instructions";
import type { TemplateRow } from "../db/schema";
import { CsrfField, FieldError, type Flash, invalidAttrs, Layout, type PageContext } from "./layout";
import type { FormState } from "./pages/common";

/** The operator's view of the public catalog's templates: list, create, edit, delete. */
export const TEMPLATE_FIELDS = ["slug", "name", "emoji", "category", "description", "skills", "instructions", "notionPageId", "featured", "published"] as const;
export type TemplateField = (typeof TEMPLATE_FIELDS)[number];

export function templateFormValues(row: TemplateRow): Record<string, string> {
  return {
    slug: row.slug,
    name: row.name,
    emoji: row.emoji,
    category: row.category,
    description: row.description,
    skills: row.skills.join(", "),
    instructions: row.instructions ?? "",
    notionPageId: row.notionPageId ?? "",
    featured: row.featured ? "yes" : "no",
    published: row.published ? "yes" : "no",
  };
}

export const TemplatesListPage: FC<{ ctx: PageContext; rows: TemplateRow[]; flash?: Flash | null }> = ({ ctx, rows, flash }) => (
  <Layout ctx={ctx} title="Templates" flash={flash}>
    <section class="card">
      <div class="actions">
        <h1>Catalog templates</h1>
        <a class="button" href="/admin/templates/new" data-testid="new-template">
          New template
        </a>
        <a class="button secondary" href="/" target="_blank" rel="noopener">
          Open the public catalog
        </a>
      </div>
      <p class="hint">Published templates appear in the public catalog at /, featured ones first. Drafts are only visible here.</p>
      {rows.length === 0 ? (
        <p class="muted">No templates yet.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Template</th>
                <th>Category</th>
                <th>Skills</th>
                <th>Instructions</th>
                <th>State</th>
                <th>Actions</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((t) => (
                <tr data-template={t.slug}>
                  <td>
                    <a href={`/admin/templates/${t.slug}`}>
                      {t.emoji} {t.name}
                    </a>
                    <div class="mono muted">{t.slug}</div>
                  </td>
                  <td>{t.category}</td>
                  <td class="small">{t.skills.length ? t.skills.join(", ") : <span class="muted">—</span>}</td>
                  <td class="small">{t.notionPageId ? (t.instructions ? "Notion (inline fallback)" : "Notion") : "Inline"}</td>
                  <td>
                    <span class={t.published ? "badge s-idle" : "badge"}>{t.published ? "published" : "draft"}</span> {t.featured ? <span class="badge s-claimed">featured</span> : null}
                  </td>
                  <td>
                    <div class="row-actions">
                      <a class="button secondary small" href={`/admin/templates/${t.slug}`}>
                        Edit
                      </a>
                      {t.published ? (
                        <a class="button secondary small" href={`/a/${t.slug}`} target="_blank" rel="noopener">
                          View
                        </a>
                      ) : null}
                      <DeleteForm ctx={ctx} t={t} small />
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  </Layout>
);

const DeleteForm: FC<{ ctx: PageContext; t: Pick<TemplateRow, "slug" | "name">; small?: boolean; confirmed?: boolean }> = ({ ctx, t, small, confirmed }) => (
  <form method="post" action={`/admin/templates/${t.slug}/delete`} data-confirm={confirmed ? undefined : `Delete the template ${t.name}? Its public page goes away.`}>
    <CsrfField ctx={ctx} />
    {confirmed ? <input type="hidden" name="confirmed" value="yes" /> : null}
    <button type="submit" class={small ? "danger small" : "danger"} data-testid={`delete-${t.slug}`}>
      {confirmed ? "Yes, delete it" : "Delete"}
    </button>
  </form>
);

export const ConfirmDeletePage: FC<{ ctx: PageContext; t: TemplateRow }> = ({ ctx, t }) => (
  <Layout ctx={ctx} title="Delete template">
    <section class="card">
      <h1>Delete this template?</h1>
      <p>
        <strong>
          {t.emoji} {t.name}
        </strong>{" "}
        <span class="mono">{t.slug}</span>
      </p>
      <p>Its public page and its place in the catalog go away. Agents already started from it keep running. To hide it for now, unpublish it instead.</p>
      <div class="form-actions">
        <DeleteForm ctx={ctx} t={t} confirmed />
        <a class="button secondary" href={`/admin/templates/${t.slug}`}>
          Cancel
        </a>
      </div>
    </section>
  </Layout>
);

interface FieldSpec {
  key: TemplateField;
  label: string;
  hint?: string;
  kind: "text" | "textarea" | "yesno";
  maxlength?: number;
  placeholder?: string;
}

const FIELDS: FieldSpec[] = [
  { key: "name", label: "Name", kind: "text", maxlength: 64 },
  { key: "emoji", label: "Emoji", kind: "text", maxlength: 16, hint: "Shown on the card and in link previews." },
  { key: "category", label: "Category", kind: "text", maxlength: 40, hint: "The catalog's filter pills are made of these." },
  { key: "skills", label: "Skills", kind: "text", placeholder: "agentmail, browser, telnyx-cli, bankr", hint: "Comma-separated skill names; shown as tags." },
  { key: "description", label: "Description", kind: "textarea", maxlength: 2000, hint: "What the agent does, in a sentence or two: the card and the page show it." },
  {
    key: "instructions",
    label: "Instructions (inline)",
    kind: "textarea",
    maxlength: 32000,
    hint: "The agent's instructions. Leave empty when a Notion page holds them; with both, Notion wins and this is the fallback.",
  },
  {
    key: "notionPageId",
    label: "Notion page",
    kind: "text",
    placeholder: "Page id or page URL",
    hint: "Optional: the page whose text becomes the instructions (read through /api/prompts, cached for an hour).",
  },
  { key: "featured", label: "Featured", kind: "yesno", hint: "Featured templates come first in the catalog." },
  { key: "published", label: "Published", kind: "yesno", hint: "Drafts are hidden from the public catalog." },
];

export const TemplateFormPage: FC<{ ctx: PageContext; mode: "new" | "edit"; slug?: string; form: FormState; flash?: Flash | null; notion?: PromptText | null }> = ({
  ctx,
  mode,
  slug,
  form,
  flash,
  notion,
}) => {
  const action = mode === "new" ? "/admin/templates/new" : `/admin/templates/${slug}`;
  const title = mode === "new" ? "New template" : `Edit ${form.values.name || slug}`;
  return (
    <Layout ctx={ctx} title={title} flash={flash}>
      <section class="card">
        <h1>{title}</h1>
        {form.error ? (
          <p class="field-error" role="alert">
            {form.error}
          </p>
        ) : null}
        {notion ? <NotionStatus notion={notion} /> : null}
        <form method="post" action={action} novalidate data-testid="template-form">
          <CsrfField ctx={ctx} />
          {mode === "new" ? (
            <div>
              <label for="tpl-slug">Slug</label>
              <input id="tpl-slug" name="slug" maxlength={64} value={form.values.slug ?? ""} placeholder="book-club" {...invalidAttrs("tpl-slug", form.errors.slug)} />
              <FieldError id="tpl-slug" error={form.errors.slug} />
              <p class="hint">Lowercase letters, digits and dashes; the page lives at /a/&lt;slug&gt; and cannot be renamed later.</p>
            </div>
          ) : (
            <p class="hint">
              Public page: <a href={`/a/${slug}`}>/a/{slug}</a>
            </p>
          )}
          <div class="grid">
            {FIELDS.map((f) => {
              const id = `tpl-${f.key}`;
              const error = form.errors[f.key];
              const value = form.values[f.key] ?? "";
              return (
                <div>
                  <label for={id}>{f.label}</label>
                  {f.kind === "textarea" ? (
                    <textarea id={id} name={f.key} maxlength={f.maxlength} {...invalidAttrs(id, error)}>
                      {value}
                    </textarea>
                  ) : f.kind === "yesno" ? (
                    <select id={id} name={f.key} {...invalidAttrs(id, error)}>
                      <option value="yes" selected={value === "yes"}>
                        Yes
                      </option>
                      <option value="no" selected={value !== "yes"}>
                        No
                      </option>
                    </select>
                  ) : (
                    <input id={id} name={f.key} maxlength={f.maxlength} placeholder={f.placeholder} value={value} {...invalidAttrs(id, error)} />
                  )}
                  <FieldError id={id} error={error} />
                  {f.hint ? <p class="hint">{f.hint}</p> : null}
                </div>
              );
            })}
          </div>
          <div class="form-actions">
            <button type="submit">{mode === "new" ? "Create template" : "Save template"}</button>
            <a class="button secondary" href="/admin/templates">
              Cancel
            </a>
          </div>
        </form>
        {mode === "edit" && slug ? (
          <div class="form-actions">
            <DeleteForm ctx={ctx} t={{ slug, name: form.values.name || slug }} />
          </div>
        ) : null}
      </section>
    </Layout>
  );
};

/** Whether the template's Notion page can be read right now, so a page not shared with the integration shows up here, not as a failed claim. */
const NotionStatus: FC<{ notion: PromptText }> = ({ notion }) =>
  notion.ok ? (
    <details class="card" data-testid="notion-status">
      <summary>Notion page readable: {notion.text.length.toLocaleString("en-US")} characters of instructions</summary>
      <div class="mono small">
        {notion.text
          .slice(0, 4000)
          .split("\n")
          .map((line) => (
            <div>{line || "\u00a0"}</div>
          ))}
      </div>
    </details>
  ) : (
    <p class="flash flash-error" role="alert" data-testid="notion-status">
      Notion page not usable right now: {notion.message}
      {notion.reason === "not_configured" ? "" : ". Claims fall back to the inline instructions, if any."}
    </p>
  );
