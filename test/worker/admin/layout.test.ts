import { describe, expect, it } from "vitest";
import { duration } from "../../../worker/admin/format";
import { parseAdminUrls } from "../../../worker/admin/layout";
import { login } from "./helpers";

describe("environment switcher", () => {
  it("links the other environments' admin URLs, marks the current one, and drops anything that is not http(s)", () => {
    const links = parseAdminUrls(
      "dev=https://dev.example/admin, staging=https://staging.example/admin,evil=javascript:alert(1),broken=not a url,=https://nameless.example,production=https://prod.example/admin",
      "staging",
    );
    expect(links).toEqual([
      { name: "dev", url: "https://dev.example/admin", current: false },
      { name: "staging", url: "https://staging.example/admin", current: true },
      { name: "production", url: "https://prod.example/admin", current: false },
    ]);
    expect(parseAdminUrls("", "dev")).toEqual([]);
  });

  it("always shows the environment name, even with no other environments configured", async () => {
    const op = await login("10.20.0.1");
    const page = await op.get("/admin");
    expect(page.html).toMatch(/data-testid="environment">local</);
    expect(page.html).not.toContain('aria-label="Environments"');
  });
});

describe("admin formatting", () => {
  it("shows durations the way an operator reads them", () => {
    expect(duration(42_000)).toBe("42s");
    expect(duration(15 * 60_000)).toBe("15m");
    expect(duration(61_000)).toBe("1m 1s");
    expect(duration(3 * 3_600_000 + 5 * 60_000)).toBe("3h 5m");
    expect(duration(3 * 86_400_000)).toBe("3d");
    expect(duration(-5)).toBe("0s");
  });

  it("redirects /admin/ to /admin", async () => {
    const op = await login("10.20.0.2");
    const res = await op.get("/admin/");
    expect(res.status).toBe(303);
    expect(res.res.headers.get("location")).toBe("/admin");
  });
});
