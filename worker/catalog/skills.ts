import { CAPABILITY_LABELS, isCapability } from "../../runtime-container/contract/pool-runtime";

/**
 * What each runtime skill means to someone choosing an agent. Unknown skills (an operator
 * can tag anything) fall back to their raw name, so a new skill never breaks the catalog.
 */
const SKILLS: Record<string, { label: string; blurb: string }> = {
  agentmail: { label: "Email", blurb: "Has its own inbox: sends and reads email for the group." },
  browser: { label: "Web browsing", blurb: "Looks things up on the web and reads pages for you." },
  "telnyx-cli": { label: "SMS & calls", blurb: "Has a US phone number to text businesses and people." },
  bankr: { label: "Payments", blurb: "Can check balances and move money through Bankr when asked." },
};

export function skillLabel(skill: string): string {
  return SKILLS[skill]?.label ?? (isCapability(skill) ? CAPABILITY_LABELS[skill] : skill);
}

export function skillBlurb(skill: string): string | null {
  return SKILLS[skill]?.blurb ?? null;
}
