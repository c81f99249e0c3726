/**
 * The catalog's one stylesheet, inlined in every page (one round trip on a phone) and allowed
 * by its SHA-256 hash in the CSP, so no inline style from anywhere else can run.
 */
export const CATALOG_CSS = `
:root{--ink:#14141a;--muted:#5f6170;--line:#e6e6ec;--bg:#f7f7f9;--card:#fff;--soft:#f0f0f4;--accent:#ff5a36;--accent-dark:#e2431f;--ok:#1f8a4c;--warn:#b25e00;--err:#c0262d;--r:18px;
color-scheme:light;font:16px/1.5 ui-sans-serif,system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:var(--bg)}
*{box-sizing:border-box}
[hidden]{display:none!important}
html{-webkit-text-size-adjust:100%}
body{margin:0;min-height:100vh;display:flex;flex-direction:column}
a{color:inherit}
:focus-visible{outline:3px solid #2f6fed;outline-offset:2px}
.wrap{width:100%;max-width:1080px;margin:0 auto;padding:0 18px}
.top{background:var(--card);border-bottom:1px solid var(--line)}
.top .wrap{display:flex;align-items:center;justify-content:space-between;min-height:60px;gap:12px}
.brand{display:flex;align-items:center;gap:10px;font-weight:750;letter-spacing:-.01em;text-decoration:none;font-size:17px}
.logo{display:inline-grid;place-items:center;width:32px;height:32px;border-radius:10px;background:var(--ink);color:#fff;font-size:17px}
.top nav a{color:var(--muted);text-decoration:none;font-size:15px}
.top nav a:hover{color:var(--ink)}
main{flex:1;padding-bottom:48px}
.hero{padding:32px 0 8px}
.hero h1{font-size:clamp(30px,6.5vw,48px);line-height:1.05;letter-spacing:-.03em;margin:0 0 12px}
.hero p{color:var(--muted);font-size:clamp(16px,2.4vw,19px);margin:0;max-width:38em}
.filters{display:flex;flex-direction:column;gap:6px;margin:22px 0 6px}
.pills{display:flex;gap:8px;overflow-x:auto;padding:2px 2px 8px;margin:0 -18px;padding-left:18px;padding-right:18px;scrollbar-width:none;list-style:none}
.pills::-webkit-scrollbar{display:none}
.pill{display:inline-flex;align-items:center;gap:6px;flex:none;min-height:38px;padding:0 15px;border:1px solid var(--line);border-radius:999px;background:var(--card);text-decoration:none;font-size:15px;white-space:nowrap}
.pill:hover{border-color:#c9c9d3}
.pill[aria-current=page]{background:var(--ink);border-color:var(--ink);color:#fff}
.pills.skills .pill{min-height:32px;font-size:13.5px;padding:0 12px;color:var(--muted)}
.pills.skills .pill[aria-current=page]{color:#fff}
.count{color:var(--muted);font-size:14px;margin:4px 0 12px}
.grid{display:grid;gap:14px;grid-template-columns:repeat(auto-fill,minmax(290px,1fr));margin:0;padding:0;list-style:none}
.card{position:relative;display:flex;flex-direction:column;gap:10px;height:100%;background:var(--card);border:1px solid var(--line);border-radius:var(--r);padding:18px;text-decoration:none;transition:border-color .15s,box-shadow .15s,transform .15s}
.card:hover{border-color:#d0d0da;box-shadow:0 6px 24px rgba(20,20,26,.07);transform:translateY(-1px)}
.card-head{display:flex;align-items:center;gap:12px}
.emoji{display:inline-grid;place-items:center;flex:none;width:48px;height:48px;border-radius:14px;background:var(--soft);font-size:26px;line-height:1}
.card h2{font-size:18px;line-height:1.25;margin:0;letter-spacing:-.01em}
.cat{display:block;color:var(--muted);font-size:13.5px}
.card p{margin:0;color:#3d3f4a;font-size:15px}
.tags{display:flex;flex-wrap:wrap;gap:6px;margin:auto 0 0;padding:0;list-style:none}
.tag{font-size:12.5px;padding:3px 9px;border-radius:999px;background:var(--soft);color:#3d3f4a}
.card-title{flex:1;min-width:0}
.featured{align-self:flex-start;flex:none;font-size:12px;font-weight:650;padding:3px 9px;border-radius:999px;background:#fff1ec;color:var(--accent-dark)}
.empty{background:var(--card);border:1px dashed var(--line);border-radius:var(--r);padding:28px;text-align:center;color:var(--muted)}
.back{display:inline-block;margin:22px 0 0;color:var(--muted);text-decoration:none;font-size:15px}
.back:hover{color:var(--ink)}
.agent{display:grid;gap:16px;margin-top:18px}
.intro,.details{display:grid;gap:16px}
.agent-head{display:flex;gap:16px;align-items:center}
.agent-head .emoji{width:72px;height:72px;border-radius:20px;font-size:40px}
.agent-head .cat{margin-top:4px}
.agent-head h1{font-size:clamp(28px,6vw,40px);line-height:1.1;letter-spacing:-.02em;margin:0}
.lead{font-size:clamp(17px,2.4vw,19px);color:#2f313b;margin:0}
.panel{background:var(--card);border:1px solid var(--line);border-radius:var(--r);padding:20px}
.panel h2{font-size:18px;margin:0 0 12px;letter-spacing:-.01em}
.panel p{margin:0 0 12px}
.panel>:last-child{margin-bottom:0}
.skill-list{margin:0;padding:0;list-style:none;display:grid;gap:12px}
.skill-list li{display:grid;gap:2px}
.skill-list b{font-weight:650}
.skill-list span{color:var(--muted);font-size:15px}
.cta{display:grid;gap:14px}
.btn{display:inline-flex;align-items:center;justify-content:center;gap:8px;width:100%;min-height:52px;padding:0 24px;border:0;border-radius:14px;background:var(--accent);color:#fff;font:inherit;font-weight:650;font-size:17px;text-decoration:none;cursor:pointer;transition:background .15s}
.btn:hover{background:var(--accent-dark)}
.btn.dark{background:var(--ink)}
.btn.dark:hover{background:#000}
.btn.ghost{background:var(--card);color:var(--ink);border:1px solid var(--line)}
.btn.ghost:hover{border-color:#c9c9d3}
.hint{color:var(--muted);font-size:14px;margin:0}
.or{display:flex;align-items:center;gap:12px;color:var(--muted);font-size:14px;margin:6px 0}
.or:before,.or:after{content:"";flex:1;border-top:1px solid var(--line)}
label{display:block;font-weight:600;margin:0 0 6px}
input[type=url]{width:100%;min-height:50px;padding:0 14px;border:1px solid #d4d4dd;border-radius:12px;font:inherit;background:#fff;color:var(--ink)}
input[type=url]:focus{border-color:#2f6fed;outline:none;box-shadow:0 0 0 3px rgba(47,111,237,.18)}
.field{display:grid;gap:10px}
.field-error{color:var(--err);font-size:14.5px;margin:0}
.challenge{min-height:0}
.notice{border-radius:14px;padding:14px 16px;margin:18px 0 0;font-size:15.5px;border:1px solid}
.notice.error{background:#fff2f2;border-color:#f3c7c9;color:#7d1a1f}
.notice.warn{background:#fff8ec;border-color:#f2d9ad;color:#6b3b00}
.result{display:grid;gap:18px;margin-top:22px}
.result h1{font-size:clamp(28px,6vw,40px);letter-spacing:-.02em;line-height:1.1;margin:0}
.status{display:inline-flex;align-items:center;gap:8px;font-weight:650;color:var(--ok)}
.status.wait{color:var(--warn)}
.dot{width:10px;height:10px;border-radius:50%;background:currentColor}
.invite{display:grid;gap:18px;align-items:center}
.qr{justify-self:center;background:#fff;border:1px solid var(--line);border-radius:16px;padding:10px;width:236px;height:236px}
.qr svg{display:block;width:100%;height:100%}
.link{display:block;word-break:break-all;font:14px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--soft);border-radius:10px;padding:10px 12px;color:var(--ink)}
.steps{margin:0;padding-left:22px;display:grid;gap:8px}
.steps+.hint{margin-top:14px}
.steps li::marker{font-weight:700;color:var(--accent-dark)}
.busy{text-align:center;display:grid;gap:14px;justify-items:center;padding:28px 20px;margin-top:16px}
.busy .big{font-size:56px;line-height:1}
.busy h1{margin:0;font-size:clamp(26px,5.5vw,36px);letter-spacing:-.02em}
.busy p{margin:0;color:var(--muted);max-width:32em}
.spinner{width:28px;height:28px;border-radius:50%;border:3px solid var(--line);border-top-color:var(--accent);animation:spin 1s linear infinite}
@keyframes spin{to{transform:rotate(360deg)}}
@media (prefers-reduced-motion:reduce){*{animation:none!important;transition:none!important}}
.foot{color:var(--muted);font-size:13.5px;padding:22px 0 30px;border-top:1px solid var(--line);background:var(--card)}
.foot .wrap{display:flex;flex-wrap:wrap;gap:6px 18px;justify-content:space-between}
@media (min-width:720px){
.wrap{padding:0 28px}
.pills{margin:0;padding-left:2px;padding-right:2px;flex-wrap:wrap;overflow:visible}
.hero{padding-top:52px}
.agent{grid-template-columns:minmax(0,1.25fr) minmax(0,1fr);grid-template-areas:"intro side" "details side";grid-template-rows:auto 1fr;align-items:start;gap:20px 28px;margin-top:26px}
.intro{grid-area:intro}.details{grid-area:details}
.agent .side{grid-area:side;position:sticky;top:20px}
.btn{width:auto}
.cta .btn{width:100%}
.invite{grid-template-columns:auto 1fr;gap:24px}
.panel{padding:26px}
}
`;
