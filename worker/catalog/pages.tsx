import { raw } from "hono/html";
import type { Child, FC } from "hono/jsx";
import type { ClaimResponse } from "../api/schemas";
import type { TemplateRow } from "../db/schema";
import { qrSvg } from "../ui/qr";
import type { ChallengeVerifier } from "./challenge";
import { Layout, type Meta } from "./layout";
import { skillBlurb, skillLabel } from "./skills";

/** What every catalog page knows about the request it answers. */
export interface PageEnv {
  origin: string;
  nonce: string;
  environment: string;
  /** The invite host of this pool's XMTP network, e.g. dev.convos.org. */
  inviteHost: string;
  xmtpEnv: string;
  challenge: ChallengeVerifier | null;
}

type Tpl = Pick<TemplateRow, "slug" | "name" | "description" | "category" | "emoji" | "skills" | "featured">;

const SITE_DESCRIPTION = "Pick an AI agent, start a chat, and it joins your Convos conversation in seconds.";

function templateMeta(env: PageEnv, t: Tpl, title = `${t.name} · Convos Agents`): Meta {
  return {
    title,
    description: t.description,
    url: `${env.origin}/a/${t.slug}`,
    image: `${env.origin}/a/${t.slug}/og.svg`,
    imageAlt: `${t.name}: ${t.description}`,
  };
}

function siteMeta(env: PageEnv, title = "Convos Agents — AI agents for your group chats"): Meta {
  return { title, description: SITE_DESCRIPTION, url: `${env.origin}/`, image: `${env.origin}/og.svg`, imageAlt: "Convos Agents" };
}

export function categoryKey(category: string): string {
  return category.trim().toLowerCase();
}

// ---------------------------------------------------------------------------------------------
// Catalog

export interface CatalogFilters {
  category: string | null;
  skill: string | null;
}

function filterHref(f: CatalogFilters): string {
  const q = new URLSearchParams();
  if (f.category) q.set("category", f.category);
  if (f.skill) q.set("skill", f.skill);
  const s = q.toString();
  return s ? `/?${s}` : "/";
}

export const CatalogPage: FC<{ env: PageEnv; all: Tpl[]; shown: Tpl[]; filters: CatalogFilters }> = ({ env, all, shown, filters }) => {
  const categories = [...new Map(all.map((t) => [categoryKey(t.category), t.category])).entries()].sort((a, b) => a[1].localeCompare(b[1]));
  const skills = [...new Set(all.flatMap((t) => t.skills))].sort((a, b) => skillLabel(a).localeCompare(skillLabel(b)));
  const filtered = filters.category !== null || filters.skill !== null;
  return (
    <Layout meta={siteMeta(env)} environment={env.environment}>
      <section class="hero">
        <h1>An AI agent for every group chat</h1>
        <p>Pick an agent, tap Start, and it joins a Convos conversation in seconds. Invite your friends and let it plan, pick, track and remind.</p>
      </section>
      <nav class="filters" aria-label="Filter agents">
        <ul class="pills" aria-label="Categories">
          <li>
            <a class="pill" href={filterHref({ category: null, skill: filters.skill })} aria-current={filters.category === null ? "page" : undefined}>
              All
            </a>
          </li>
          {categories.map(([key, label]) => (
            <li>
              <a class="pill" href={filterHref({ category: key, skill: filters.skill })} aria-current={filters.category === key ? "page" : undefined}>
                {label}
              </a>
            </li>
          ))}
        </ul>
        {skills.length > 0 ? (
          <ul class="pills skills" aria-label="Skills">
            {skills.map((s) => (
              <li>
                <a class="pill" href={filterHref({ category: filters.category, skill: filters.skill === s ? null : s })} aria-current={filters.skill === s ? "page" : undefined}>
                  {skillLabel(s)}
                </a>
              </li>
            ))}
          </ul>
        ) : null}
      </nav>
      {filtered ? (
        <p class="count" role="status">
          {shown.length === 1 ? "1 agent" : `${shown.length} agents`} · <a href="/">Clear filters</a>
        </p>
      ) : null}
      {shown.length === 0 ? (
        <div class="empty">
          {all.length === 0 ? <p>No agents are published yet. Check back soon.</p> : <p>No agent matches these filters.</p>}
          {filtered ? (
            <p>
              <a href="/">Show all agents</a>
            </p>
          ) : null}
        </div>
      ) : (
        <ul class="grid" aria-label="Agents">
          {shown.map((t) => (
            <li>
              <TemplateCard t={t} />
            </li>
          ))}
        </ul>
      )}
    </Layout>
  );
};

