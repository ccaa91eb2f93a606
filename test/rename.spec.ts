/**
 * Renaming a tenant (`renamedFrom`): a move in Pulumi's state, not a replacement. The tenant
 * component carries an alias from its former name; the engine gives every child whose name starts
 * with the component's name the same alias with the prefix swapped (pulumi v3.274.1,
 * pkg/resource/deploy/step_generator.go, inheritedChildAlias), and the Kubernetes children are
 * named by Kubernetes identities that keep the former name. The real tier renames a tenant and
 * previews no change (test/real/fleet.spec.ts, 5d).
 */
import { strict as assert } from "assert";
import { ConfigError, parseFleetConfig } from "../components/config";
import { Registered, RunResult, runProgram, stackConfig } from "./harness";

const TENANT = "fleet:tenant:Tenant";

function ok(result: RunResult): RunResult {
  assert.equal(result.error, undefined, result.error?.message);
  return result;
}

/** The URN a resource had under the former name, as the engine's inherited aliases compute it. */
function formerUrn(r: Registered, newName: string, oldName: string): string {
  const i = r.urn.lastIndexOf("::");
  const name = r.urn.slice(i + 2);
  return name.startsWith(newName) ? `${r.urn.slice(0, i + 2)}${oldName}${name.slice(newName.length)}` : r.urn;
}

describe("Renaming a tenant: renamedFrom moves it in state and changes no live object", () => {
  const config = (tenants: unknown[]) => ({ ...stackConfig("staging"), "fleet:repository": { create: true, team: "platform" }, "fleet:tenants": tenants });

  it("every resource of the renamed tenant maps onto the former one's URN, with the same inputs", async () => {
    // Outputs of the providers stay unknown (a preview): the mocks would name generated keys after
    // the resource, where the engine keeps the aliased resource's key.
    const run = (tenant: object) => runProgram({ stack: "staging", config: config([tenant]), computed: false, preview: true });
    const before = ok(await run({ name: "shop", team: "shop-devs", quota: { cpu: "2" } }));
    const after = ok(await run({ name: "storefront", renamedFrom: "shop", team: "shop-devs", quota: { cpu: "2" } }));
    const old = new Map(before.resources.map((r) => [r.urn, r]));
    const tenant = after.resources.find((r) => r.type === TENANT && r.name === "storefront")!;
    assert.deepEqual(tenant.aliases, [{ name: "shop" }], "the component's alias: its former name");
    const moved = after.resources.filter((r) => r.urn !== formerUrn(r, "storefront", "shop"));
    assert.ok(moved.some((r) => r.type === "github:index/repository:Repository"), "the repository's Pulumi name follows the tenant's");
    for (const r of after.resources) {
      const was = old.get(formerUrn(r, "storefront", "shop"));
      assert.ok(was, `${r.urn} has no former resource: the rename would create it`);
      assert.deepEqual(r.inputs, was.inputs, `${r.urn}: a live object would change`);
    }
    assert.equal(after.resources.length, before.resources.length, "and none is left over to delete");
  });

  it("outputs use the new name; the write budget's part keeps the former one, so the rename is not new work", async () => {
    const after = ok(await runProgram({ stack: "staging", config: config([{ name: "storefront", renamedFrom: "shop" }]) }));
    assert.deepEqual(Object.keys(after.outputs?.tenants as object), ["storefront"]);
    assert.deepEqual((after.outputs?.tenants as any).storefront.namespaces, ["shop"]);
    assert.ok("tenant:shop" in (after.outputs?.githubContentWrites as object));
  });

  it("a former name must not be the tenant's own name or another tenant's name or former name", () => {
    const parse = (tenants: unknown[]) => () =>
      parseFleetConfig({ stack: "staging", values: { "github:owner": "acme-org", "fleet:tenants": JSON.stringify(tenants) } });
    assert.throws(parse([{ name: "shop", renamedFrom: "shop" }]), (e: ConfigError) => /fleet:tenants\[0\]\.renamedFrom: is the tenant's own name/.test(e.message));
    assert.throws(parse([{ name: "shop" }, { name: "store", renamedFrom: "shop", namespaces: ["store"], repository: { name: "store-deploy" } }]), (e: ConfigError) => /fleet:tenants\[1\]\.renamedFrom: "shop" is also the name or former name of fleet:tenants\[0\]/.test(e.message));
    assert.throws(parse([{ name: "a", renamedFrom: "old" }, { name: "b", renamedFrom: "old" }]), /fleet:tenants\[\d\]\.renamedFrom: "old" is also the name or former name/);
    assert.throws(parse([{ name: "a", renamedFrom: "Not_A_Label" }]), /fleet:tenants\[0\]\.renamedFrom/);
  });
});
