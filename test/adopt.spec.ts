/**
 * Create or adopt (components/github/adopt.ts): what this stack would create and already exists on
 * GitHub is imported with the provider's ID, keeps its settings, and registers exactly what a
 * creation registers; what cannot be adopted as configured stops the program before anything is
 * registered. The engine's side (an import on a resource already in state is an ordinary diff) is
 * shown on the real tier (test/real/fleet.spec.ts, 1h).
 */
import { strict as assert } from "assert";
import { AdoptionError, lookUpExisting, wantedRepositories } from "../components/github/adopt";
import { parseFleetConfig } from "../components/config";
import { CREATION_ONLY } from "../components/github/repository";
import { MISSING_REPOSITORY, ok, one, RunResult, runProgram, stackConfig } from "./harness";

const T = {
  repository: "github:index/repository:Repository",
  team: "github:index/teamRepository:TeamRepository",
  file: "pulumi-nodejs:dynamic/fleet:ScaffoldFile",
  generated: "pulumi-nodejs:dynamic/fleet:BranchExists",
};

const TEAMS = {
  "github:owner": "acme-org",
  "fleet:repository": { create: true, team: "platform" },
  "fleet:tenants": [{ name: "shop", team: "shop-devs" }, { name: "payments" }],
};

describe("Adoption: what exists is imported, what is missing is created", () => {
  it("a hand-made tenant repository is imported by its name (the provider's ID); the missing ones are created", async () => {
    const result = ok(await runProgram({ stack: "staging", config: stackConfig("staging"), exists: (name) => name !== "flux-fleet" && name !== "payments-deploy" }));
    const importIds = Object.fromEntries(result.resources.filter((r) => r.type === T.repository).map((r) => [r.inputs.name, r.importId]));
    assert.deepEqual(importIds, { "flux-fleet": "", "flux-fleet-tenant-template": "flux-fleet-tenant-template", "shop-deploy": "shop-deploy", "payments-deploy": "" });
  });

  it("an imported repository keeps its settings: every input this program sets only at creation is ignored", async () => {
    const result = ok(await runProgram({ stack: "staging", config: stackConfig("staging"), exists: (name) => ["shop-deploy", "analytics-gitops"].includes(name) }));
    const shop = one(result, T.repository, "shop-repository");
    assert.deepEqual([...shop.ignoreChanges].sort(), [...CREATION_ONLY].sort());
    for (const key of ["template", "autoInit", "visibility", "description", "allowMergeCommit"]) assert.ok(CREATION_ONLY.includes(key), key);
    assert.equal(shop.retainOnDelete, true, "adopted or created, a repository outlives the stack");
    // A created one is left to take what the program sets.
    assert.deepEqual(one(result, T.repository, "payments-repository").ignoreChanges, []);
  });

  it("adopting registers exactly what creating registers (same URNs), so the run after a creation changes nothing", async () => {
    const urns = (r: RunResult) => r.resources.map((x) => x.urn).sort();
    const created = ok(await runProgram({ stack: "staging", config: stackConfig("staging"), exists: (name) => name === "analytics-gitops" }));
    const adopted = ok(await runProgram({ stack: "staging", config: stackConfig("staging"), exists: () => true }));
    assert.deepEqual(urns(adopted), urns(created));
    assert.deepEqual(created.outputs?.githubContentWrites, adopted.outputs?.githubContentWrites, "the exported write count is of creation: it does not change once the repositories exist");
  });

  it("an adopted repository's README is kept; only the one autoInit wrote is replaced on a repository this stack creates", async () => {
    const readme = (r: RunResult) => one(r, T.file, "fleet/README.md").inputs.replaceInitial;
    assert.equal(readme(ok(await runProgram({ stack: "staging", config: stackConfig("staging"), exists: (name) => name === "analytics-gitops" }))), true);
    assert.equal(readme(ok(await runProgram({ stack: "staging", config: stackConfig("staging"), exists: () => true }))), false);
  });

  it("an adopted tenant repository gets its missing environment file; a generated one finds it there", async () => {
    const result = ok(await runProgram({ stack: "staging", config: stackConfig("staging"), exists: (name) => ["shop-deploy", "analytics-gitops"].includes(name) }));
    for (const name of ["shop-repository/flux/staging/kustomization.yaml", "payments-repository/flux/staging/kustomization.yaml"]) {
      assert.equal(one(result, T.file, name).inputs.path, "flux/staging/kustomization.yaml");
    }
  });

  it("a generated repository that exists waits for its configured branch; a new one for the template's", async () => {
    const config = { ...stackConfig("staging"), "fleet:tenants": [{ name: "shop", branch: "trunk" }] };
    const waits = (r: RunResult) => r.githubRequests.map((g) => `${g.method} ${g.path}`).filter((g) => g.includes("/shop-deploy/"));
    const fresh = ok(await runProgram({ stack: "staging", config, exists: (name) => name === "analytics-gitops" }));
    assert.deepEqual(waits(fresh), ["GET /repos/acme-org/shop-deploy/branches/main"], "a new repository is generated on the template's branch");
    const adopted = ok(await runProgram({ stack: "staging", config, calls: only("acme-org/shop-deploy", (i) => repo(i, "trunk")) }));
    assert.deepEqual(waits(adopted), ["GET /repos/acme-org/shop-deploy/branches/trunk"]);
    assert.equal(adopted.resources.filter((r) => r.type === T.generated).length, 0, "a wait, not a resource");
  });

  it("a team grant that exists is imported as <team id>:<repository>; one that does not is created", async () => {
    const result = ok(await runProgram({ stack: "staging", config: TEAMS, exists: () => true, teamRepositories: { "shop-devs": ["shop-deploy"] } }));
    assert.equal(one(result, T.team, "shop-repository-team").importId, "team-shop-devs:shop-deploy");
    assert.equal(one(result, T.team, "fleet-team").importId, "", "the platform team has no grant on flux-fleet yet");
    assert.ok(result.calls.some((c) => c.token === "github:index/getTeam:getTeam" && c.inputs.slug === "shop-devs" && c.inputs.summaryOnly === false), "grants are listed (summaryOnly: false)");
  });

  it("a grant is looked up only on a repository that exists: a new repository has none", async () => {
    const result = ok(await runProgram({ stack: "staging", config: TEAMS, exists: (name) => name === "analytics-gitops" }));
    assert.ok(!result.calls.some((c) => c.token === "github:index/getTeam:getTeam" && c.inputs.summaryOnly === false));
    assert.ok(result.resources.filter((r) => r.type === T.team).every((r) => r.importId === ""));
  });

  it("an offboarded tenant's team grant is retained with its repository; an onboarded tenant's changes team by replacement", async () => {
    const config = (offboard: boolean) => ({ ...TEAMS, "fleet:tenants": [{ name: "shop", team: "shop-devs", offboard }] });
    const on = ok(await runProgram({ stack: "staging", config: config(false) }));
    const off = ok(await runProgram({ stack: "staging", config: config(true) }));
    assert.equal(one(on, T.team, "shop-repository-team").retainOnDelete, false);
    assert.equal(one(off, T.team, "shop-repository-team").retainOnDelete, true);
  });
});