const TemplateCard: FC<{ t: Tpl }> = ({ t }) => (
  <a class="card" href={`/a/${t.slug}`} data-slug={t.slug}>
    <div class="card-head">
      <span class="emoji" aria-hidden="true">
        {t.emoji}
      </span>
      <div class="card-title">
        <h2>{t.name}</h2>
        <span class="cat">{t.category}</span>
      </div>
      {t.featured ? <span class="featured">Featured</span> : null}
    </div>
    <p>{t.description}</p>
    {t.skills.length ? (
      <ul class="tags" aria-label="Skills">
        {t.skills.map((s) => (
          <li class="tag">{skillLabel(s)}</li>
        ))}
      </ul>
    ) : null}
  </a>
);

// ---------------------------------------------------------------------------------------------
// Template page

export interface ClaimForms {
  startAttempt: string;
  joinAttempt: string;
  joinValue?: string;
  joinError?: string;
  startError?: string;
}

export const TemplatePage: FC<{ env: PageEnv; t: Tpl; forms: ClaimForms }> = ({ env, t, forms }) => (
  <Layout meta={templateMeta(env, t)} environment={env.environment} head={env.challenge?.head(env.nonce)}>
    <a class="back" href="/">
      ← All agents
    </a>
    <div class="agent">
      <div class="intro">
        <div class="agent-head">
          <span class="emoji" aria-hidden="true">
            {t.emoji}
          </span>
          <div>
            <h1>{t.name}</h1>
            <span class="cat">
              {t.category}
              {t.featured ? " · Featured" : ""}
            </span>
          </div>
        </div>
        <p class="lead">{t.description}</p>
      </div>
      {/* Second in the markup so a phone shows Start right under the pitch; a laptop puts it in the right column. */}
      <div class="side">
        <ClaimPanel env={env} t={t} forms={forms} />
      </div>
      <div class="details">
        {t.skills.length ? (
          <section class="panel" aria-labelledby="skills-h">
            <h2 id="skills-h">What it can do</h2>
            <ul class="skill-list">
              {t.skills.map((s) => (
                <li>
                  <b>{skillLabel(s)}</b>
                  {skillBlurb(s) ? <span>{skillBlurb(s)}</span> : null}
                </li>
              ))}
            </ul>
          </section>
        ) : null}
        <section class="panel" aria-labelledby="how-h">
          <h2 id="how-h">How it works</h2>
          <ol class="steps">
            <li>Tap Start: a fresh agent creates a new Convos conversation for you.</li>
            <li>Open the invite on your phone (or scan the QR code) to join it.</li>
            <li>Invite your friends. Everything stays end-to-end encrypted.</li>
          </ol>
        </section>
      </div>
    </div>
  </Layout>
);

const ClaimPanel: FC<{ env: PageEnv; t: Tpl; forms: ClaimForms }> = ({ env, t, forms }) => (
  <section class="panel cta" aria-labelledby="start-h">
    <h2 id="start-h">Start {t.name}</h2>
    <form method="post" action={`/a/${t.slug}/start`} class="field" id="start-form">
      <input type="hidden" name="attempt" value={forms.startAttempt} />
      {env.challenge?.widget()}
      <button class="btn" type="submit">
        Start a new chat
      </button>
      {forms.startError ? (
        <p class="field-error" role="alert">
          {forms.startError}
        </p>
      ) : (
        <p class="hint">You'll get an invite link and a QR code for the Convos app.</p>
      )}
    </form>
    <div class="or">or</div>
    <form method="post" action={`/a/${t.slug}/join`} class="field" id="join-form">
      <input type="hidden" name="attempt" value={forms.joinAttempt} />
      <label for="join-url">Add it to a conversation you already have</label>
      <input
        id="join-url"
        name="joinUrl"
        type="url"
        inputmode="url"
        autocomplete="off"
        required
        maxlength={2100}
        placeholder={`https://${env.inviteHost}/v2?i=…`}
        value={forms.joinValue ?? ""}
        aria-invalid={forms.joinError ? "true" : undefined}
        aria-describedby={forms.joinError ? "join-error" : "join-hint"}
      />
      {forms.joinError ? (
        <p class="field-error" id="join-error" role="alert">
          {forms.joinError}
        </p>
      ) : (
        <p class="hint" id="join-hint">
          In Convos, open the conversation, tap its name, then Invite, and copy the link.
        </p>
      )}
      {env.challenge?.widget()}
      <button class="btn ghost" type="submit">
        Add to my chat
      </button>
    </form>
  </section>
);

