// The group-chat decisions without I/O: what is a turn, who is addressed, what the room is
// called and who is in it, how markdown reads as plain text, and the one-time greeting.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { GreetingMarker, briefFromInstructions, greetingText } from "../../runtime-container/plugins/convos/src/greeting.ts";
import { markdownToPlainText } from "../../runtime-container/plugins/convos/src/plain-text.ts";
import { CONTENT_TYPES } from "../../runtime-container/plugins/convos/src/cli-protocol.ts";
import { fromServeMessage, type InboundMessage } from "../../runtime-container/plugins/convos/src/inbound-message.ts";
import { decideTurn, namesAgent, wantsAcknowledgement } from "../../runtime-container/plugins/convos/src/room-policy.ts";
import { RoomState } from "../../runtime-container/plugins/convos/src/room-state.ts";
import { tempDir } from "./support.ts";

const AGENT = "agent-inbox";

function room(members = ["maya", "jon"]) {
  const state = new RoomState({ selfName: "Ava" });
  state.ready({ inboxId: AGENT, name: "Weekend plans" });
  for (const id of members) state.member(id, id === "maya" ? "Maya" : "Jon");
  state.rememberOwn("agent-msg-1");
  return state;
}

/** A message as the real CLI prints it (`content` is its display string), read by the plugin. */
function message(content: string, type: keyof typeof CONTENT_TYPES = "text", sender = { id: "maya", name: "Maya" }): InboundMessage {
  return fromServeMessage("conv-1", {
    event: "message", id: "m1", senderInboxId: sender.id, senderProfile: { name: sender.name },
    contentType: CONTENT_TYPES[type], content, sentAt: new Date().toISOString(), deliveryStatus: 1,
  });
}
const text = (content: string) => message(content);
const reaction = (content: string) => message(content, "reaction");
const reply = (content: string) => message(content, "reply");
const update = (content: string) => message(content, "groupUpdated");

describe("what is a turn", () => {
  it("group updates are never turns", () => {
    expect(decideTurn(update("Maya added Jon"), room().facts())).toEqual({ turn: false, reason: "group_update" });
  });

  it("reactions are turns only on the agent's own messages, and never when taken back", () => {
    const facts = room().facts();
    expect(decideTurn(reaction("reacted 👍 to jons-msg"), facts)).toEqual({ turn: false, reason: "reaction_between_others" });
    const onOwn = decideTurn(reaction("reacted 👍 to agent-msg-1"), facts);
    expect(onOwn).toEqual({ turn: true, addressed: true, reason: "reaction_to_agent" });
    expect(wantsAcknowledgement(reaction("reacted 👍 to agent-msg-1"), onOwn)).toBe(false);
    expect(decideTurn(reaction("removed 👍 to agent-msg-1"), facts)).toEqual({ turn: false, reason: "reaction_removed" });
  });

  it("a reply to the agent or a message naming it is addressed and acknowledged", () => {
    const facts = room().facts();
    const toAgent = reply('reply to "Hike at 9?" (agent-msg-1): sounds good');
    const decision = decideTurn(toAgent, facts);
    expect(decision).toEqual({ turn: true, addressed: true, reason: "reply_to_agent" });
    expect(wantsAcknowledgement(toAgent, decision)).toBe(true);
    expect(decideTurn(text("ava, can you book it?"), facts)).toMatchObject({ addressed: true, reason: "names_agent" });
    expect(decideTurn(reply("reply to jons-msg: sounds good"), facts)).toEqual({ turn: true, addressed: false, reason: "ambient" });
  });

  it("ordinary chatter between people is an ambient turn the model may stay silent on", () => {
    const decision = decideTurn(text("Jon, are you driving?"), room().facts());
    expect(decision).toEqual({ turn: true, addressed: false, reason: "ambient" });
    expect(wantsAcknowledgement(text("x"), decision)).toBe(false);
  });

  it("alone with one person, everything they say is addressed to the agent", () => {
    expect(decideTurn(text("what's the weather tomorrow?"), room(["maya"]).facts())).toEqual({ turn: true, addressed: true, reason: "only_person" });
  });

  it("ignores the agent's own messages and empty text", () => {
    expect(decideTurn(message("hi", "text", { id: AGENT, name: "Ava" }), room().facts())).toEqual({ turn: false, reason: "own_message" });
    expect(decideTurn(text("   "), room().facts())).toEqual({ turn: false, reason: "empty" });
  });

  it("recognises the name as a word, not inside another word", () => {
    expect(namesAgent("Hey @Ava!", "Ava")).toBe(true);
    expect(namesAgent("AVA?", "Ava")).toBe(true);
    expect(namesAgent("we went to Java and Avalon", "Ava")).toBe(false);
    expect(namesAgent("ask trip  planner", "Trip Planner")).toBe(true);
    expect(namesAgent("anything", null)).toBe(false);
  });
});

