import { describe, expect, it } from "vitest";
import { escapeXml, ogSvg, wrapText } from "../../../worker/catalog/og";

describe("Open Graph card", () => {
  it("wraps text into lines of bounded width and ellipsises what does not fit", () => {
    expect(wrapText("Plans group trips in the chat", 12, 3)).toEqual(["Plans group", "trips in the", "chat"]);
    const lines = wrapText("one two three four five six seven eight nine ten", 10, 2);
    expect(lines).toHaveLength(2);
    expect(lines[1]!.endsWith("…")).toBe(true);
    expect(wrapText("Supercalifragilisticexpialidocious", 10, 2)).toEqual(["Supercali…"]);
    expect(wrapText("   ", 10, 2)).toEqual([]);
  });

  it("escapes every operator-written string", () => {
    expect(escapeXml(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;");
    const svg = ogSvg({ emoji: "<", title: "A & B", description: "</text><script>alert(1)</script>", category: '"cat"', tags: ["<b>"] });
    expect(svg).not.toMatch(/<script|<b>|<\/text><script/);
    expect(svg).toContain("A &amp; B");
    expect(svg).toContain("&lt;b&gt;");
  });

  it("keeps every tag inside the card", () => {
    const svg = ogSvg({ emoji: "x", title: "T", description: "D", tags: ["a very long skill label", "another long skill label", "third label here", "fourth"] });
    for (const m of svg.matchAll(/<rect x="(\d+)" y="536" width="(\d+)"/g)) expect(Number(m[1]) + Number(m[2])).toBeLessThanOrEqual(1120);
  });
});