// ---------------------------------------------------------------------------------------------
// Results

export const StartedPage: FC<{ env: PageEnv; t: Tpl; claim: ClaimResponse }> = ({ env, t, claim }) => {
  // The invite comes from the agent's container: only an https link is ever made clickable.
  const invite = claim.inviteUrl && /^https:\/\/[^\s"<>]+$/.test(claim.inviteUrl) ? claim.inviteUrl : null;
  return (
    <Layout meta={templateMeta(env, t, `${t.name} is ready · Convos Agents`)} environment={env.environment}>
      <a class="back" href={`/a/${t.slug}`}>
        ← {t.name}
      </a>
      <section class="result" aria-labelledby="done-h">
        <span class="status">
          <span class="dot" aria-hidden="true"></span> Ready
        </span>
        <h1 id="done-h">
          {t.emoji} {claim.agentName} is waiting in your new chat
        </h1>
        {invite ? (
          <div class="panel invite">
            <div class="qr" role="img" aria-label="QR code of the invite link">
              {raw(qrSvg(invite))}
            </div>
            <div class="field">
              <a class="btn" href={invite} id="invite-link" rel="noopener noreferrer">
                Open in Convos
              </a>
              <a class="link" href={invite} rel="noopener noreferrer" data-invite>
                {invite}
              </a>
              <button class="btn ghost" type="button" id="copy" hidden data-copy={invite}>
                Copy invite link
              </button>
              <p class="hint">Anyone with this link can join the conversation: share it only with people you want in the chat.</p>
            </div>
          </div>
        ) : (
          <div class="notice warn">The conversation was created but no invite link came back. Please start another one.</div>
        )}
        <section class="panel" aria-labelledby="open-h">
          <h2 id="open-h">Open it in the Convos app</h2>
          <ol class="steps">
            <li>Install Convos on your phone from the App Store or Google Play, if you haven't yet.</li>
            <li>On your phone, tap Open in Convos. On a computer, scan the QR code with your phone's camera.</li>
            <li>Join the conversation: {claim.agentName} is already in it. Say hi and tell it what you need.</li>
            <li>Invite your friends from the conversation's menu in Convos.</li>
          </ol>
          {env.xmtpEnv !== "production" ? <p class="hint">This pool runs on the XMTP {env.xmtpEnv} network: open the invite with a Convos build for that network.</p> : null}
        </section>
      </section>
      <script nonce={env.nonce}>{raw(COPY_SCRIPT)}</script>
    </Layout>
  );
};

export const JoinedPage: FC<{ env: PageEnv; t: Tpl; claim: ClaimResponse }> = ({ env, t, claim }) => {
  const pending = claim.status === "pending_acceptance";
  return (
    <Layout meta={templateMeta(env, t, `${t.name} joined · Convos Agents`)} environment={env.environment}>
      <a class="back" href={`/a/${t.slug}`}>
        ← {t.name}
      </a>
      <section class="result" aria-labelledby="done-h">
        <span class={pending ? "status wait" : "status"}>
          <span class="dot" aria-hidden="true"></span> {pending ? "Waiting for approval" : "Joined"}
        </span>
        <h1 id="done-h">
          {t.emoji} {pending ? `${claim.agentName} asked to join your chat` : `${claim.agentName} joined your chat`}
        </h1>
        <section class="panel">
          {pending ? (
            <ol class="steps">
              <li>Open the conversation in the Convos app.</li>
              <li>Approve {claim.agentName}'s request to join (the conversation's admins see it).</li>
              <li>Once approved, say hi and tell it what you need.</li>
            </ol>
          ) : (
            <ol class="steps">
              <li>Open the conversation in the Convos app: {claim.agentName} is in it now.</li>
              <li>Say hi and tell it what you need.</li>
            </ol>
          )}
        </section>
        <p>
          <a class="btn ghost" href="/">
            Browse more agents
          </a>
        </p>
      </section>
    </Layout>
  );
};

// ---------------------------------------------------------------------------------------------
// Busy, errors

export interface RetryForm {
  action: string;
  fields: Record<string, string>;
  label: string;
}

