/**
 * What the program does with each Kubernetes object it makes when that object is already on the
 * user's cluster (`fleet:cluster.type: kubeconfig`): the choice is pinned per object here, so an
 * object added without one turns this red.
 *
 * The choices, at the pinned @pulumi/kubernetes 4.34.2 (read from pulumi-kubernetes up to v4.32.0
 * and master; 4.34's source is not available here):
 * - **patch**: a `*Patch` resource, a server-side apply that takes the object if it is there and
 *   creates it if not (provider/pkg/await/await.go, `kinds.IsPatchResource`, v4.32.0:190).
 * - **helm**: a Helm release; Helm refuses a release name in use ("cannot re-use a name that is
 *   still in use", helm v3 pkg/action/install.go) and chart objects of another release.
 * - **create**: a plain create, which since pulumi/pulumi-kubernetes#4278 (4.29.0) is client-side
 *   and fails at `up` with `AlreadyExists` and the provider's hint (await.go:276-289). That is by
 *   design: a tenant namespace or a policy someone else made is not silently taken. The preview
 *   does not show it (the dry-run's AlreadyExists only marks the preview failed-soft,
 *   provider.go:1811-1813); docs/operations.md says to run that `up` with
 *   `PULUMI_K8S_UPSERT_EXISTING_OBJECTS=true` once.
 * The rig's provider is v4.25.0, which upserts every create (await.go:211-212 there), so the real
 * tier shows the patch and helm paths (1b: flux-system taken by its NamespacePatch; the operator's
 * release), never the create refusal (rig/README.md, "The provider gap").
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { runProgram, stackConfig } from "./harness";

type Choice = "patch" | "helm" | "create";

/** Every Kubernetes object type the program registers on an existing cluster, and its choice. */
const CHOICES: Readonly<Record<string, Choice>> = {
  "kubernetes:core/v1:NamespacePatch": "patch",
  "kubernetes:helm.sh/v3:Release": "helm",
  "kubernetes:core/v1:Namespace": "create",
  "kubernetes:core/v1:Secret": "create",
  "kubernetes:core/v1:ServiceAccount": "create",
  "kubernetes:core/v1:ResourceQuota": "create",
  "kubernetes:core/v1:LimitRange": "create",
  "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": "create",
  "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": "create",
  "kubernetes:networking.k8s.io/v1:NetworkPolicy": "create",
  "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy": "create",
  "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding": "create",
  "kubernetes:fluxcd.controlplane.io/v1:FluxInstance": "create",
  "kubernetes:source.toolkit.fluxcd.io/v1:GitRepository": "create",
  "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization": "create",
};

const EXISTING = {
  "fleet:cluster": { type: "kubeconfig", context: "prod-admin" },
  "fleet:kubeconfig": "apiVersion: v1\nkind: Config\ncurrent-context: prod-admin\n",
};

describe("Objects that may already be on an existing cluster: each one's choice is pinned", () => {
  it("every Kubernetes object type registered has a choice, and only flux-system is patched", async () => {
    const result = await runProgram({ stack: "staging", config: { ...stackConfig("staging"), ...EXISTING }, secretKeys: ["fleet:kubeconfig"] });
    assert.equal(result.error, undefined, result.error?.message);
    const kube = result.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:"));
    assert.ok(kube.length > 20, `${kube.length} Kubernetes objects`);
    const unpinned = [...new Set(kube.map((r) => r.type))].filter((t) => !(t in CHOICES));
    assert.deepEqual(unpinned, [], "a Kubernetes object type without a choice for when it already exists: add it to CHOICES, and to docs/operations.md if it is not a plain create");
    assert.deepEqual(Object.keys(CHOICES).filter((t) => !kube.some((r) => r.type === t)), [], "a choice for a type the program no longer registers");
    for (const r of kube) {
      const choice = CHOICES[r.type];
      assert.equal(r.type.endsWith("Patch"), choice === "patch", `${r.type} ${r.name}`);
    }
    // The one object that is expected to be there already: flux-system, which the operator's
    // install or an earlier stack (destroy keeps it on an existing cluster) may have made.
    const patched = kube.filter((r) => CHOICES[r.type] === "patch").map((r) => `${r.type} ${r.inputs.metadata?.name}`);
    assert.deepEqual(patched, ["kubernetes:core/v1:NamespacePatch flux-system"]);
    const releases = kube.filter((r) => CHOICES[r.type] === "helm").map((r) => `${r.inputs.namespace}/${r.inputs.name}`);
    assert.deepEqual(releases, ["flux-system/flux-operator"]);
  });

  it("on kind the cluster is new, so nothing can already be there: flux-system is a plain Namespace", async () => {
    const result = await runProgram({ stack: "staging", config: stackConfig("staging") });
    assert.equal(result.error, undefined, result.error?.message);
    assert.deepEqual(result.resources.filter((r) => r.type.endsWith("Patch")).map((r) => r.name), []);
  });

  it("docs/operations.md names the refusal a plain create meets, and its one-time way through", () => {
    const ops = fs.readFileSync(path.join(__dirname, "..", "docs", "operations.md"), "utf8").replace(/\s+/g, " ");
    assert.match(ops, /refused by pulumi-kubernetes 4\.34 with `AlreadyExists`/);
    assert.match(ops, /PULUMI_K8S_UPSERT_EXISTING_OBJECTS=true/);
    assert.match(ops, /NamespacePatch/);
  });
});
