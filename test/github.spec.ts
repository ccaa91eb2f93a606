/**
 * GitHub at fleet scale, as policies: lookups that fail loudly with the provider's real answer,
 * team access from the owning stack only, and deploy-key rotation without downtime.
 */
import { strict as assert } from "assert";
import { countWrites, filesAfter, generatedFiles, writeSeconds } from "../scripts/lib/github-model";
import { one, Registered, RunResult, runProgram, stackConfig } from "./harness";

const G = {
  repository: "github:index/repository:Repository",
  deployKey: "github:index/repositoryDeployKey:RepositoryDeployKey",
  privateKey: "tls:index/privateKey:PrivateKey",
  team: "github:index/teamRepository:TeamRepository",
  file: "pulumi-nodejs:dynamic/fleet:ScaffoldFile",
  secret: "kubernetes:core/v1:Secret",
  component: "fleet:repository:Repository",
};
const GET_REPOSITORY = "github:index/getRepository:getRepository";
const GET_TEAM = "github:index/getTeam:getTeam";

/**
 * The provider's answer for a repository that does not exist: an empty result, not an error
 * (terraform-provider-github v6.13.0, data_source_github_repository.go clears the id on 404 and
 * sets no field; the bridge then resolves the invoke to `{}`).
 */
/** A GitHub where `names` are missing and every other repository exists. */
function missing(...names: string[]) {
  return (name: string) => !names.includes(name);
}

/**
 * A repository's resources: the fleet's are the children of its Repository component, a tenant's
 * the tenant's own children named after its repository (`<tenant>-repository…`). Never empty (the
 * key pair is registered before the lookup answers), so a filter of it proves something.
 */
function repositoryResourcesOf(result: RunResult, name: string): Registered[] {
  const component = result.resources.find((r) => r.type === G.component && r.name === name);
  const found = component
    ? result.resources.filter((r) => r.parent === component.urn)
    : result.resources.filter((r) => r.custom && /::fleet:tenant:Tenant::/.test(r.parent) && (r.name === name || r.name.startsWith(`${name}-`) || r.name.startsWith(`${name}/`)));
  assert.ok(found.length > 0, `no resource of repository ${name} was registered`);
  return found;
}

describe("GitHub: lookups fail loudly", () => {
  it("a missing fleet repository (an empty lookup result) fails, naming the repository, the owner and the fix", async () => {
    const result = await runProgram({ stack: "production", config: stackConfig("production"), exists: missing("flux-fleet") });
    assert.ok(result.error, "the run must fail");
    assert.match(result.error.message, /GitHub repository acme-org\/flux-fleet does not exist, or GITHUB_TOKEN cannot see it \(owner acme-org, repository flux-fleet\)/);
    assert.match(result.error.message, /run the stack that owns it \(fleet:repository\.create: true\) first, or set fleet:repository\.create: true in this stack/);
  });

  it("nothing is attempted on a missing repository: no deploy key, no file", async () => {
    const result = await runProgram({ stack: "production", config: stackConfig("production"), exists: missing("flux-fleet") });
    assert.deepEqual(repositoryResourcesOf(result, "fleet").filter((r) => r.type === G.deployKey || r.type === G.file).map((r) => r.name), []);
  });

  it("a missing tenant repository names the tenant's key", async () => {
    const result = await runProgram({ stack: "production", config: stackConfig("production"), exists: missing("analytics-gitops") });
    assert.ok(result.error, "the run must fail");
    assert.match(result.error.message, /acme-org\/analytics-gitops does not exist.*the repository\.create of tenant analytics/);
    assert.deepEqual(repositoryResourcesOf(result, "analytics-repository").filter((r) => r.type === G.deployKey || r.type === G.file), []);
  });

  it("an answer for another repository is refused", async () => {
    const result = await runProgram({
      stack: "production",
      config: stackConfig("production"),
      calls: { [GET_REPOSITORY]: () => ({ id: "x", name: "other", fullName: "someone/other" }) },
    });
    assert.match(result.error?.message ?? "", /answered the lookup of acme-org\/flux-fleet with someone\/other/);
  });

  it("existing repositories are looked up by their full name", async () => {
    const result = await runProgram({ stack: "production", config: stackConfig("production"), exists: missing() });
    assert.equal(result.error, undefined, result.error?.message);
    const looked = result.calls.filter((c) => c.token === GET_REPOSITORY).map((c) => c.inputs.fullName).sort();
    assert.deepEqual(looked, ["acme-org/analytics-gitops", "acme-org/flux-fleet", "acme-org/payments-deploy", "acme-org/shop-deploy"]);
  });
});

