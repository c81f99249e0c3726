import { readFileSync } from "node:fs";
import { buildClientSchema, type GraphQLEnumType, type IntrospectionQuery, parse, validate } from "graphql";
import { describe, expect, it } from "vitest";
import { RAILWAY_STATE } from "../../worker/providers/compute/railway";
import { DEPLOYMENT_STATUSES, RAILWAY_DOCUMENTS } from "../../worker/providers/railway/client";

const introspection = JSON.parse(readFileSync(new URL("../support/fixtures/railway/schema.json", import.meta.url), "utf8")) as { data: IntrospectionQuery };
// Railway's published schema trips one of graphql-js 17's schema-definition rules (a deprecated
// Team.id implementing a non-deprecated Node.id). That is their schema's quirk, not our
// documents' problem, so the schema itself is taken as valid and only documents are checked.
const schema = buildClientSchema(introspection.data, { assumeValid: true });

describe("Railway GraphQL documents against Railway's schema", () => {
  for (const [name, document] of Object.entries(RAILWAY_DOCUMENTS)) {
    it(`${name} validates`, () => {
      const errors = validate(schema, parse(document));
      expect(errors.map((e) => e.message)).toEqual([]);
    });
  }

  it("a renamed field would fail: the check is not vacuous", () => {
    const broken = RAILWAY_DOCUMENTS.PROJECT_SERVICES.replace("latestDeployment", "lastDeployment");
    expect(validate(schema, parse(broken)).length).toBeGreaterThan(0);
  });

  it("serviceCreate takes the image source and the variables in the same input", () => {
    const input = schema.getType("ServiceCreateInput") as unknown as { getFields(): Record<string, { type: { toString(): string } }> };
    const fields = input.getFields();
    expect(fields.variables?.type.toString()).toBe("EnvironmentVariables");
    expect(fields.source?.type.toString()).toBe("ServiceSourceInput");
  });

  it("a volume is created attached to a service at a mount path, and a service deploys on request", () => {
    const fields = (name: string) => (schema.getType(name) as unknown as { getFields(): Record<string, { type: { toString(): string } }> }).getFields();
    expect(fields("VolumeCreateInput").serviceId?.type.toString()).toBe("String");
    expect(fields("VolumeCreateInput").mountPath?.type.toString()).toBe("String!");
    expect(fields("ServiceInstanceUpdateInput").source?.type.toString()).toBe("ServiceSourceInput");
    const mutations = schema.getMutationType()!.getFields();
    expect(mutations.serviceInstanceDeployV2?.args.map((a) => `${a.name}: ${a.type}`)).toEqual(expect.arrayContaining(["serviceId: String!", "environmentId: String!"]));
    // Our create document carries no source: nothing may deploy before the volume is attached.
    expect(RAILWAY_DOCUMENTS.SERVICE_CREATE).not.toMatch(/source/);
  });

  it("every DeploymentStatus Railway defines is mapped, and nothing else", () => {
    const statuses = (schema.getType("DeploymentStatus") as GraphQLEnumType)
      .getValues()
      .map((v) => v.name)
      .sort();
    expect([...DEPLOYMENT_STATUSES].sort()).toEqual(statuses);
    expect(Object.keys(RAILWAY_STATE).sort()).toEqual(statuses);
    expect(RAILWAY_STATE.SLEEPING).toBe("sleeping");
  });
});
