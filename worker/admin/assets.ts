/**
 * The dashboard's one stylesheet and one script, served by the Worker from /admin/assets so
 * the CSP can forbid inline styles and allow script only with the page's nonce. The pages work
 * without the script: it adds confirm() dialogs, the QR modal and a background refresh.
 */
export const ADMIN_CSS = `
:root{--bg:#f6f7f9;--fg:#1d2330;--muted:#667085;--line:#e3e6eb;--card:#fff;--accent:#3b5bdb;--danger:#c92a2a;--ok:#2b8a3e;--warn:#e67700;--radius:8px;
font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
*{box-sizing:border-box}body{margin:0}a{color:var(--accent)}
h1{font-size:1.35rem;margin:0 0 .75rem}h2{font-size:1.05rem;margin:0 0 .6rem}
.topbar{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem;padding:.6rem 1rem;background:#111827;color:#fff}
.topbar a{color:#d0d7e5;text-decoration:none}.topbar a:hover{color:#fff}
.brand{font-weight:700;color:#fff!important}
.env{font-weight:700;text-transform:uppercase;letter-spacing:.04em;padding:.15rem .55rem;border-radius:4px;background:#2f9e44;color:#fff;font-size:.85rem}
.env-production{background:var(--danger)}.env-staging{background:var(--warn)}
.nav{display:flex;gap:.9rem;flex-wrap:wrap}.nav a[aria-current]{color:#fff;text-decoration:underline}
.envs{display:flex;gap:.35rem;align-items:center;margin-left:auto;font-size:.85rem;flex-wrap:wrap}
.envs a{padding:.1rem .45rem;border:1px solid #4b5563;border-radius:4px}.envs a[aria-current]{background:#fff;color:#111827}
.topbar form{margin:0}.topbar button{background:transparent;color:#d0d7e5;border:1px solid #4b5563;padding:.2rem .6rem}
main{max-width:1200px;margin:0 auto;padding:1rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:var(--radius);padding:1rem;margin-bottom:1rem}
.grid{display:grid;gap:1rem;grid-template-columns:repeat(auto-fit,minmax(280px,1fr))}.grid>.card{margin-bottom:0}
.grid+.card,.grid+.grid{margin-top:1rem}
.pills{display:flex;flex-wrap:wrap;gap:.4rem;margin:0 0 .75rem;padding:0;list-style:none}
.pill{display:inline-flex;gap:.35rem;align-items:center;padding:.25rem .7rem;border-radius:999px;border:1px solid var(--line);background:var(--card);text-decoration:none;color:var(--fg)}
.pill b{font-variant-numeric:tabular-nums}.pill[aria-current]{border-color:var(--accent);box-shadow:inset 0 0 0 1px var(--accent)}
.badge{display:inline-block;padding:.05rem .45rem;border-radius:4px;font-size:.8rem;font-weight:600;background:#eef1f5;color:#344054;white-space:nowrap}
.version-chart{display:block;max-width:680px;margin:.5rem 0 1rem}.s-upgrading{background:#f3d9fa;color:#862e9c}.s-idle{background:#d3f9d8;color:#2b8a3e}.s-claimed{background:#dbe4ff;color:#364fc7}.s-claiming,.s-starting,.s-creating{background:#fff3bf;color:#8f5b00}
.s-crashed,.s-dead{background:#ffe3e3;color:var(--danger)}.s-deleting,.s-deleted{background:#eef1f5;color:var(--muted)}
.b-open{background:#ffe3e3;color:var(--danger)}.b-half-open{background:#fff3bf;color:#8f5b00}.b-closed{background:#d3f9d8;color:#2b8a3e}
table{width:100%;border-collapse:collapse;font-size:.92rem}th,td{text-align:left;padding:.45rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.78rem;text-transform:uppercase;letter-spacing:.03em;color:var(--muted);font-weight:600}
.table-wrap{overflow-x:auto}.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85rem;word-break:break-all}
.muted{color:var(--muted)}.small{font-size:.85rem}
form{margin:0}label{display:block;font-weight:600;font-size:.88rem;margin:.5rem 0 .2rem}
input,select,textarea{font:inherit;width:100%;padding:.4rem .5rem;border:1px solid #cfd4dc;border-radius:6px;background:#fff}
textarea{min-height:4.5rem;resize:vertical}
input[aria-invalid=true],textarea[aria-invalid=true],select[aria-invalid=true]{border-color:var(--danger)}
.field-error{color:var(--danger);font-size:.85rem;margin:.2rem 0 0}.hint{color:var(--muted);font-size:.8rem;margin:.15rem 0 0}
button,.button{font:inherit;display:inline-block;padding:.4rem .9rem;border-radius:6px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer;text-decoration:none}
button.secondary,.button.secondary{background:#fff;color:var(--accent)}button.danger{background:var(--danger);border-color:var(--danger)}
button.small,.button.small{padding:.15rem .55rem;font-size:.82rem}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}.actions form{display:flex;gap:.4rem;align-items:end}
.actions input{width:4.5rem}.row-actions{display:flex;gap:.3rem;flex-wrap:wrap}
.form-actions{margin-top:.75rem;display:flex;gap:.5rem;flex-wrap:wrap}
.flash{padding:.6rem .9rem;border-radius:var(--radius);margin-bottom:1rem;border:1px solid}
.flash-ok{background:#ebfbee;border-color:#b2f2bb}.flash-error{background:#fff5f5;border-color:#ffc9c9;color:#a51111}
dl.fields{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:0}dl.fields dt{color:var(--muted);overflow-wrap:anywhere}dl.fields dd{margin:0;min-width:0;overflow-wrap:anywhere}
.invite{display:flex;gap:1rem;flex-wrap:wrap;align-items:center}.qr svg,.qr img{width:220px;height:220px;display:block;border:1px solid var(--line);border-radius:6px}
.login{max-width:380px;margin:8vh auto}
dialog{border:0;border-radius:var(--radius);padding:1.25rem;max-width:min(92vw,380px)}dialog::backdrop{background:rgba(17,24,39,.55)}
dialog img{width:100%;height:auto}
@media (max-width:640px){main{padding:.6rem}.card{padding:.75rem}.envs{margin-left:0}
.hide-sm{display:none}th,td{padding:.4rem .3rem}dl.fields{grid-template-columns:minmax(6rem,38%) 1fr;gap:.3rem .6rem}}
`;