/**
 * "All agents are busy": checks the public counts and resubmits the claim once one is free
 * (and, with a challenge on, once its widget has produced a fresh token).
 */
export const BusyPage: FC<{ env: PageEnv; t: Tpl; retry: RetryForm; retryAfterSeconds: number }> = ({ env, t, retry, retryAfterSeconds }) => (
  <Layout meta={templateMeta(env, t, "All agents are busy · Convos Agents")} environment={env.environment} head={env.challenge?.head(env.nonce)}>
    <a class="back" href={`/a/${t.slug}`}>
      ← {t.name}
    </a>
    <section class="panel busy" aria-labelledby="busy-h" data-state="busy">
      <span class="big" aria-hidden="true">
        ⏳
      </span>
      <h1 id="busy-h">All agents are busy</h1>
      <p>We're warming up more right now. Try again in a minute — this page keeps trying on its own and starts {t.name} as soon as one is free.</p>
      <span class="spinner" aria-hidden="true"></span>
      <p id="retry-status" role="status" aria-live="polite">
        Trying again in about {retryAfterSeconds} seconds.
      </p>
      <form method="post" action={retry.action} id="retry-form" data-retry-after={String(retryAfterSeconds)}>
        {Object.entries(retry.fields).map(([name, value]) => (
          <input type="hidden" name={name} value={value} />
        ))}
        {env.challenge?.widget()}
        <button class="btn dark" type="submit">
          {retry.label}
        </button>
      </form>
      <noscript>
        <p>Automatic retry needs JavaScript; press the button above in a minute.</p>
      </noscript>
    </section>
    <script nonce={env.nonce}>{raw(RETRY_SCRIPT)}</script>
  </Layout>
);

export const MessagePage: FC<{ env: PageEnv; title: string; emoji?: string; t?: Tpl | null; children?: Child; retry?: RetryForm | null }> = ({ env, title, emoji, t, children, retry }) => (
  <Layout meta={t ? templateMeta(env, t, `${title} · Convos Agents`) : siteMeta(env, `${title} · Convos Agents`)} environment={env.environment}>
    <a class="back" href={t ? `/a/${t.slug}` : "/"}>
      ← {t ? t.name : "All agents"}
    </a>
    <section class="panel busy" aria-labelledby="msg-h">
      {emoji ? (
        <span class="big" aria-hidden="true">
          {emoji}
        </span>
      ) : null}
      <h1 id="msg-h">{title}</h1>
      {children}
      {retry ? (
        <form method="post" action={retry.action}>
          {Object.entries(retry.fields).map(([name, value]) => (
            <input type="hidden" name={name} value={value} />
          ))}
          <button class="btn dark" type="submit">
            {retry.label}
          </button>
        </form>
      ) : (
        <a class="btn dark" href={t ? `/a/${t.slug}` : "/"}>
          {t ? `Back to ${t.name}` : "Browse agents"}
        </a>
      )}
    </section>
  </Layout>
);

// Scripts are constants: user data never lands inside a script, only in escaped attributes.
const COPY_SCRIPT = `(function(){var b=document.getElementById("copy");if(!b||!navigator.clipboard)return;b.hidden=false;b.addEventListener("click",function(){navigator.clipboard.writeText(b.getAttribute("data-copy")).then(function(){b.textContent="Copied";setTimeout(function(){b.textContent="Copy invite link"},2000)})})})();`;

const RETRY_SCRIPT = `(function(){
var form=document.getElementById("retry-form"),out=document.getElementById("retry-status");
if(!form||!out)return;
var wait=Math.max(3,Number(form.getAttribute("data-retry-after"))||15),tries=0;
function countdown(){var left=wait;out.textContent="Trying again in "+left+" seconds.";var t=setInterval(function(){left--;if(left>0){out.textContent="Trying again in "+left+" seconds.";return}clearInterval(t);check()},1000)}
function again(){tries++;if(tries>3)wait=Math.min(60,wait+15);countdown()}
function challengeReady(){var ch=form.querySelector(".challenge");if(!ch)return true;var t=ch.querySelector("input");return !!(t&&t.value)}
function check(){out.textContent="Checking for a free agent…";fetch("/api/pool/counts",{cache:"no-store",headers:{accept:"application/json"}}).then(function(r){return r.ok?r.json():null}).then(function(b){if(b&&b.idle>0&&challengeReady()){out.textContent="An agent is free. Starting…";form.submit()}else again()}).catch(again)}
countdown();
})();`;
