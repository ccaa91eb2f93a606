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

/**
 * What the engine looks a registration up by in the old state, in registration order: its URN,
 * then its aliases (pulumi v3.274.1, pkg/resource/deploy/step_generator.go: `getOldResource`,
 * `generateAliases`, `collapseAliasToUrn`, `inheritedChildAlias`; the URN form of
 * sdk/go/common/resource/alias.go, `CreateURN`). Returns, per new URN, the old URN it takes over.
 */
function engineMatches(resources: readonly Registered[], olds: ReadonlySet<string>): Map<string, string> {
  const prefix = (urn: string) => urn.slice(0, urn.lastIndexOf("::"));
  const nameOf = (urn: string) => urn.slice(urn.lastIndexOf("::") + 2);
  const qualifiedType = (urn: string) => prefix(urn).split("::")[2];
  const lastType = (urn: string) => qualifiedType(urn).split("$").pop()!;
  const root = (urn: string) => urn.split("::").slice(0, 2).join("::");
  const isStack = (urn: string) => qualifiedType(urn) === "pulumi:pulumi:Stack";
  const aliased = new Map<string, string>(); // sg.aliases: a registration's URN -> the old URN it took over through an alias
  const matches = new Map<string, string>();
  for (const r of resources) {
    const create = (name: string, type: string, parent: string) => (parent && !isStack(parent) ? `${prefix(parent)}$${type}::${name}` : `${root(r.urn)}::${type}::${name}`);
    const collapse = (a: Record<string, any>) => {
      if (a.urn) return a.urn as string;
      let parent: string = a.parenturn ? (aliased.get(a.parenturn) ?? a.parenturn) : r.parent;
      if (a.noparent) parent = "";
      return create(a.name || r.name, a.type || r.type, parent);
    };
    const inherited = (type: string, name: string, parentName: string, parentAlias: string) =>
      `${root(r.urn)}::${isStack(parentAlias) ? "" : `${qualifiedType(parentAlias)}$`}${type}::${name.startsWith(parentName) ? nameOf(parentAlias) + name.slice(parentName.length) : name}`;
    const candidates = [r.urn, ...r.aliases.map(collapse)];
    const parentAlias = r.parent ? aliased.get(r.parent) : undefined;
    if (parentAlias) {
      candidates.push(inherited(r.type, r.name, nameOf(r.parent), parentAlias));
      for (const a of r.aliases) candidates.push(inherited(lastType(collapse(a)), nameOf(collapse(a)), nameOf(r.parent), parentAlias));
    }
    const found = candidates.find((u) => olds.has(u));
    if (found === undefined) continue;
    if (found !== r.urn) aliased.set(r.urn, found);
    matches.set(r.urn, found);
  }
  return matches;
}

/**
 * Tenant `shop`'s repository resources as the engine named them while each tenant's repository
 * was a component of its own (`fleet:repository:Repository`, up to commit 3de9d9c): the URNs a
 * stack made then holds.
 */
const FORMER_REPOSITORY_URNS = (tenant: string) => [
  ["tls:index/privateKey:PrivateKey", `${tenant}-repository-deploy-key`],
  ["github:index/repository:Repository", `${tenant}-repository`],
  ["github:index/teamRepository:TeamRepository", `${tenant}-repository-team`],
  ["github:index/branchDefault:BranchDefault", `${tenant}-repository-default-branch`],
  ["github:index/repositoryDeployKey:RepositoryDeployKey", `${tenant}-repository-deploy-key`],
  ["pulumi-nodejs:dynamic/fleet:ScaffoldFile", `${tenant}-repository/flux/staging/kustomization.yaml`],
].map(([type, name]) => `urn:pulumi:staging::fleet::fleet:tenant:Tenant$fleet:repository:Repository$${type}::${name}`);

/** What such a stack also holds and this version deletes: the branch wait was a resource (components/github/branch-exists.ts). */
const FORMER_BRANCH_WAIT = (tenant: string) => `urn:pulumi:staging::fleet::fleet:tenant:Tenant$fleet:repository:Repository$pulumi-nodejs:dynamic/fleet:BranchExists::${tenant}-repository-generated`;

