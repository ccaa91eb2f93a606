/**
 * Taking over a cluster `flux bootstrap github` set up (fleet:flux.takeOverBootstrap): what the
 * stack registers instead of what would collide with bootstrap's objects, and the revocation of
 * bootstrap's deploy key against a GitHub double that answers as the REST API does. The whole
 * flow against the rig's real API server, engine and Flux controllers: test/real/fleet.spec.ts, 7.
 */
import { strict as assert } from "assert";
import { BootstrapKeyRevocationProvider, bootstrapKeyTitle } from "../components/github/bootstrap";
import { GitHubRequest } from "../components/github/client";
import { one, Registered, RunResult, runProgram, stackConfig } from "./harness";

const INSTANCE = "kubernetes:fluxcd.controlplane.io/v1:FluxInstance";
const SECRET = "kubernetes:core/v1:Secret";
const NAMESPACE = "kubernetes:core/v1:Namespace";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const REVOCATION = "pulumi-nodejs:dynamic/fleet:BootstrapKeyRevocation";

/** The production example on an existing cluster that flux bootstrap set up with --path=clusters/production. */
function bootstrapped(takeOver: Record<string, unknown> = { path: "clusters/production" }, extra: Record<string, unknown> = {}) {
  const base = stackConfig("production");
  return {
    ...base,
    "fleet:cluster": { type: "kubeconfig" },
    "fleet:kubeconfig": "apiVersion: v1\nkind: Config\n",
    // What `flux bootstrap` installs by default, listed as the takeover requires.
    "fleet:flux": { ...(base["fleet:flux"] as object), components: ["source-controller", "kustomize-controller", "helm-controller", "notification-controller"], takeOverBootstrap: takeOver },
    "fleet:repository": { ...(base["fleet:repository"] as object), path: "clusters/production-operator" },
    ...extra,
  };
}

async function run(config: Record<string, unknown>): Promise<RunResult> {
  return runProgram({ stack: "production", config, secretKeys: ["fleet:kubeconfig"] });
}

describe("Taking over a flux bootstrap cluster: what is registered", () => {
  let result: RunResult;
  before(async () => {
    result = await run(bootstrapped());
    assert.equal(result.error, undefined, result.error?.message);
  });

  it("flux-system is not created (it is bootstrap's); the operator's release still goes into it", () => {
    assert.deepEqual(result.resources.filter((r) => r.type.startsWith(NAMESPACE) && r.inputs.metadata?.name === "flux-system"), []);
    assert.equal(one(result, RELEASE).inputs.namespace, "flux-system");
  });

  it("the stack's own key goes into flux-system/flux-fleet, and the FluxInstance syncs with it under bootstrap's object names", () => {
    const secrets = result.resources.filter((r) => r.type === SECRET && r.inputs.metadata.namespace === "flux-system");
    assert.deepEqual(secrets.map((s) => s.inputs.metadata.name), ["flux-fleet"], "bootstrap's flux-system Secret is not touched");
    assert.match(secrets[0].inputs.stringData.identity, /BEGIN OPENSSH PRIVATE KEY/);
    const sync = one(result, INSTANCE).inputs.spec.sync;
    assert.equal(sync.pullSecret, "flux-fleet");
    assert.equal(sync.name, undefined, "the sync objects keep the namespace's name, flux-system, as bootstrap's: the operator takes them over");
    assert.equal(sync.path, "clusters/production-operator");
  });

  it("bootstrap's deploy key for this path is revoked, once the FluxInstance is Ready", () => {
    const revocation: Registered = one(result, REVOCATION);
    // What `flux bootstrap github --path=clusters/production` titles its key: the path as
    // flags.SafeRelativePath stores it, with `./` (fluxcd/flux2 v2.9.5).
    assert.equal(revocation.inputs.title, "flux-system-main-flux-system-./clusters/production");
    assert.deepEqual([revocation.inputs.owner, revocation.inputs.repository], ["acme-org", "flux-fleet"]);
    assert.ok(revocation.dependencies.includes(one(result, INSTANCE).urn), "after the FluxInstance");
  });

  it("the branch is bootstrap's --branch when given, else bootstrap's default main; the path is cleaned as bootstrap cleans it", async () => {
    const other = await run(bootstrapped({ path: "./clusters//production/", branch: "fleet" }));
    assert.equal(other.error, undefined, other.error?.message);
    assert.equal(one(other, REVOCATION).inputs.title, "flux-system-fleet-flux-system-./clusters/production");
    const onOtherBranch = await run(bootstrapped(undefined, { "fleet:repository": { ...(stackConfig("production")["fleet:repository"] as object), branch: "fleet", path: "clusters/production-operator" } }));
    assert.equal(onOtherBranch.error, undefined, onOtherBranch.error?.message);
    assert.equal(one(onOtherBranch, REVOCATION).inputs.title, "flux-system-main-flux-system-./clusters/production", "not fleet:repository.branch");
  });

  it("the stack outputs which of bootstrap's keys were revoked, so a title that matched nothing shows", () => {
    assert.ok("bootstrapKeyRevoked" in (result.outputs ?? {}));
  });

  it("a stack that takes nothing over registers no revocation and keeps the pull secret flux-system", async () => {
    const plain = await run({ ...bootstrapped(), "fleet:flux": stackConfig("production")["fleet:flux"] });
    assert.equal(plain.error, undefined, plain.error?.message);
    assert.deepEqual(plain.resources.filter((r) => r.type === REVOCATION), []);
    assert.equal(one(plain, INSTANCE).inputs.spec.sync.pullSecret, "flux-system");
    assert.ok(plain.resources.some((r) => r.type === `${NAMESPACE}Patch` && r.inputs.metadata.name === "flux-system"), "an existing cluster's flux-system is taken as it is");
  });
});

