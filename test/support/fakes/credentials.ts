/**
 * Credentials the fakes accept. Tests hand these to the Worker's env; any other value gets
 * the provider's real "unauthorized" answer. Kept free of Node imports: Workers-runtime tests
 * import it too.
 */
export const FAKE_CREDENTIALS = {
  RAILWAY_API_TOKEN: "railway-secret-token-7f3a9c1e5b",
  RAILWAY_PROJECT_ID: "a1b2c3d4-0000-4000-8000-000000000001",
  RAILWAY_ENVIRONMENT_ID: "a1b2c3d4-0000-4000-8000-000000000002",
  RAILWAY_RUNTIME_IMAGE: `ghcr.io/convos/agent-runtime@sha256:${"c0ffee".repeat(10)}abcd`,
  OPENROUTER_MANAGEMENT_KEY: "sk-or-v1-management-secret-4b8d2e6f",
  AGENTMAIL_API_KEY: "am_secret_key_9e1d7c3b5a",
  AGENTMAIL_DOMAIN: "agents.example.com",
  TELNYX_API_KEY: "KEY_telnyx_secret_3c5e7a9b1d",
  TELNYX_MESSAGING_PROFILE_ID: "40017f2a-0000-4000-8000-00000000beef",
  BANKR_API_KEY: "bk_shared_secret_6a2c8e4f0b",
  NOTION_API_KEY: "ntn_secret_5d9b3f7a1c",
} as const;

/** The control host of the provider fakes (state, reset, fault injection). */
export const FAKES_CONTROL = "http://fakes.test";