describe("One component per tenant: a stack made while a tenant's repository was a component of its own moves, nothing is made anew", () => {
  const config = (tenants: unknown[]) => ({ ...stackConfig("staging"), "fleet:repository": { create: true, team: "platform" }, "fleet:tenants": tenants });
  const run = async (tenant: object) => ok(await runProgram({ stack: "staging", config: config([tenant]), computed: false, preview: true }));

  it("a tenant is one component, and its repository's resources are its own children", async () => {
    const result = await run({ name: "shop", team: "shop-devs" });
    const mine = result.resources.filter((r) => r.urn.includes("::fleet:tenant:Tenant"));
    assert.deepEqual(mine.filter((r) => !r.custom).map((r) => r.urn), ["urn:pulumi:staging::fleet::fleet:tenant:Tenant::shop"]);
    const tenant = "urn:pulumi:staging::fleet::fleet:tenant:Tenant::shop";
    for (const r of mine.filter((x) => x.custom)) assert.equal(r.parent, tenant, `${r.urn}: a child of the tenant`);
  });

  it("every former URN is taken over by the resource of the same type and name, and every other resource of the tenant keeps its URN", async () => {
    const result = await run({ name: "shop", team: "shop-devs", quota: { cpu: "2" } });
    const former = FORMER_REPOSITORY_URNS("shop");
    const kept = result.resources.filter((r) => r.urn.includes("::fleet:tenant:Tenant") && !r.urn.includes("-repository")).map((r) => r.urn);
    const matches = engineMatches(result.resources, new Set([...former, ...kept, FORMER_BRANCH_WAIT("shop")]));
    assert.ok(![...matches.values()].includes(FORMER_BRANCH_WAIT("shop")), "the former branch wait is taken by nothing: the engine deletes it (its provider's delete does nothing)");
    const taken = [...matches.values()];
    for (const urn of former) assert.equal(taken.filter((u) => u === urn).length, 1, `${urn}: taken over once (else the engine would delete it, or refuse two claims)`);
    for (const [now, was] of matches) assert.equal(now.split("$").pop(), was.split("$").pop(), `${now} took over ${was}`);
    for (const urn of kept) assert.equal(matches.get(urn), urn);
  });

  it("renamed in the same update (renamedFrom), every former URN under the former name is taken over too", async () => {
    const result = await run({ name: "storefront", renamedFrom: "shop", team: "shop-devs" });
    const former = FORMER_REPOSITORY_URNS("shop");
    const matches = engineMatches(result.resources, new Set(["urn:pulumi:staging::fleet::fleet:tenant:Tenant::shop", ...former]));
    assert.equal(matches.get("urn:pulumi:staging::fleet::fleet:tenant:Tenant::storefront"), "urn:pulumi:staging::fleet::fleet:tenant:Tenant::shop");
    const taken = [...matches.values()];
    for (const urn of former) assert.equal(taken.filter((u) => u === urn).length, 1, `${urn}: taken over once`);
    // Type and name (the name's tenant prefix the former one): what each took over is itself.
    const typeAndName = (urn: string) => urn.split("::")[2].split("$").pop() + "::" + urn.split("::").slice(3).join("::");
    for (const [now, was] of matches) assert.equal(typeAndName(was), typeAndName(now).replace("::storefront", "::shop"), `${now} took over ${was}`);
    // The alias of the former place only, without the rename's: the engine's inherited alias drops the component between.
    const bare = engineMatches(result.resources.map((r) => ({ ...r, aliases: r.aliases.filter((a) => !String(a.name ?? "").startsWith("shop")) })), new Set(["urn:pulumi:staging::fleet::fleet:tenant:Tenant::shop", ...former]));
    assert.ok(former.every((urn) => ![...bare.values()].includes(urn)), "without the renamed alias nothing former is found: the check can fail");
  });

  it("renamed by an earlier version (renamedFrom still set, as it must stay), the former URNs under the new name are taken over", async () => {
    const result = await run({ name: "storefront", renamedFrom: "shop", team: "shop-devs" });
    const former = FORMER_REPOSITORY_URNS("storefront");
    const matches = engineMatches(result.resources, new Set(["urn:pulumi:staging::fleet::fleet:tenant:Tenant::storefront", ...former]));
    const taken = [...matches.values()];
    for (const urn of former) assert.equal(taken.filter((u) => u === urn).length, 1, `${urn}: taken over once`);
  });
});

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
