// The catalog's skill tags as a plain decision: a template's tags, kept only when every
// instance that reported its capabilities has the capability behind the tag.
import { describe, expect, it } from "vitest";
import { advertisedSkills, fleetCapabilities, tagCapability } from "../../../worker/domain/advertised-skills";

describe("advertised skills", () => {
  it("maps skill tags to capability ids, and knows capability ids themselves", () => {
    expect(tagCapability("agentmail")).toBe("email");
    expect(tagCapability("telnyx-cli")).toBe("sms");
    expect(tagCapability("browser")).toBe("browser");
    expect(tagCapability("web-search")).toBe("web-search");
    expect(tagCapability("juggling")).toBeNull();
  });

  it("promises only what every reporting instance has; nothing before any report", () => {
    expect([...fleetCapabilities([])]).toEqual([]);
    expect([...fleetCapabilities([null, null])]).toEqual([]);
    expect([...fleetCapabilities([["email", "scheduling"], null, ["scheduling", "browser"]])]).toEqual(["scheduling"]);
  });

  it("drops tags whose capability is missing, and tags nobody can provide", () => {
    const fleet = new Set(["scheduling", "email"]);
    expect(advertisedSkills(["agentmail", "browser", "scheduling", "juggling"], fleet)).toEqual(["agentmail", "scheduling"]);
    expect(advertisedSkills(["agentmail"], new Set())).toEqual([]);
  });
});