/** getRepository for staging: `fullName` answers `answer`, what staging only looks up exists, the rest is missing. */
function only(fullName: string, answer: (i: Record<string, any>) => Record<string, unknown>) {
  return {
    "github:index/getRepository:getRepository": (i: Record<string, any>) =>
      i.fullName === fullName ? answer(i) : i.fullName === "acme-org/analytics-gitops" ? repo(i, "release") : { ...MISSING_REPOSITORY },
  };
}

/** getRepository's answer for an existing repository on `branch`. */
function repo(inputs: Record<string, any>, branch: string, extra: Record<string, unknown> = {}) {
  const name = String(inputs.fullName).split("/")[1];
  return { id: name, name, fullName: inputs.fullName, htmlUrl: `https://github.com/${inputs.fullName}`, defaultBranch: branch, visibility: "private", archived: false, ...extra };
}

describe("Adoption: what cannot be adopted as configured stops the preview, before anything is registered", () => {
  const GET = "github:index/getRepository:getRepository";

  it("an existing repository on another default branch fails, naming the key and both fixes", async () => {
    const result = await runProgram({ stack: "staging", config: stackConfig("staging"), calls: only("acme-org/shop-deploy", (i) => repo(i, "master")) });
    assert.ok(result.error instanceof AdoptionError, String(result.error));
    assert.match(result.error.message, /acme-org\/shop-deploy exists with default branch 'master', not 'main' \(fleet:tenants\[0\]\.branch \(tenant shop\)\)/);
    assert.match(result.error.message, /set the key to 'master', or rename the branch on GitHub/);
    assert.equal(result.resources.filter((r) => r.custom).length, 0, "nothing registered");
  });

  it("an archived repository fails: GitHub refuses deploy keys on it", async () => {
    const result = await runProgram({ stack: "staging", config: stackConfig("staging"), calls: only("acme-org/flux-fleet", (i) => repo(i, "main", { archived: true })) });
    assert.ok(result.error instanceof AdoptionError, String(result.error));
    assert.match(result.error.message, /acme-org\/flux-fleet exists and is archived.*unarchive it/);
    assert.equal(result.resources.filter((r) => r.custom).length, 0);
  });

  it("every problem is reported at once, and a failing lookup names the token", async () => {
    const result = await runProgram({
      stack: "staging",
      config: stackConfig("staging"),
      calls: { [GET]: (i) => { if (i.fullName === "acme-org/shop-deploy") throw new Error("401 Bad credentials"); return i.fullName === "acme-org/payments-deploy" ? repo(i, "dev") : i.fullName === "acme-org/analytics-gitops" ? repo(i, "release") : { ...MISSING_REPOSITORY }; } },
    });
    assert.ok(result.error instanceof AdoptionError, String(result.error));
    assert.equal(result.error.problems.length, 2, result.error.message);
    assert.match(result.error.message, /shop-deploy could not be looked up with GITHUB_TOKEN \(.*\): check the token and github:owner/);
  });

  it("a team that does not exist fails with its key when its repository exists", async () => {
    const result = await runProgram({ stack: "staging", config: TEAMS, exists: () => true, calls: { "github:index/getTeam:getTeam": () => { throw new Error("GET https://api.github.com/orgs/acme-org/teams/shop-devs: 404 Not Found []"); } } });
    assert.ok(result.error instanceof AdoptionError, String(result.error));
    assert.match(result.error.message, /team shop-devs \(fleet:tenants\[0\]\.team \(tenant shop\)\) was not found/);
  });

  it("an adopted repository of another visibility is kept as it is, with a warning naming the key", async () => {
    const result = ok(await runProgram({ stack: "staging", config: stackConfig("staging"), calls: only("acme-org/shop-deploy", (i) => repo(i, "main", { visibility: "public" })) }));
    assert.ok(result.warnings.some((w) => /shop-deploy exists as public, not private \(fleet:repository\.visibility\)/.test(w)), result.warnings.join("\n"));
  });
});

