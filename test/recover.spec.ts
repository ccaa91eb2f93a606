/**
 * npm run recover (scripts/recover.ts): what it does with each pending operation an interrupted
 * `up` leaves, the state it writes, the deploy-key lookup by public key
 * (components/github/pending-key.ts) against GitHub's answers, and --check's stop on a lost state.
 * The whole recovery runs on the rig after an `up` killed once GitHub made a deploy key (real tier 6g).
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { GitHubRequest } from "../components/github/client";
import { deployKeyWithPublicKey, keyMaterial } from "../components/github/pending-key";
import { applyPlan, KubeTarget, liveFleetOnEmptyState, Lookups, planRecovery } from "../scripts/recover";
import { Deployment } from "../scripts/lib/state";

const urn = (type: string, name: string) => `urn:pulumi:staging::fleet::fleet:tenant:Tenant$${type}::${name}`;
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBq1";

/** The state of a stack whose `up` was killed while it made tenant search: one pending operation of each kind it can leave. */
const deployment: Deployment = {
  resources: [{ type: "pulumi:providers:github", urn: "urn:pulumi:staging::fleet::pulumi:providers:github::default", inputs: { owner: "acme-org" }, outputs: { owner: "acme-org" } }],
  pending_operations: [
    { type: "creating", resource: { type: "github:index/repositoryDeployKey:RepositoryDeployKey", urn: urn("github:index/repositoryDeployKey:RepositoryDeployKey", "search-key"), inputs: { repository: "search-deploy", key: `${KEY} made-by-tls\n`, title: "flux-staging" } } },
    { type: "creating", resource: { type: "github:index/repositoryDeployKey:RepositoryDeployKey", urn: urn("github:index/repositoryDeployKey:RepositoryDeployKey", "other-key"), inputs: { repository: "other-deploy", key: KEY } } },
    { type: "creating", resource: { type: "kubernetes:core/v1:Secret", urn: urn("kubernetes:core/v1:Secret", "search/flux-search"), inputs: { apiVersion: "v1", kind: "Secret", metadata: { name: "flux-search", namespace: "search" } } } },
    { type: "creating", resource: { type: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", urn: urn("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "search-view"), inputs: { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "search-view" } } } },
    { type: "creating", resource: { type: "kubernetes:core/v1:ConfigMap", urn: urn("kubernetes:core/v1:ConfigMap", "search/unreachable"), inputs: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "unreachable", namespace: "search" } } } },
    { type: "creating", resource: { type: "kubernetes:core/v1:NamespacePatch", urn: urn("kubernetes:core/v1:NamespacePatch", "flux-system"), inputs: { metadata: { name: "flux-system" } } } },
    { type: "creating", resource: { type: "kubernetes:helm.sh/v3:Release", urn: urn("kubernetes:helm.sh/v3:Release", "flux-operator"), inputs: { name: "flux-operator", namespace: "flux-system" } } },
    { type: "creating", resource: { type: "tls:index/privateKey:PrivateKey", urn: urn("tls:index/privateKey:PrivateKey", "search-key"), inputs: {} } },
    // search-deploy: GitHub generated it, and the run was cut off before the provider's settings PATCH.
    { type: "creating", resource: { type: "github:index/repository:Repository", urn: urn("github:index/repository:Repository", "search-repository"), inputs: { name: "search-deploy", description: "Deployment repository of tenant search", visibility: "private", hasIssues: true, hasWiki: false, hasProjects: false, deleteBranchOnMerge: true, homepageUrl: "", template: { owner: "acme-org", repository: "flux-fleet-tenant-template" } } } },
    { type: "creating", resource: { type: "github:index/repository:Repository", urn: urn("github:index/repository:Repository", "never-repository"), inputs: { name: "never-deploy" } } },
    { type: "creating", resource: { type: "pulumi-nodejs:dynamic/fleet:KindCluster", urn: urn("pulumi-nodejs:dynamic/fleet:KindCluster", "staging-kind"), inputs: { name: "fleet-staging" } } },
    { type: "creating", resource: { type: "pulumi-nodejs:dynamic/fleet:KindCluster", urn: urn("pulumi-nodejs:dynamic/fleet:KindCluster", "never-made"), inputs: { name: "fleet-never" } } },
    { type: "updating", resource: { type: "kubernetes:core/v1:Namespace", urn: urn("kubernetes:core/v1:Namespace", "search"), inputs: {} } },
  ],
};

