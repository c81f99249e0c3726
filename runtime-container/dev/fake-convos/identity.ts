// identity create|list|info|remove and reset, modelled on commands/identity/*.js and
// commands/reset.js. create, list, remove and reset work offline, as in the real CLI.
import fs from "node:fs";
import path from "node:path";
import type { IdentityCreateResult, IdentityInfoResult, IdentityListResult, ResetResult } from "../../plugins/convos/src/cli-protocol.ts";
import { bool, str } from "./argv.ts";
import { record } from "./control.ts";
import { addressOf } from "./install.ts";
import { commandError, commandStart, connect, output, type Session } from "./session.ts";

// commands/identity/create.js
export async function identityCreate(s: Session): Promise<void> {
  await commandStart(s);
  if (s.install.store.exists()) {
    throw commandError("An identity already exists for this install. Use 'convos identity info' to view it, or 'convos identity remove' to replace it.");
  }
  const identity = s.install.store.loadOrUpsert({ label: str(s.flags, "label"), profileName: str(s.flags, "profile-name") });
  record(s.home, { kind: "identity_created", identityId: identity.id, profileName: identity.profileName ?? null });
  const result: IdentityCreateResult = {
    id: identity.id,
    address: addressOf(identity.walletKey),
    label: identity.label ?? "",
    profileName: identity.profileName ?? "",
    createdAt: identity.createdAt,
    message: "Identity created. Start using it with: convos conversations create",
  };
  output(s, result);
}

// commands/identity/list.js
export async function identityList(s: Session): Promise<void> {
  await commandStart(s);
  const identity = s.install.store.load();
  const result: IdentityListResult = identity
    ? [
        {
          id: identity.id,
          address: addressOf(identity.walletKey),
          inboxId: identity.inboxId ?? "(not yet registered)",
          label: identity.label ?? "",
          profileName: identity.profileName ?? "",
          createdAt: identity.createdAt,
        },
      ]
    : { message: "No identity found. Create one with: convos identity create", count: 0 };
  output(s, result);
}

// commands/identity/info.js: opens the XMTP client, so it registers the inbox (network).
export async function identityInfo(s: Session): Promise<void> {
  if (!s.install.store.exists()) {
    await commandStart(s);
    throw commandError("No identity found. Create one with: convos identity create");
  }
  const { identity, db, address } = await connect(s);
  const properties = {
    id: identity.id,
    address,
    inboxId: db.inboxId,
    installationId: db.installationId,
    isRegistered: true,
    label: identity.label ?? "",
    profileName: identity.profileName ?? "",
    createdAt: identity.createdAt,
  };
  const client = { env: s.env, libxmtpVersion: "fake-convos", appVersion: `convos-cli/0.10.15` };
  if (s.json) {
    const result: IdentityInfoResult = { properties, client };
    output(s, result);
  } else {
    output(s, { ...properties, ...client });
  }
}

// commands/identity/remove.js
export async function identityRemove(s: Session): Promise<void> {
  await commandStart(s);
  const identity = s.install.store.load();
  if (!identity) throw commandError("No identity found.");
  if (!bool(s.flags, "force")) throw commandError("Cannot confirm in non-interactive terminal. Use --force to skip confirmation.");
  s.install.store.delete();
  output(s, { success: true, removedIdentityId: identity.id });
}

// commands/reset.js
export async function reset(s: Session): Promise<void> {
  await commandStart(s);
  const identity = s.install.store.load();
  const dbDir = path.join(s.home, "db");
  let dbFileCount = 0;
  if (fs.existsSync(dbDir)) {
    for (const envDir of fs.readdirSync(dbDir)) {
      try {
        dbFileCount += fs.readdirSync(path.join(dbDir, envDir)).length;
      } catch {
        // not a directory
      }
    }
  }
  const legacyDir = path.join(s.home, "identities");
  const legacyCount = fs.existsSync(legacyDir) ? fs.readdirSync(legacyDir).filter((f) => f.endsWith(".json")).length : 0;
  if (!identity && dbFileCount === 0 && legacyCount === 0) {
    const result: ResetResult = { success: true, message: "Nothing to reset — no identity or databases found." };
    return output(s, result);
  }
  if (!bool(s.flags, "force")) throw commandError("Cannot confirm in non-interactive terminal. Use --force to skip confirmation.");
  if (identity) s.install.store.delete();
  fs.rmSync(legacyDir, { recursive: true, force: true });
  fs.rmSync(dbDir, { recursive: true, force: true });
  record(s.home, { kind: "reset", identityRemoved: Boolean(identity), dbFilesRemoved: dbFileCount });
  const result: ResetResult = {
    success: true,
    identityRemoved: Boolean(identity),
    legacyIdentitiesRemoved: legacyCount,
    dbFilesRemoved: dbFileCount,
    message: "Identity and conversation data have been destroyed. Your .env configuration has been preserved.",
  };
  output(s, result);
}