describe("Adoption: the lookup itself", () => {
  const config = parseFleetConfig({
    stack: "staging",
    values: {
      "github:owner": "acme-org",
      "fleet:repository": JSON.stringify({ create: true, team: "platform" }),
      "fleet:tenants": JSON.stringify([{ name: "shop", team: "shop-devs" }, { name: "legacy", repository: { create: false } }]),
    },
  });

  it("looks up what this stack would create, never what it only looks up", () => {
    assert.deepEqual(wantedRepositories(config).map((w) => w.name), ["flux-fleet", "flux-fleet-tenant-template", "shop-deploy"]);
  });

  it("matches names as GitHub does, case-insensitively, and keys grants by team slug", async () => {
    const existing = await lookUpExisting(config, {
      getRepository: async (a) => (a.fullName === "acme-org/shop-deploy" ? (repo(a, "main", { name: "Shop-Deploy" }) as never) : ({ ...MISSING_REPOSITORY } as never)),
      getTeam: async (a) => ({ id: "42", slug: a.slug, repositoriesDetaileds: [{ repoId: 1, repoName: "shop-deploy", roleName: "push" }] }) as never,
    });
    assert.deepEqual([...existing.keys()], ["shop-deploy"]);
    assert.equal(existing.get("shop-deploy")?.importId, "Shop-Deploy");
    assert.equal(existing.get("shop-deploy")?.teamGrants.get("shop-devs"), "42:Shop-Deploy");
  });
});