const TEAMS = {
  "github:owner": "acme-org",
  "fleet:repository": { create: true, team: "platform" },
  "fleet:tenants": [{ name: "shop", team: "shop-devs" }, { name: "payments", team: "payments-devs" }, { name: "search" }, { name: "legacy", team: "legacy-devs", repository: { create: false } }],
};

describe("GitHub: team access", () => {
  it("each tenant's team gets push on its own repository, and the fleet team maintain on the fleet repository", async () => {
    const result = await runProgram({ stack: "staging", config: TEAMS });
    assert.equal(result.error, undefined, result.error?.message);
    const grants = result.resources.filter((r) => r.type === G.team).map((r) => [r.inputs.teamId, r.inputs.repository, r.inputs.permission]);
    assert.deepEqual(grants.sort(), [
      ["team-payments-devs", "payments-deploy", "push"],
      ["team-platform", "flux-fleet", "maintain"],
      ["team-shop-devs", "shop-deploy", "push"],
    ]);
  });

  it("stack outputs show each grant", async () => {
    const outputs = (await runProgram({ stack: "staging", config: TEAMS })).outputs as Record<string, any>;
    assert.equal(outputs.fleetRepository.team, "platform (maintain)");
    assert.deepEqual([outputs.tenants.shop.team, outputs.tenants.search.team, outputs.tenants.legacy.team], ["shop-devs (push)", "", ""]);
  });

  it("a tenant's team never gets the fleet repository or another tenant's", async () => {
    const result = await runProgram({ stack: "staging", config: TEAMS });
    for (const grant of result.resources.filter((r) => r.type === G.team)) {
      const slug = String(grant.inputs.teamId).replace(/^team-/, "");
      if (slug === "platform") continue;
      const tenant = slug.replace(/-devs$/, "");
      assert.equal(grant.inputs.repository, `${tenant}-deploy`, `${slug} may only reach ${tenant}'s repository`);
    }
  });

  it("grants are registered by the stack that creates the repository only", async () => {
    const lookup = { ...TEAMS, "fleet:repository": { create: false, team: "platform" }, "fleet:tenants": TEAMS["fleet:tenants"].map((t) => ({ ...t, repository: { create: false } })) };
    const result = await runProgram({ stack: "production", config: lookup });
    assert.equal(result.error, undefined, result.error?.message);
    assert.deepEqual(result.resources.filter((r) => r.type === G.team), []);
    assert.ok(!result.calls.some((c) => c.token === GET_TEAM), "a lookup stack does not even look teams up");
  });

  it("a team that does not exist fails with its slug and key", async () => {
    const result = await runProgram({
      stack: "staging",
      config: TEAMS,
      calls: {
        [GET_TEAM]: (inputs) => {
          if (inputs.slug === "shop-devs") throw new Error("GET https://api.github.com/orgs/acme-org/teams/shop-devs: 404 Not Found []");
          return { id: `team-${inputs.slug}`, slug: inputs.slug };
        },
      },
    });
    assert.ok(result.error, "the run must fail");
    assert.match(result.error.message, /GitHub team shop-devs \(the team of tenant shop\) was not found in acme-org, or GITHUB_TOKEN cannot read the organisation.s teams \(Members: read\): create it, fix the slug, or give the token that permission/);
  });
});

