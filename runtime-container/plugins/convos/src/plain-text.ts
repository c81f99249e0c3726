// The Convos app shows text as typed (the CLI has no markdown content type), so markdown the
// model writes is turned into text that reads well as is: markers dropped, lists as bullets,
// links as "label (url)", code kept verbatim.

const BULLET = "•";

function inline(text: string): string {
  const codeSpans: string[] = [];
  // Code spans are verbatim: park them so emphasis rules never touch their contents.
  let out = text.replace(/`([^`\n]+)`/gu, (_, code: string) => `\u0000${codeSpans.push(code) - 1}\u0000`);
  out = out
    .replace(/!\[([^\]]*)\]\(([^)\s]+)(?:\s+"[^"]*")?\)/gu, (_, alt: string, url: string) => (alt ? `${alt} (${url})` : url))
    .replace(/\[([^\]]+)\]\(([^)\s]+)(?:\s+"[^"]*")?\)/gu, (_, label: string, url: string) => {
      const bare = url.replace(/^mailto:/u, "");
      return label === url || label === bare ? bare : `${label} (${bare})`;
    })
    .replace(/<((?:https?:\/\/|mailto:)[^>\s]+)>/gu, (_, url: string) => url.replace(/^mailto:/u, ""))
    .replace(/(\*\*|__)(?=\S)([\s\S]*?\S)\1/gu, "$2")
    .replace(/~~(?=\S)([\s\S]*?\S)~~/gu, "$1")
    .replace(/(^|[^\p{L}\p{N}*])\*(?=\S)([^*\n]*?\S)\*(?![\p{L}\p{N}*])/gu, "$1$2")
    .replace(/(^|[^\p{L}\p{N}_])_(?=\S)([^_\n]*?\S)_(?![\p{L}\p{N}_])/gu, "$1$2")
    .replace(/\\([\\`*_{}[\]()#+\-.!~>|])/gu, "$1");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL brackets the placeholders of code spans set aside above; no text the model writes contains it.
  return out.replace(/\u0000(\d+)\u0000/gu, (_, i: string) => codeSpans[Number(i)]!);
}

function tableRow(line: string): string[] | null {
  if (!/^\s*\|.*\|\s*$/u.test(line)) return null;
  return line
    .trim()
    .slice(1, -1)
    .split("|")
    .map((c) => c.trim());
}

/** Markdown → readable plain text. Text without markdown comes back unchanged. */
export function markdownToPlainText(markdown: string): string {
  const lines = markdown.replace(/\r\n?/gu, "\n").split("\n");
  const out: string[] = [];
  let fence: string | null = null;
  for (const line of lines) {
    const fenceMatch = /^\s*(```+|~~~+)/u.exec(line);
    if (fenceMatch) {
      // Fences go; the code inside stays exactly as written.
      fence = fence ? (line.trim().startsWith(fence) ? null : fence) : fenceMatch[1]!;
      continue;
    }
    if (fence) {
      out.push(line);
      continue;
    }
    const cells = tableRow(line);
    if (cells) {
      if (cells.every((c) => /^:?-{2,}:?$/u.test(c))) continue;
      out.push(cells.map(inline).join(" · "));
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/u.test(line)) continue;
    const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/u.exec(line);
    if (heading) {
      out.push(inline(heading[1]!));
      continue;
    }
    const task = /^(\s*)[-*+]\s+\[([ xX])\]\s+(.*)$/u.exec(line);
    if (task) {
      out.push(`${task[1]}${task[2] === " " ? "☐" : "☑"} ${inline(task[3]!)}`);
      continue;
    }
    const bullet = /^(\s*)[-*+]\s+(.*)$/u.exec(line);
    if (bullet) {
      out.push(`${bullet[1]}${BULLET} ${inline(bullet[2]!)}`);
      continue;
    }
    const numbered = /^(\s*)(\d+)[.)]\s+(.*)$/u.exec(line);
    if (numbered) {
      out.push(`${numbered[1]}${numbered[2]}. ${inline(numbered[3]!)}`);
      continue;
    }
    const quote = /^\s*>\s?(.*)$/u.exec(line);
    if (quote) {
      out.push(`│ ${inline(quote[1]!)}`.trimEnd());
      continue;
    }
    out.push(inline(line));
  }
  return out
    .join("\n")
    .replace(/\n{3,}/gu, "\n\n")
    .trim();
}