describe("what the agent knows of the room", () => {
  it("follows renames, joins and departures announced by group updates", () => {
    const state = room();
    state.observe(update('Maya changed group name to "Lisbon trip"; Maya added Priya'));
    expect(state.conversationName).toBe("Lisbon trip");
    expect(state.memberNames()).toEqual(["Jon", "Maya", "Priya"]);
    state.observe(update("Jon left the group; Maya removed Priya"));
    expect(state.memberNames()).toEqual(["Maya"]);
    expect(state.facts().memberIds).toEqual(new Set(["maya"]));
  });

  it("counts members known only by name, so a newcomer makes the room a group", () => {
    const state = room(["maya"]);
    state.observe(update("Maya added Priya"));
    expect(decideTurn(text("what's the plan?"), state.facts())).toEqual({ turn: true, addressed: false, reason: "ambient" });
  });

  it("admin changes neither add nor remove members", () => {
    const state = room();
    state.observe(update("Maya made Jon an admin; Maya removed Jon as admin"));
    expect(state.memberNames()).toEqual(["Jon", "Maya"]);
  });

  it("learns names from senders and its own name from profile updates", () => {
    const state = room([]);
    state.observe(message("hi", "text", { id: "priya", name: "Priya" }));
    state.member(AGENT, "Ava 2");
    expect(state.memberNames()).toEqual(["Priya"]);
    expect(state.selfName).toBe("Ava 2");
  });
});

describe("markdown becomes readable plain text", () => {
  it("drops emphasis and heading markers, keeps lists and links readable", () => {
    const md = [
      "## Plan for **Saturday**",
      "",
      "- Hike at *9*, meet at the [trailhead](https://maps.example/t)",
      "* Lunch: __market__ ~~or pier~~",
      "1. Bring `sunscreen_spf50`",
      "",
      "",
      "> check the weather",
      "---",
      "See <https://weather.example> or https://x.example/a_b_c",
    ].join("\n");
    expect(markdownToPlainText(md)).toBe([
      "Plan for Saturday",
      "",
      "• Hike at 9, meet at the trailhead (https://maps.example/t)",
      "• Lunch: market or pier",
      "1. Bring sunscreen_spf50",
      "",
      "│ check the weather",
      "See https://weather.example or https://x.example/a_b_c",
    ].join("\n"));
  });

  it("keeps code verbatim and turns tables into rows", () => {
    expect(markdownToPlainText("```js\nconst a = **b**;\n```")).toBe("const a = **b**;");
    expect(markdownToPlainText("| Day | Plan |\n|---|---|\n| Sat | **Hike** |")).toBe("Day · Plan\nSat · Hike");
  });

  it("leaves plain text, snake_case and arithmetic alone", () => {
    for (const s of ["Meet at 9, ok?", "file_name_v2.txt", "2 * 3 * 4 = 24", "a_b and c_d"]) expect(markdownToPlainText(s)).toBe(s);
  });
});

describe("the greeting", () => {
  it("says who the agent is, its brief and how to reach it", () => {
    expect(greetingText("Ava", "Help the group plan trips. Keep a shared list.")).toBe(
      'Hi everyone, I\'m Ava, an AI agent in this chat. My brief: Help the group plan trips. Say "Ava" or reply to one of my messages when you need me.',
    );
    expect(greetingText(null, "")).toBe("Hi everyone, I'm an AI agent in this chat. Reply to one of my messages when you need me.");
    expect(briefFromInstructions("# Role\n- " + "x".repeat(300))!.length).toBeLessThanOrEqual(160);
  });

  it("is recorded once per conversation on disk", () => {
    const dir = tempDir("greeting");
    const marker = GreetingMarker.besideBinding(path.join(dir, "convos-binding.json"));
    expect(marker.greeted("c1")).toBe(false);
    marker.record("c1", "msg-1");
    expect(new GreetingMarker(marker.file).greeted("c1")).toBe(true);
    expect(marker.greeted("c2")).toBe(false);
    expect(fs.readdirSync(dir)).toEqual(["convos-greeting.json"]);
  });
});