describe("Taking over a flux bootstrap cluster: bad config registers nothing", () => {
  async function problems(config: Record<string, unknown>): Promise<string> {
    const result = await run(config);
    assert.ok(result.error, "the run fails");
    assert.deepEqual(result.resources, []);
    return result.error.message;
  }

  it("on a kind cluster, which no one bootstrapped", async () => {
    const kind = { ...bootstrapped(), "fleet:cluster": stackConfig("production")["fleet:cluster"] };
    delete (kind as Record<string, unknown>)["fleet:kubeconfig"];
    assert.match(await problems(kind), /fleet:flux\.takeOverBootstrap: only an existing cluster \(fleet:cluster\.type: kubeconfig\)/);
  });

  it("syncing bootstrap's own directory, or one inside it, names a new path", async () => {
    for (const path of ["clusters/production", "clusters/production/apps"]) {
      const same = bootstrapped({ path: "./clusters/production" }, { "fleet:repository": { ...(stackConfig("production")["fleet:repository"] as object), path } });
      assert.match(await problems(same), /fleet:flux\.takeOverBootstrap\.path: fleet:repository\.path is bootstrap's directory or inside it, .*Set fleet:repository\.path to a new directory \(e\.g\. clusters\/production-operator\)/, path);
    }
  });

  it("without fleet:flux.components spelled out, since a controller bootstrap installed and the FluxInstance lacks is pruned", async () => {
    const flux: Record<string, unknown> = { ...(stackConfig("production")["fleet:flux"] as Record<string, unknown>), takeOverBootstrap: { path: "clusters/production" } };
    delete flux.components;
    assert.match(await problems({ ...bootstrapped(), "fleet:flux": flux }), /fleet:flux\.takeOverBootstrap: needs fleet:flux\.components set to every controller flux bootstrap installed/);
  });

  it("an unknown key lists takeOverBootstrap's own keys", async () => {
    assert.match(await problems(bootstrapped({ path: "clusters/production", brnach: "main" })), /fleet:flux\.takeOverBootstrap\.brnach: unknown key; did you mean 'branch'\? Allowed keys: path, branch/);
  });
});

/** A GitHub double of one repository's deploy keys: list (paged as GitHub pages) and delete. */
function keysDouble(keys: { id: number; title: string }[], failDelete?: number) {
  const calls: string[] = [];
  const request: GitHubRequest = async (method, path) => {
    calls.push(`${method} ${path}`);
    const list = /^\/repos\/acme-org\/flux-fleet\/keys\?per_page=(\d+)&page=(\d+)$/.exec(path);
    if (method === "GET" && list) {
      const [size, page] = [Number(list[1]), Number(list[2])];
      return { status: 200, body: keys.slice((page - 1) * size, page * size) };
    }
    const one = /^\/repos\/acme-org\/flux-fleet\/keys\/(\d+)$/.exec(path);
    if (method === "DELETE" && one) {
      const id = Number(one[1]);
      if (id === failDelete) return { status: 403, body: { message: "Resource not accessible by integration" } };
      const at = keys.findIndex((k) => k.id === id);
      if (at < 0) return { status: 404, body: { message: "Not Found" } };
      keys.splice(at, 1);
      return { status: 204, body: undefined };
    }
    return { status: 404, body: { message: "Not Found" } };
  };
  return { request, calls, keys };
}

describe("Taking over a flux bootstrap cluster: revoking bootstrap's key", () => {
  const title = bootstrapKeyTitle("main", "clusters/production");
  const spec = { owner: "acme-org", repository: "flux-fleet", title };

  it("revokes this cluster's bootstrap key only: not the stack's own key, not another cluster's bootstrap key", async () => {
    const github = keysDouble([
      { id: 1, title: "flux-production" },
      { id: 2, title: "flux-system-main-flux-system-./clusters/production" },
      { id: 3, title: "flux-system-main-flux-system-./clusters/staging" },
      { id: 4, title: "flux-system-main-flux-system-./clusters/production-eu" },
      { id: 5, title: "flux-system-fleet-flux-system-./clusters/production" },
    ]);
    const created = await new BootstrapKeyRevocationProvider(github.request).create(spec);
    assert.deepEqual(created.outs?.revoked, ["2 flux-system-main-flux-system-./clusters/production"]);
    assert.deepEqual(github.keys.map((k) => k.id), [1, 3, 4, 5]);
  });

  it("finds the key past GitHub's first page of 100", async () => {
    const many = Array.from({ length: 150 }, (_, i) => ({ id: i + 1, title: `flux-cluster-${i}` }));
    many[120] = { id: 121, title: "flux-system-main-flux-system-./clusters/production" };
    const github = keysDouble(many);
    const created = await new BootstrapKeyRevocationProvider(github.request).create(spec);
    assert.deepEqual(created.outs?.revoked, ["121 flux-system-main-flux-system-./clusters/production"]);
    assert.equal(github.calls.filter((c) => c.startsWith("GET")).length, 2);
  });

  it("no such key (revoked by hand, or a wrong path) revokes nothing and does not fail", async () => {
    const github = keysDouble([{ id: 1, title: "flux-production" }]);
    assert.deepEqual((await new BootstrapKeyRevocationProvider(github.request).create(spec)).outs?.revoked, []);
  });

  it("a refused revocation fails the update, naming the key and GitHub's answer", async () => {
    const github = keysDouble([{ id: 2, title }], 2);
    assert.equal(title, "flux-system-main-flux-system-./clusters/production");
    await assert.rejects(new BootstrapKeyRevocationProvider(github.request).create(spec), /revoking deploy key 2 \(flux-system-main-flux-system-\.\/clusters\/production\) of acme-org\/flux-fleet failed: GitHub answered 403 \(Resource not accessible by integration\)/);
  });

  it("destroy restores nothing, and another title revokes again", async () => {
    const github = keysDouble([{ id: 2, title }]);
    const provider = new BootstrapKeyRevocationProvider(github.request);
    await provider.delete();
    assert.deepEqual(github.calls, [], "destroy sends nothing to GitHub");
    const diff = await provider.diff("id", { ...spec, revoked: [] }, { ...spec, title: bootstrapKeyTitle("main", "clusters/prod") });
    assert.deepEqual(diff.replaces, ["title"]);
    assert.equal((await provider.diff("id", { ...spec, revoked: [] }, spec)).changes, false);
  });
});
