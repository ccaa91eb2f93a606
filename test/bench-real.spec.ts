/**
 * `npm run bench -- --real` sets the program against a bare program made from the program's own
 * state (scripts/lib/bench-real.ts, `bareSpec`). What makes the comparison fair is pinned here:
 * the same custom resources and inputs, flat, with only the order any program of them needs.
 */
import { strict as assert } from "assert";
import { bareSpec } from "../scripts/lib/bench-real";

const P = "urn:pulumi:s::fleet::";
const K8S = `${P}pulumi:providers:kubernetes::k8s`;
const TENANT = `${P}fleet:tenant:Tenant::t`;
const REPO = `${P}fleet:tenant:Tenant$fleet:repository:Repository::t-repository`;
const urn = (parent: string, type: string, name: string) => `${parent.split("::").slice(0, -1).join("::")}$${type}::${name}`;
const GH_REPO = urn(REPO, "github:index/repository:Repository", "t-repository");
const BRANCH = urn(REPO, "pulumi-nodejs:dynamic/fleet:BranchExists", "t-repository-generated");
const KEY = urn(REPO, "github:index/repositoryDeployKey:RepositoryDeployKey", "t-repository-deploy-key");
const NS = urn(TENANT, "kubernetes:core/v1:Namespace", "t");
const SA = urn(TENANT, "kubernetes:core/v1:ServiceAccount", "t/flux");
const INSTANCE = `${P}fleet:flux:Flux$kubernetes:fluxcd.controlplane.io/v1:FluxInstance::flux-instance`;
const GIT = urn(TENANT, "kubernetes:source.toolkit.fluxcd.io/v1:GitRepository", "t/t");
const SECRET = urn(TENANT, "kubernetes:core/v1:Secret", "t/t-git");
const KS = urn(TENANT, "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization", "t/t");
const OTHER_SA = `${P}fleet:tenant:Tenant$fleet:other:Thing$kubernetes:core/v1:ServiceAccount::t/flux`;

const deployment = {
  resources: [
    { urn: K8S, custom: true, id: "p1", type: "pulumi:providers:kubernetes", inputs: { kubeconfig: "x", version: "4.34.2" } },
    { urn: TENANT, custom: false, type: "fleet:tenant:Tenant" },
    { urn: REPO, custom: false, type: "fleet:repository:Repository", parent: TENANT },
    { urn: GH_REPO, custom: true, type: "github:index/repository:Repository", parent: REPO, inputs: { name: "t-deploy", __defaults: ["visibility"] } },
    { urn: BRANCH, custom: true, type: "pulumi-nodejs:dynamic/fleet:BranchExists", parent: REPO, inputs: { repository: "t-deploy" }, propertyDependencies: { repository: [GH_REPO] } },
    // Its repository comes only as BranchExists's output here: the dynamic resource is looked through.
    { urn: KEY, custom: true, type: "github:index/repositoryDeployKey:RepositoryDeployKey", parent: REPO, inputs: { title: "flux-s" }, dependencies: [BRANCH], propertyDependencies: { repository: [BRANCH] } },
    { urn: NS, custom: true, type: "kubernetes:core/v1:Namespace", parent: TENANT, provider: `${K8S}::p1`, inputs: { kind: "Namespace", metadata: { name: "t" } } },
    { urn: SA, custom: true, type: "kubernetes:core/v1:ServiceAccount", parent: TENANT, provider: `${K8S}::p1`, dependencies: [NS], inputs: { kind: "ServiceAccount", metadata: { name: "flux", namespace: "t" } } },
    { urn: SECRET, custom: true, type: "kubernetes:core/v1:Secret", parent: TENANT, provider: `${K8S}::p1`, dependencies: [NS], inputs: { kind: "Secret", metadata: { name: "t-git", namespace: "t" } } },
    {
      urn: INSTANCE, custom: true, type: "kubernetes:fluxcd.controlplane.io/v1:FluxInstance", provider: `${K8S}::p1`,
      inputs: { metadata: { name: "flux", namespace: "flux-system", annotations: { "pulumi.com/waitFor": "condition=Ready", "pulumi.com/timeoutSeconds": "1800", keep: "me" } } },
    },
    {
      urn: GIT, custom: true, type: "kubernetes:source.toolkit.fluxcd.io/v1:GitRepository", parent: TENANT, provider: `${K8S}::p1`, dependencies: [INSTANCE, NS, KEY, SECRET],
      inputs: { kind: "GitRepository", metadata: { name: "t", namespace: "t" }, spec: { secretRef: { name: "t-git" } } },
    },
    {
      urn: KS, custom: true, type: "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization", parent: TENANT, provider: `${K8S}::p1`, dependencies: [INSTANCE, GIT],
      inputs: { kind: "Kustomization", metadata: { name: "t", namespace: "t" }, spec: { sourceRef: { kind: "GitRepository", name: "t" } } },
    },
    // Same type and name as SA under another parent: one URN once flattened, so it is renamed.
    { urn: OTHER_SA, custom: true, type: "kubernetes:core/v1:ServiceAccount", parent: TENANT, provider: `${K8S}::p1`, inputs: { kind: "ServiceAccount", metadata: { name: "flux", namespace: "other" } } },
  ],
};

describe("npm run bench -- --real: the bare program made from the state", () => {
  const spec = bareSpec(deployment);
  const byUrn = new Map(spec.resources.map((r) => [r.urn, r]));

  it("registers every custom resource of a real provider with its inputs and provider, and no component or dynamic resource", () => {
    assert.deepEqual(spec.resources.map((r) => r.urn), [GH_REPO, KEY, NS, SA, SECRET, INSTANCE, GIT, KS, OTHER_SA]);
    assert.deepEqual(spec.providers, [{ ref: `${K8S}::p1`, pkg: "kubernetes", name: "bare-k8s", inputs: { kubeconfig: "x", version: "4.34.2" } }]);
    assert.equal(byUrn.get(SA)!.provider, `${K8S}::p1`);
    assert.deepEqual(byUrn.get(GH_REPO)!.inputs, { name: "t-deploy" }, "the bridge's __defaults is not an input");
    assert.deepEqual(byUrn.get(SA)!.inputs, deployment.resources.find((r) => r.urn === SA)!.inputs);
    assert.equal(byUrn.get(OTHER_SA)!.name, "t/flux-dup");
  });

  it("keeps the order any program of them needs: data dependencies (through a dynamic resource to what it read), a repository, namespace, Secret or source by name", () => {
    assert.deepEqual(byUrn.get(KEY)!.dependsOn, [GH_REPO], "the key's input came through BranchExists from the repository");
    assert.deepEqual(byUrn.get(BRANCH), undefined);
    assert.deepEqual(byUrn.get(SA)!.dependsOn, [NS]);
    assert.deepEqual(byUrn.get(KS)!.dependsOn, [NS, GIT], "its sourceRef");
    assert.deepEqual(byUrn.get(GH_REPO)!.dependsOn, []);
  });

  it("drops what the program adds: dependsOn (the GitRepository's wait for the FluxInstance and the key) and the FluxInstance's readiness wait", () => {
    assert.deepEqual(byUrn.get(GIT)!.dependsOn, [NS, SECRET], "its namespace and its secretRef, not the FluxInstance or the key");
    assert.deepEqual(byUrn.get(INSTANCE)!.inputs.metadata.annotations, { keep: "me" });
  });
});
