import type { InstanceView } from "../api/schemas";
import type { InstanceRow } from "../db/schema";

/** The API's view of an instance: everything an operator needs, no token, key or key hash. */
export function instanceView(row: InstanceRow): InstanceView {
  return {
    id: row.id,
    status: row.status,
    statusReason: row.statusReason,
    statusChangedAt: row.statusChangedAt,
    deadlineAt: row.deadlineAt,
    createdAt: row.createdAt,
    readyAt: row.readyAt,
    provider: row.provider,
    serviceName: row.serviceName,
    serviceId: row.serviceId,
    url: row.url,
    deploymentStatus: row.deploymentStatus,
    runtimeVersion: row.runtimeVersion,
    image: row.image,
    upgrade: row.status === "upgrading" && row.upgradePhase ? { image: row.upgradeImage, previousImage: row.upgradePreviousImage, phase: row.upgradePhase } : null,
    lastError: row.lastError,
    agentName: row.agentName,
    template: row.template,
    conversationId: row.conversationId,
    inviteUrl: row.inviteUrl,
    joined: row.joined,
    claimStatus: row.claimStatus,
    claimedAt: row.claimedAt,
    degraded: row.degradedSince !== null ? { since: row.degradedSince, reason: row.degradedReason ?? "" } : null,
    creditsExhaustedAt: row.creditsExhaustedAt,
    resources: {
      openrouterKey: row.openrouterKeyHash !== null,
      agentmailInbox: row.agentmailInboxId,
      phoneNumber: row.phoneNumber,
      volume: row.volumeId,
    },
  };
}
