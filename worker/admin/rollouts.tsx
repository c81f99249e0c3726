import { Hono } from "hono";
import { InstanceIdSchema } from "../api/schemas";
import { coordinator } from "../coordinator";
import { database } from "../db/client";
import { listNotDeleted } from "../db/instances";
import { DesiredImageRequestSchema, imageLabel, type RolloutAction } from "../domain/rollout";
import { instanceView } from "../instances/view";
import { type AdminContext, type AdminEnv, messagePage, pageContext, redirectWithFlash, takeFlash } from "./kit";
import type { FormState } from "./pages/common";
import { RolloutsPage } from "./pages/rollouts";

/**
 * /admin/rollouts: the desired image, the rollout's progress and its controls, and the claimed
 * instances to upgrade. Mounted from routes.tsx behind the dashboard's session and CSRF checks;
 * every action goes to the coordinator like the bearer API's.
 */
export const rolloutAdminRoutes = new Hono<AdminEnv>();

async function render(c: AdminContext, status: 200 | 400 = 200, form?: FormState) {
  const [progress, rows] = await Promise.all([coordinator(c.env).rolloutProgress(), listNotDeleted(database(c.env.DB))]);
  const toUpgrade = rows
    .filter((r) => (r.status === "claimed" && r.image !== progress.desiredImage) || r.status === "upgrading")
    .sort((a, b) => (a.claimedAt ?? 0) - (b.claimedAt ?? 0))
    .map(instanceView);
  return c.html(<RolloutsPage ctx={pageContext(c)} data={{ progress, toUpgrade }} form={form} flash={status === 200 ? await takeFlash(c) : null} />, status);
}

rolloutAdminRoutes.get("/", (c) => render(c));

rolloutAdminRoutes.post("/image", async (c) => {
  const form = c.get("form");
  const values = { image: (form.image ?? "").trim(), batchSize: (form.batchSize ?? "").trim() };
  const batch = values.batchSize === "" ? undefined : Number(values.batchSize);
  const parsed = DesiredImageRequestSchema.safeParse({ image: values.image, ...(batch === undefined ? {} : { batchSize: batch }) });
  if (!parsed.success) {
    const errors: Record<string, string> = {};
    for (const issue of parsed.error.issues) errors[String(issue.path[0] ?? "image")] ??= issue.path[0] === "batchSize" ? "A whole number from 1 to 20." : "Enter the image.";
    return render(c, 400, { values, errors, error: "Nothing was started." });
  }
  const out = await coordinator(c.env).setDesiredImage(parsed.data.image, parsed.data.batchSize, "admin");
  if (!out.ok) return render(c, 400, { values, errors: { image: out.message }, error: "Nothing was started." });
  return redirectWithFlash(c, "/admin/rollouts", { kind: "ok", text: `Rolling out ${imageLabel(out.rollout.targetImage)}, ${out.rollout.batchSize} at a time.` });
});

for (const action of ["pause", "resume", "rollback"] as const satisfies RolloutAction[]) {
  rolloutAdminRoutes.post(`/${action}`, async (c) => {
    const out = await coordinator(c.env).rolloutAction(action, "admin");
    if (!out.ok) return messagePage(c, 409, `Could not ${action}`, out.message);
    return redirectWithFlash(c, "/admin/rollouts", { kind: "ok", text: `Rollout ${out.rollout.state.replace("_", " ")}.` });
  });
}

rolloutAdminRoutes.post("/upgrade-claimed", async (c) => {
  const out = await coordinator(c.env).upgradeAllClaimed("admin");
  if (!out.ok) return messagePage(c, 409, "Could not upgrade claimed instances", out.message);
  return redirectWithFlash(c, "/admin/rollouts", { kind: "ok", text: `Claimed instances will be upgraded ${out.rollout.batchSize} at a time.` });
});

rolloutAdminRoutes.post("/instances/:id/upgrade", async (c) => {
  const id = InstanceIdSchema.safeParse(c.req.param("id"));
  if (!id.success) return messagePage(c, 400, "Not an instance id", "Instance ids are lowercase letters, digits and dashes.");
  const out = await coordinator(c.env).upgradeInstance(id.data, undefined, "admin");
  if (!out.ok) return messagePage(c, out.code === "not_found" ? 404 : out.code === "invalid_image" ? 400 : 409, "Could not upgrade", out.message);
  return redirectWithFlash(c, "/admin/rollouts", { kind: "ok", text: `Upgrading ${id.data} to ${imageLabel(out.image)}: it is redeployed with its volume.` });
});
