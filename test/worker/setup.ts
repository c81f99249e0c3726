import { abortAllDurableObjects, applyD1Migrations, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach } from "vitest";
import { coordinatorStub, resetFakes } from "./helpers";

/**
 * Every test starts from an empty pool: D1 migrated with only the seed data, a coordinator
 * with empty storage, no alarm and no memory, and fakes with no services.
 */
beforeEach(async () => {
  await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
  const tables = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name <> 'd1_migrations'").all<{ name: string }>();
  await env.DB.batch(tables.results.map((t) => env.DB.prepare(`DELETE FROM "${t.name}"`)));
  const seeds = env.TEST_MIGRATIONS.filter((m) => /seed/.test(m.name)).flatMap((m) => m.queries);
  if (seeds.length) await env.DB.batch(seeds.map((q) => env.DB.prepare(q)));

  await runInDurableObject(coordinatorStub(), async (_instance, state) => {
    await state.storage.deleteAlarm();
    await state.storage.deleteAll();
  });
  await abortAllDurableObjects();
  await resetFakes();
});
