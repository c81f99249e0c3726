import { z } from "zod";
import type { InstanceRow } from "../../db/schema";
import { createHttpClient, type HttpTuning } from "../http";
import type { InstanceResource } from "../resources";

/** AgentMail (https://api.agentmail.to/v0): one inbox per instance. */
export const AGENTMAIL_BASE_URL = "https://api.agentmail.to";

const InboxSchema = z.object({
  pod_id: z.string(),
  inbox_id: z.string(),
  // Newer API versions add `email`; older ones only have the address as inbox_id.
  email: z.string().optional(),
  display_name: z.string().nullish(),
  client_id: z.string().nullish(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Inbox = z.infer<typeof InboxSchema>;

export function createAgentMailClient(opts: { apiKey: string } & HttpTuning) {
  const http = createHttpClient({ provider: "agentmail", baseUrl: AGENTMAIL_BASE_URL, headers: { authorization: `Bearer ${opts.apiKey}` }, ...opts });
  return {
    async createInbox(input: { username: string; domain?: string; displayName?: string; clientId: string }): Promise<Inbox> {
      const res = await http.request({
        method: "POST",
        path: "/v0/inboxes",
        body: {
          username: input.username,
          ...(input.domain ? { domain: input.domain } : {}),
          ...(input.displayName ? { display_name: input.displayName } : {}),
          client_id: input.clientId,
        },
        schema: InboxSchema,
        // client_id makes a repeated create return the same inbox instead of a second one.
        idempotent: true,
        what: "create inbox",
      });
      return res.data;
    },
    /** Deletes an inbox; one that is already gone counts as deleted. */
    async deleteInbox(inboxId: string): Promise<void> {
      await http.request({ method: "DELETE", path: `/v0/inboxes/${encodeURIComponent(inboxId)}`, accept: [404], what: "delete inbox" });
    },
  };
}

export type AgentMailClient = ReturnType<typeof createAgentMailClient>;

/** Local part of the instance's address: its service name, so an inbox traces back to its row. */
export function inboxUsername(row: Pick<InstanceRow, "serviceName">): string {
  return row.serviceName
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .slice(0, 64);
}

/**
 * `apiKey` goes to the instance too: the runtime's agentmail skill sends and reads mail with it
 * (runtime-container/README.md), and AgentMail keys are not scoped to one inbox.
 */
export function agentMailResource(client: AgentMailClient, domain: string | undefined, apiKey: string): InstanceResource {
  return {
    name: "agentmail",
    async provision(row, record) {
      const username = inboxUsername(row);
      // The address is known before the call: record it first so cleanup can always delete it.
      const expected = `${username}@${domain || "agentmail.to"}`;
      await record({ agentmailInboxId: expected });
      const inbox = await client.createInbox({ username, domain, clientId: row.id, displayName: `Convos agent ${row.id}` });
      if (inbox.inbox_id !== expected) await record({ agentmailInboxId: inbox.inbox_id });
      return { AGENTMAIL_INBOX: inbox.email ?? inbox.inbox_id, AGENTMAIL_API_KEY: apiKey };
    },
    async release(row) {
      if (!row.agentmailInboxId) return {};
      await client.deleteInbox(row.agentmailInboxId);
      return { agentmailInboxId: null };
    },
  };
}