export const ADMIN_JS = `
(() => {
  "use strict";
  // Confirmations: without JS the server answers the first post with a confirmation page;
  // here the browser asks instead and sends the confirmed post directly.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
    if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); return; }
    if (!form.querySelector("input[name=confirmed]")) {
      const input = document.createElement("input");
      input.type = "hidden"; input.name = "confirmed"; input.value = "yes";
      form.appendChild(input);
    }
  });

  // QR modal: the image is the Worker's own SVG; the invite URL never leaves for a QR service.
  const dialog = document.getElementById("qr-dialog");
  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element ? event.target.closest("a[data-qr]") : null;
    if (!link || !dialog || typeof dialog.showModal !== "function") return;
    event.preventDefault();
    dialog.querySelector("img").src = link.dataset.qr;
    dialog.querySelector("[data-qr-url]").textContent = link.dataset.qrUrl || "";
    dialog.querySelector("[data-qr-page]").href = link.href;
    dialog.showModal();
  });
  if (dialog) dialog.addEventListener("click", (event) => { if (event.target === dialog) dialog.close(); });

  // Auto-refresh: swap only the live regions, never a form someone is using or a page with
  // an open dialog, so typing and confirmations are not disrupted.
  const seconds = Number(document.body.dataset.refresh || 0);
  if (seconds > 0) {
    let busy = false;
    setInterval(async () => {
      if (busy || document.hidden || document.querySelector("dialog[open]")) return;
      busy = true;
      try {
        const res = await fetch(document.body.dataset.refreshUrl || location.href, { credentials: "same-origin", headers: { "x-admin-refresh": "1" } });
        if (!res.ok || res.redirected) return;
        const fresh = new DOMParser().parseFromString(await res.text(), "text/html");
        for (const region of document.querySelectorAll("[data-live]")) {
          if (region.contains(document.activeElement)) continue;
          const next = fresh.getElementById(region.id);
          if (next) region.replaceWith(document.importNode(next, true));
        }
        const stamp = document.getElementById("refreshed-at");
        if (stamp) stamp.textContent = new Date().toISOString().replace("T", " ").slice(0, 19) + " UTC";
      } catch {
        // Offline or the Worker is redeploying: try again at the next interval.
      } finally {
        busy = false;
      }
    }, seconds * 1000);
  }
})();
`;