describe("GitHub: deploy-key rotation without downtime", () => {
  const config = (generation?: number) => ({
    ...stackConfig("staging"),
    "fleet:repository": { ...(stackConfig("staging")["fleet:repository"] as object), ...(generation ? { keyGeneration: generation } : {}) },
  });

  it("bumping keyGeneration makes every key pair and deploy key new, created before the old ones go", async () => {
    const before = await runProgram({ stack: "staging", config: config() });
    const after = await runProgram({ stack: "staging", config: config(2) });
    assert.equal(after.error, undefined, after.error?.message);
    for (const type of [G.privateKey, G.deployKey]) {
      const old = before.resources.filter((r) => r.type === type).map((r) => r.urn);
      const fresh = after.resources.filter((r) => r.type === type);
      assert.equal(fresh.length, old.length, type);
      assert.ok(fresh.length >= 4, `${type}: the fleet's and every tenant's`);
      for (const r of fresh) {
        assert.ok(!old.includes(r.urn), `${r.type}::${r.name} must be a new resource`);
        assert.equal(r.deleteBeforeReplace, false, `${r.name}: the old key must outlive the new one`);
      }
    }
  });

  it("the cluster Secrets keep their identity and take the new private key", async () => {
    const before = await runProgram({ stack: "staging", config: config() });
    const after = await runProgram({ stack: "staging", config: config(2) });
    const secrets = (run: RunResult) => new Map(run.resources.filter((r) => r.type === G.secret).map((r) => [r.urn, r.inputs.stringData.identity as string]));
    const [old, fresh] = [secrets(before), secrets(after)];
    assert.deepEqual([...fresh.keys()].sort(), [...old.keys()].sort(), "same Secrets: updated in place, never replaced");
    for (const [urn, identity] of fresh) {
      assert.notEqual(identity, old.get(urn), `${urn} still holds the old key`);
      assert.match(identity, /deploy-key-gen2/, urn);
    }
    const pullSecret = one(after, G.secret, "flux-pull-secret");
    const fleetKey = one(after, G.privateKey, "fleet-deploy-key-gen2");
    assert.ok(pullSecret.dependencies.includes(fleetKey.urn));
  });
});

describe("GitHub: write budget per tenant", () => {
  const tenants = [{ name: "shop" }, { name: "payments" }];
  const added = [...tenants, { name: "search", team: "search-devs" }];
  const config = (list: unknown[], repository: object) => ({ "github:owner": "acme-org", "fleet:repository": repository, "fleet:tenants": list });
  const owning = (list: unknown[], templateEnvironments = ["staging", "production"]) =>
    runProgram({ stack: "staging", config: config(list, { create: true, templateEnvironments }) });

  /** Writes the run registers beyond a baseline run: what adding the tenant costs, given the files on GitHub. */
  async function addedWrites(before: RunResult, after: RunResult, present: ReadonlySet<string> = new Set()) {
    assert.equal(after.error, undefined, after.error?.message);
    const old = new Set(before.resources.map((r) => r.urn));
    const registered = after.resources.filter((r) => !old.has(r.urn));
    return { writes: countWrites(registered, present), registered };
  }

  it("one added tenant costs the owning stack 2 content-creating requests: its repository, generated with flux/<env>, and its key", async () => {
    const after = await owning(added);
    const { writes, registered } = await addedWrites(await owning(tenants), after, generatedFiles(after.resources));
    assert.deepEqual(writes, { content: 2, other: 3 }, `generate + deploy key; two settings PATCHes and the team grant: ${registered.map((r) => `${r.type}::${r.name}`).join(", ")}`);
  });

  it("one added tenant costs a lookup stack 1 content-creating request when the template holds its environment, 2 when not", async () => {
    const lookup = (list: unknown[]) => runProgram({ stack: "production", config: config(list, { create: false }) });
    const [before, after] = [await lookup(tenants), await lookup(added)];
    const { writes } = await addedWrites(before, after, filesAfter((await owning(added)).resources));
    assert.deepEqual(writes, { content: 1, other: 0 }, "its deploy key; flux/production came with the generated repository");
    const without = await addedWrites(before, after, filesAfter((await owning(added, ["staging"])).resources));
    assert.deepEqual(without.writes, { content: 2, other: 0 }, "deploy key + flux/production, which the template lacks");
  });

  it("a tenant on an existing repository costs each stack its key and its file", async () => {
    const existing = [...tenants, { name: "legacy", repository: { name: "legacy-gitops", create: false } }];
    const { writes } = await addedWrites(await owning(tenants), await owning(existing));
    assert.deepEqual(writes, { content: 2, other: 0 }, "deploy key + flux/staging, committed");
  });

  it("the time model: write spacing below 80 per minute, the hourly limit beyond 500", () => {
    assert.equal(writeSeconds({ content: 60, other: 0 }), 60, "60 writes, 1 s apart");
    assert.equal(writeSeconds({ content: 100, other: 0 }, 0), 60, "without spacing, the 81st waits a minute");
    assert.equal(writeSeconds({ content: 1501, other: 0 }), 3 * 3600, "1501 content writes need three full hours");
  });
});
