import { skillLabel } from "./skills";

/**
 * Open Graph images (1200×630) drawn as SVG by the Worker, so a shared link previews with the
 * agent's emoji, name, pitch and skills without an image pipeline. Text is XML-escaped and
 * wrapped by a width estimate: SVG has no text layout of its own.
 */
export interface OgCard {
  emoji: string;
  title: string;
  description: string;
  category?: string;
  tags?: string[];
}

const W = 1200;
const H = 630;
const FONT = "ui-sans-serif, system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[ch]!);
}

/** Greedy word wrap by an average glyph width; the last line is ellipsised when text overflows. */
export function wrapText(text: string, maxChars: number, maxLines: number): string[] {
  const words = text.replace(/\s+/g, " ").trim().split(" ").filter(Boolean);
  const lines: string[] = [];
  let line = "";
  for (let i = 0; i < words.length; i++) {
    let word = words[i]!;
    if (word.length > maxChars) word = `${word.slice(0, maxChars - 1)}…`;
    const next = line ? `${line} ${word}` : word;
    if (next.length <= maxChars) {
      line = next;
      continue;
    }
    lines.push(line);
    line = word;
    if (lines.length === maxLines) {
      const last = lines[maxLines - 1]!;
      lines[maxLines - 1] = `${last.length > maxChars - 1 ? last.slice(0, maxChars - 1) : last}…`;
      return lines;
    }
  }
  if (line) lines.push(line);
  return lines;
}

export function ogSvg(card: OgCard): string {
  const titleLines = wrapText(card.title, 24, 2);
  const titleSize = titleLines.length > 1 ? 64 : 76;
  const titleTop = titleLines.length > 1 ? 272 : 282;
  const lastTitle = titleTop + (titleLines.length - 1) * (titleSize + 8);
  const descTop = lastTitle + 66;
  const descLines = wrapText(card.description, 54, titleLines.length > 1 ? 2 : 3);

  let x = 80;
  const pills: string[] = [];
  for (const tag of (card.tags ?? []).slice(0, 4)) {
    const label = tag.length > 26 ? `${tag.slice(0, 25)}…` : tag;
    const w = Math.round(label.length * 14.5 + 48);
    if (x + w > W - 80) break;
    pills.push(
      `<rect x="${x}" y="536" width="${w}" height="50" rx="25" fill="#ffffff" stroke="#e6e6ec" stroke-width="2"/>` +
        `<text x="${x + w / 2}" y="569" font-size="24" font-weight="600" fill="#3d3f4a" text-anchor="middle">${escapeXml(label)}</text>`,
    );
    x += w + 14;
  }

  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeXml(`${card.title}: ${card.description}`)}">
<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#fff4ef"/><stop offset="1" stop-color="#f3f3ff"/></linearGradient></defs>
<rect width="${W}" height="${H}" fill="url(#g)"/>
<rect x="0" y="0" width="${W}" height="10" fill="#ff5a36"/>
<g font-family="${FONT}">
<rect x="80" y="64" width="120" height="120" rx="32" fill="#ffffff" stroke="#e6e6ec" stroke-width="2"/>
<text x="140" y="150" font-size="68" text-anchor="middle">${escapeXml(card.emoji)}</text>
<text x="228" y="114" font-size="28" font-weight="700" fill="#14141a">✦ Convos Agents</text>
${card.category ? `<text x="228" y="154" font-size="28" fill="#5f6170">${escapeXml(card.category)}</text>` : ""}
${titleLines.map((l, i) => `<text x="80" y="${titleTop + i * (titleSize + 8)}" font-size="${titleSize}" font-weight="800" letter-spacing="-1.5" fill="#14141a">${escapeXml(l)}</text>`).join("\n")}
${descLines.map((l, i) => `<text x="80" y="${descTop + i * 44}" font-size="32" fill="#3d3f4a">${escapeXml(l)}</text>`).join("\n")}
${pills.join("\n")}
</g>
</svg>`;
}

export function templateOg(t: { emoji: string; name: string; description: string; category: string; skills: string[] }): string {
  return ogSvg({ emoji: t.emoji, title: t.name, description: t.description, category: t.category, tags: t.skills.map(skillLabel) });
}

export function siteOg(count: number): string {
  return ogSvg({
    emoji: "✦",
    title: "AI agents for your group chats",
    description: `${count > 0 ? `${count} agents` : "Agents"} that plan, pick, track and remind, right inside your end-to-end encrypted Convos chats.`,
    tags: ["Start in seconds", "End-to-end encrypted"],
  });
}