/** GitHub holds search-deploy's key (id 42), the cluster the Secret and the release, kubectl fails on one object. */
const lookups: Lookups = {
  async deployKey(owner, repository, publicKey) {
    assert.equal(owner, "acme-org");
    return repository === "search-deploy" && keyMaterial(publicKey) === KEY ? { id: 42, title: "flux-staging" } : undefined;
  },
  kubeExists(target: KubeTarget) {
    if ("helmRelease" in target) return target.helmRelease === "flux-operator" && target.namespace === "flux-system";
    if (target.name === "unreachable") return "kubectl get ConfigMap.v1. unreachable exited 1: Unable to connect to the server";
    return target.name === "flux-search" && target.namespace === "search";
  },
  kindExists: (name) => name === "fleet-staging",
  repositoryExists: async (owner, name) => owner === "acme-org" && name === "search-deploy",
};

describe("npm run recover: an interrupted up's pending operations", () => {
  it("imports what GitHub, the cluster and kind already hold, clears the rest with a reason, asks where the cluster cannot be asked, and leaves pending updates to the refresh", async () => {
    const plan = await planRecovery(deployment, lookups);
    assert.deepEqual(plan.map((r) => [r.urn.split("::").pop(), r.action, r.action === "import" ? r.id : undefined]), [
      ["search-key", "import", "search-deploy:42"],
      ["other-key", "clear", undefined],
      ["search/flux-search", "import", "search/flux-search"],
      ["search-view", "clear", undefined],
      ["search/unreachable", "ask", undefined],
      ["flux-system", "clear", undefined],
      ["flux-operator", "import", "flux-system/flux-operator"],
      ["search-key", "clear", undefined],
      ["search-repository", "settle", undefined],
      ["never-repository", "clear", undefined],
      ["staging-kind", "import", "fleet-staging"],
      ["never-made", "clear", undefined],
      ["search", "refresh", undefined],
    ]);
    const why = (name: string, type: string) => plan.find((r) => r.urn === urn(type, name))!.why;
    assert.match(why("search-key", "github:index/repositoryDeployKey:RepositoryDeployKey"), /deploy key 42 \("flux-staging"\).*GitHub refuses a key twice/);
    assert.match(why("other-key", "github:index/repositoryDeployKey:RepositoryDeployKey"), /no deploy key with this public key in acme-org\/other-deploy/);
    assert.match(why("search/unreachable", "kubernetes:core/v1:ConfigMap"), /could not be asked \(kubectl .*Unable to connect.*--kubeconfig and --context, and run this again/);
    assert.match(why("search-key", "tls:index/privateKey:PrivateKey"), /new key pair/);
    const settle = plan.find((r) => r.urn === urn("github:index/repository:Repository", "search-repository"))!;
    assert.ok(settle.action === "settle");
    assert.deepEqual(settle.repository, { owner: "acme-org", name: "search-deploy" });
    assert.deepEqual(settle.settings, { description: "Deployment repository of tenant search", has_issues: true, has_projects: false, has_wiki: false, delete_branch_on_merge: true }, "what the provider's PATCH would have set; nothing creation-time (template, visibility), nothing empty");
    assert.match(settle.why, /made by this stack's cut-off run: its creation settings .* are set now, which the next up, adopting it, would not/);
    assert.match(why("never-repository", "github:index/repository:Repository"), /GitHub has no acme-org\/never-deploy: the next up creates it/);
  });

  it("writes the plan into the state: each import a resource with its ID and inputs, each clear dropped, what it asks about and pending updates kept", async () => {
    const plan = await planRecovery(deployment, lookups);
    const after = applyPlan({ deployment }, plan).deployment;
    const added = after.resources!.slice(deployment.resources!.length);
    assert.deepEqual(added.map((r) => [r.urn.split("::").pop(), r.id, r.custom]), [
      ["search-key", "search-deploy:42", true],
      ["search/flux-search", "search/flux-search", true],
      ["flux-operator", "flux-system/flux-operator", true],
      ["staging-kind", "fleet-staging", true],
    ]);
    assert.equal(added[0].inputs!.key, `${KEY} made-by-tls\n`, "the pending create's own inputs, so the next up sees no change");
    assert.deepEqual(added[0].outputs, added[0].inputs, "outputs to be read by the refresh");
    assert.deepEqual(after.pending_operations!.map((op) => [op.resource.urn.split("::").pop(), op.type]), [["search/unreachable", "creating"], ["search", "updating"]]);
  });

  it("a pending create whose resource a later up made is only cleared (importing it would duplicate it in the state)", async () => {
    const made = { ...deployment.pending_operations![2].resource, id: "search/flux-search" };
    const plan = await planRecovery({ ...deployment, resources: [...deployment.resources!, made] }, lookups);
    assert.deepEqual([plan[2].action, plan[2].why], ["clear", "a later up made it: it is in the state already"]);
  });

  it("a state without the GitHub provider's owner, or an input exported as a secret, stops, naming what is missing", async () => {
    await assert.rejects(planRecovery({ pending_operations: deployment.pending_operations!.slice(0, 1) }, lookups), /names no github:owner/);
    const secretKey = { type: "creating", resource: { ...deployment.pending_operations![0].resource, inputs: { repository: "search-deploy", key: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: "x" } } } };
    await assert.rejects(planRecovery({ resources: deployment.resources, pending_operations: [secretKey] }, lookups), /search-key: key is a secret in the exported state/);
  });

  it("--check: exit 1 naming the pending creates and the command to run; 0 with none pending", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "recover-"));
    const check = (d: Deployment) => {
      const file = path.join(dir, "state.json");
      fs.writeFileSync(file, JSON.stringify({ version: 3, deployment: d }));
      return spawnSync(process.execPath, ["-r", "ts-node/register", "scripts/recover.ts", "staging", "--state", file, "--check"], { encoding: "utf8", cwd: path.join(__dirname, "..") });
    };
    const pending = check(deployment);
    assert.equal(pending.status, 1, pending.stderr);
    assert.match(pending.stderr, /stack staging has 12 pending create\(s\) from an interrupted run \(search-key, other-key, .*\)\..*Run: npm run recover -- staging/s);
    // A refresh that recorded its imports and then stopped leaves them pending as imports: still not safe to up.
    const importing = check({ ...deployment, pending_operations: [{ ...deployment.pending_operations![0], type: "importing" }] });
    assert.equal(importing.status, 1, importing.stderr);
    assert.match(importing.stderr, /1 pending create/);
    const typo = spawnSync(process.execPath, ["-r", "ts-node/register", "scripts/recover.ts", "staging", "--dryrun"], { encoding: "utf8", cwd: path.join(__dirname, "..") });
    assert.equal(typo.status, 2);
    assert.match(typo.stderr, /unknown flag\(s\) --dryrun/);
    const clean = check({ resources: deployment.resources });
    assert.equal(clean.status, 0, clean.stderr);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("npm run up on a lost state: recover --check stops when the state holds no FluxInstance and its cluster already runs one", () => {
  it("names npm run adopt for an empty state over a live FluxInstance, and for one a plain up began (new keys, no FluxInstance); a state with its FluxInstance, a cluster with none, or one that does not answer pass", () => {
    const empty: Deployment = { resources: [{ type: "pulumi:pulumi:Stack", urn: "urn:pulumi:staging::fleet::pulumi:pulumi:Stack::fleet-staging" }] };
    assert.match(String(liveFleetOnEmptyState("staging", empty, ["flux-system/flux"])), /stack staging holds no FluxInstance in its state, but its cluster already runs a fleet \(FluxInstance flux-system\/flux\).*npm run adopt -- staging/s);
    const begun: Deployment = { resources: [{ type: "tls:index/privateKey:PrivateKey", urn: "urn:x", custom: true }, { type: "kubernetes:core/v1:Namespace", urn: "urn:y", custom: true }] };
    assert.match(String(liveFleetOnEmptyState("staging", begun, ["flux-system/flux"])), /npm run adopt -- staging/);
    assert.equal(liveFleetOnEmptyState("staging", empty, []), undefined);
    assert.equal(liveFleetOnEmptyState("staging", empty, "kubectl get ... exited 1: Unable to connect to the server"), undefined);
    assert.equal(liveFleetOnEmptyState("staging", { resources: [{ type: "kubernetes:fluxcd.controlplane.io/v1:FluxInstance", urn: "urn:x", custom: true }] }, ["flux-system/flux"]), undefined);
  });

  it("a kind stack stops when kind has its cluster and the state does not; a config it cannot read is said, and does not stop the up", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-check-"));
    try {
      const state = path.join(dir, "state.json");
      fs.writeFileSync(state, JSON.stringify({ version: 3, deployment: { resources: [] } }));
      fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ "fleet:cluster": { objectValue: { type: "kind" } } }));
      fs.writeFileSync(path.join(dir, "pulumi"), `#!/bin/sh\n[ "$1" = config ] && [ -f '${path.join(dir, "config.json")}' ] && cat '${path.join(dir, "config.json")}' && exit 0\necho "error: passphrase must be set" >&2; exit 255\n`, { mode: 0o755 });
      fs.writeFileSync(path.join(dir, "kind"), "#!/bin/sh\n[ \"$*\" = 'get clusters' ] && echo fleet-staging && exit 0\nexit 1\n", { mode: 0o755 });
      const env = { ...process.env, PULUMI: path.join(dir, "pulumi"), KIND: path.join(dir, "kind") };
      const check = () => spawnSync(process.execPath, ["-r", "ts-node/register", "scripts/recover.ts", "staging", "--state", state, "--check"], { encoding: "utf8", cwd: path.join(__dirname, ".."), env });
      const kind = check();
      assert.equal(kind.status, 1, kind.stderr);
      assert.match(kind.stderr, /holds no kind cluster in its state, but kind has one named fleet-staging.*kind delete cluster --name fleet-staging/s);
      fs.rmSync(path.join(dir, "config.json"));
      const unreadable = check();
      assert.equal(unreadable.status, 0, unreadable.stderr);
      assert.match(unreadable.stderr, /could not check that stack staging's cluster runs no fleet its state lacks \(pulumi config --stack staging failed: error: passphrase must be set\); going on/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the command asks the cluster the stack's config names (fleet:kubeconfig, fleet:cluster.context) and exits 1", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-check-"));
    try {
      const state = path.join(dir, "state.json");
      fs.writeFileSync(state, JSON.stringify({ version: 3, deployment: { resources: [] } }));
      // A pulumi that answers `config --json --show-secrets`, and a kubectl that lists one FluxInstance on that context.
      const config = { "fleet:cluster": { objectValue: { type: "kubeconfig", context: "prod" } }, "fleet:kubeconfig": { value: "apiVersion: v1\nkind: Config\n", secret: true } };
      fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(config));
      fs.writeFileSync(path.join(dir, "pulumi"), `#!/bin/sh\n[ "$1" = config ] && cat '${path.join(dir, "config.json")}' && exit 0\nexit 3\n`, { mode: 0o755 });
      fs.writeFileSync(
        path.join(dir, "kubectl"),
        `#!/bin/sh\ncase "$*" in *"--context prod get fluxinstances.fluxcd.controlplane.io --all-namespaces -o json"*) grep -q 'kind: Config' "$2" && echo '{"items":[{"metadata":{"namespace":"flux-system","name":"flux"}}]}' && exit 0 ;; esac\necho "unexpected: $*" >&2; exit 1\n`,
        { mode: 0o755 },
      );
      const env = { ...process.env, PULUMI: path.join(dir, "pulumi"), KUBECTL: path.join(dir, "kubectl") };
      const r = spawnSync(process.execPath, ["-r", "ts-node/register", "scripts/recover.ts", "staging", "--state", state, "--check"], { encoding: "utf8", cwd: path.join(__dirname, ".."), env });
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /already runs a fleet \(FluxInstance flux-system\/flux\).*npm run adopt -- staging/s);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the deploy key GitHub holds with a public key (components/github/pending-key.ts)", () => {
  /** GitHub's list of a repository's deploy keys, paged as GitHub pages it (per_page, page). */
  const github = (keys: { id: number; key: string; title: string }[], seen: string[] = []): GitHubRequest => async (method, p) => {
    seen.push(`${method} ${p}`);
    const url = new URL(p, "https://api.github.com");
    if (url.pathname !== "/repos/acme-org/search-deploy/keys") return { status: 404, body: { message: "Not Found" } };
    const per = Number(url.searchParams.get("per_page") ?? 30);
    const page = Number(url.searchParams.get("page") ?? 1);
    return { status: 200, body: keys.slice((page - 1) * per, page * per) };
  };
  const many = Array.from({ length: 100 }, (_, i) => ({ id: i + 1, key: `ssh-ed25519 AAAAother${i}`, title: `k${i}` }));

  it("finds the key without its comment (GitHub stores none), on a later page too", async () => {
    const seen: string[] = [];
    assert.deepEqual(await deployKeyWithPublicKey("acme-org", "search-deploy", `${KEY} fleet@staging`, github([...many, { id: 777, key: KEY, title: "flux-staging" }], seen)), { id: 777, title: "flux-staging" });
    assert.deepEqual(seen, ["GET /repos/acme-org/search-deploy/keys?per_page=100&page=1", "GET /repos/acme-org/search-deploy/keys?per_page=100&page=2"]);
  });

  it("answers none when no key matches, and fails naming the repository on any other answer", async () => {
    assert.equal(await deployKeyWithPublicKey("acme-org", "search-deploy", KEY, github(many)), undefined);
    await assert.rejects(deployKeyWithPublicKey("acme-org", "gone", KEY, github(many)), /listing the deploy keys of acme-org\/gone failed: GitHub answered 404 \(Not Found\)/);
  });
});
