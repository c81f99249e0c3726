// Which skill tags the catalog may show for a template: only those whose capability the pool's
// instances really report in /pool/health. A template can ask for browsing; the catalog says
// "Web browsing" only while the agents a claim would hand out can browse.
import { isCapability } from "../../runtime-container/contract/pool-runtime";

/** Operator tags that name a runtime skill rather than a capability id. */
const TAG_CAPABILITY: Record<string, string> = {
  agentmail: "email",
  "telnyx-cli": "sms",
  bankr: "payments",
  browser: "browser",
};

export function tagCapability(tag: string): string | null {
  if (TAG_CAPABILITY[tag]) return TAG_CAPABILITY[tag];
  return isCapability(tag) ? tag : null;
}

/**
 * What every reporting instance has (the agent a claim gets is any one of them). Instances that
 * have not reported yet do not count; none reporting means nothing can be promised.
 */
export function fleetCapabilities(reports: ReadonlyArray<readonly string[] | null>): Set<string> {
  const known = reports.filter((r): r is readonly string[] => Array.isArray(r));
  if (known.length === 0) return new Set();
  return new Set(known[0]!.filter((c) => known.every((r) => r.includes(c))));
}

export function advertisedSkills(tags: readonly string[], fleet: ReadonlySet<string>): string[] {
  return tags.filter((tag) => {
    const capability = tagCapability(tag);
    return capability !== null && fleet.has(capability);
  });
}
