// Group operations shared by the one-shot commands, `agent serve` and the fake-only
// commands: creating a group the way conversations/create.js does, building invites with the
// real CLI's own utils/invite.js, and the owner's side of join requests.
import { emojiForIdentifier } from "@xmtp/convos-cli/utils/emoji";
import { randomAlphanumeric } from "@xmtp/convos-cli/utils/random";
import { type Content, hex, isMember, mayAddMembers, type Group, type JoinRequest, type Network } from "./network.ts";

/** cli-protocol.ts CONTENT_TYPES, loaded only by commands that write messages (zod is slow to load). */
export async function contentTypes() {
  return (await import("../../plugins/convos/src/cli-protocol.ts")).CONTENT_TYPES;
}
export type ContentTypes = Awaited<ReturnType<typeof contentTypes>>;

type GroupUpdated = Extract<Content, { kind: "group_updated" }>;

/** A group_updated message: who made the change and what changed, every other list empty (as libxmtp's GroupUpdated carries one change). */
export function groupUpdated(initiatedByInboxId: string, change: Partial<Omit<GroupUpdated, "kind" | "initiatedByInboxId">>): GroupUpdated {
  return { kind: "group_updated", initiatedByInboxId, added: [], removed: [], left: [], fieldChanges: [], ...change };
}

export const AGENT_MEMBER_KIND = 1; // utils/profileMessages.js MemberKind.Agent

export function createGroup(network: Network, creatorInboxId: string, opts: { name?: string; description?: string; imageUrl?: string; permissions?: string }): Group {
  const id = hex(16);
  const now = new Date().toISOString();
  const group: Group = {
    id,
    name: opts.name ?? "",
    description: opts.description ?? "",
    imageUrl: opts.imageUrl ?? "",
    createdAt: now,
    creatorInboxId,
    permissions: opts.permissions === "admin-only" ? "admin-only" : "all-members",
    addMemberPolicy: "allow",
    appData: { tag: randomAlphanumeric(10), emoji: emojiForIdentifier(id) },
    members: [{ inboxId: creatorInboxId, role: "super_admin", addedAt: now }],
  };
  network.saveGroup(group);
  return group;
}

export function inviteBaseUrl(env: string): string {
  return env === "production" ? "https://popup.convos.org/v2" : "https://dev.convos.org/v2";
}

/** utils/invite.js createInviteSlug(), signed by the inviter's wallet key. */
export async function makeInvite(group: Group, inviterInboxId: string, walletKey: string, env: string, opts: { expiresAt?: Date; expiresAfterUse?: boolean; includeMetadata?: boolean } = {}) {
  const { createInviteSlug } = await import("@xmtp/convos-cli/utils/invite");
  const withMeta = opts.includeMetadata ?? true;
  const slug: string = await createInviteSlug(group.id, inviterInboxId, group.appData.tag!, walletKey, {
    name: withMeta ? group.name || undefined : undefined,
    description: withMeta ? group.description || undefined : undefined,
    emoji: group.appData.emoji || undefined,
    ...(opts.expiresAt && { expiresAt: opts.expiresAt }),
    ...(opts.expiresAfterUse && { expiresAfterUse: true }),
  });
  return { slug, url: `${inviteBaseUrl(env)}?i=${encodeURIComponent(slug)}`, tag: group.appData.tag! };
}

/**
 * The creator's side (serve.js processJoinMessage): decrypt the invite's conversation token
 * with the creator's key, honour it only for the current tag and while adding members is
 * allowed, then add the joiner and announce it with a group_updated message.
 */
export async function acceptJoinRequest(network: Network, request: JoinRequest, creatorWalletKey: string, boundConversationId?: string): Promise<Group | null> {
  const { decryptConversationToken } = await import("@xmtp/convos-cli/utils/invite");
  let conversationId: string;
  try {
    conversationId = decryptConversationToken(Buffer.from(request.conversationToken, "hex"), request.creatorInboxId, Buffer.from(creatorWalletKey.replace("0x", ""), "hex"));
  } catch {
    return null;
  }
  if (boundConversationId && conversationId !== boundConversationId) return null;
  const group = network.group(conversationId);
  if (!group) return null;
  if (group.appData.tag && request.tag !== group.appData.tag) return null;
  if (isMember(group, request.joinerInboxId)) return group;
  if (!mayAddMembers(group, request.creatorInboxId)) return null;
  const updated = network.updateGroup(group.id, (g) => {
    g.members.push({ inboxId: request.joinerInboxId, role: "member", addedAt: new Date().toISOString() });
  });
  const CT = await contentTypes();
  network.append(group.id, request.creatorInboxId, CT.groupUpdated, groupUpdated(request.creatorInboxId, { added: [request.joinerInboxId] }));
  return updated;
}

/** Join requests to app owners the model plays: their app accepts once `acceptAt` has passed. */
export async function settleSimulatedOwners(network: Network): Promise<void> {
  const due = network.joinRequests().filter((r) => r.state === "pending" && r.acceptAt !== null && r.acceptAt <= Date.now());
  for (const request of due) {
    const owner = network.simulated(request.creatorInboxId);
    if (!owner) continue;
    const group = await acceptJoinRequest(network, request, owner.walletKey);
    network.updateJoinRequests((all) => {
      const r = all.find((x) => x.id === request.id);
      if (r) r.state = group ? "accepted" : "ignored";
    });
  }
}
