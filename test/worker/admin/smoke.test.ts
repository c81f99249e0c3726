import { describe, expect, it } from "vitest";
import { admin, login, text } from "./helpers";

describe("admin smoke", () => {
  it("renders the login page and the overview", async () => {
    const res = await admin("/admin/login");
    expect(res.status).toBe(200);
    const op = await login();
    const page = await op.get("/admin");
    expect(page.status).toBe(200);
    expect(text(page.html)).toContain("Pool overview");
  });
});
