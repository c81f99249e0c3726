// One install (convos home): the real CLI's identity store (its own utils/identities.js:
// identity.json, same fields, same lock) and the model's stand-in for the XMTP database at the
// path the real client uses (<home>/db/<env>/main.db3): the inbox registration and the groups
// this install has synced.
import fs from "node:fs";
import path from "node:path";
import { createIdentityStore, type Identity } from "@xmtp/convos-cli/utils/identities";
import { privateKeyToAccount } from "viem/accounts";
import { inboxIdFor, hex, type Network } from "./network.ts";

export type Env = "local" | "dev" | "production";
export type LocalDb = { inboxId: string; installationId: string; groups: Record<string, { syncedAt: string; joinedAtNs: string }> };

export class Install {
  readonly home: string;
  readonly env: Env;
  readonly store: ReturnType<typeof createIdentityStore>;
  constructor(home: string, env: Env) {
    this.home = home;
    this.env = env;
    this.store = createIdentityStore(home);
  }

  get dbPath(): string {
    return path.join(this.home, "db", this.env, "main.db3");
  }

  db(): LocalDb | null {
    try {
      return JSON.parse(fs.readFileSync(this.dbPath, "utf8")) as LocalDb;
    } catch {
      return null;
    }
  }

  saveDb(db: LocalDb): void {
    fs.mkdirSync(path.dirname(this.dbPath), { recursive: true });
    const tmp = `${this.dbPath}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(db, null, 2));
    fs.renameSync(tmp, this.dbPath);
  }

  /** utils/client.js getClient(): identity loaded or created, inbox registered, DB opened. */
  client(): { identity: Identity; db: LocalDb; address: string } {
    const identity = this.store.loadOrUpsert();
    const address = privateKeyToAccount(identity.walletKey as `0x${string}`).address;
    let db = this.db();
    if (!db) {
      db = { inboxId: inboxIdFor(address), installationId: hex(32), groups: {} };
      this.saveDb(db);
    }
    const stored = this.store.load();
    if (!stored?.inboxId) this.store.update({ inboxId: db.inboxId });
    return { identity: this.store.load()!, db, address };
  }

  /** Pulls welcomes: groups of the network this inbox is a member of become known locally. */
  sync(network: Network, db: LocalDb, groupIds: string[]): LocalDb {
    let changed = false;
    for (const id of groupIds) {
      const group = network.group(id);
      if (!group || db.groups[id]) continue;
      const me = group.members.find((m) => m.inboxId === db.inboxId);
      if (!me) continue;
      db.groups[id] = { syncedAt: new Date().toISOString(), joinedAtNs: (BigInt(Date.parse(me.addedAt)) * 1_000_000n).toString() };
      changed = true;
    }
    if (changed) this.saveDb(db);
    return db;
  }
}

export function addressOf(walletKey: string): string {
  return privateKeyToAccount(walletKey as `0x${string}`).address;
}
