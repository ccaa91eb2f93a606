/**
 * `npm run drift` (scripts/drift.ts): the exact comparison that sees what `pulumi preview
 * --refresh` cannot, additions. The live objects here are the desired ones as an API server
 * stores them (its defaults, metadata and status added); the rig's real tier checks the same
 * against a real kube-apiserver (test/real/fleet.spec.ts, "drift").
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import {
  KubeObject,
  PARTIAL,
  UNKNOWN,
  applySchemaDefaults,
  compareObject,
  contextFor,
  crdSchemas,
  desiredObjects,
  formatDifference,
  main,
  OPERATOR_METADATA,
  quantityValue,
  repairPatch,
  report,
  resourceArg,
  withServerDefaults,
} from "../scripts/drift";
import { REPO_ROOT, stackConfigAt } from "./harness";
import { fluxInstanceCrd } from "./schemas";

/** What a kube-apiserver adds to a stored object, besides defaults. */
function stored(o: KubeObject, crds: ReadonlyMap<string, unknown>): KubeObject {
  const s = withServerDefaults(o, crds);
  return {
    ...s,
    metadata: { ...s.metadata, uid: "0b7c", resourceVersion: "42", generation: 1, creationTimestamp: "2026-12-02T00:00:00Z", managedFields: [{ manager: "pulumi-kubernetes" }], finalizers: ["finalizers.fluxcd.io"] },
    status: { conditions: [{ type: "Ready", status: "True" }] },
  };
}

/** The live object the API server returns: UNKNOWN leaves (secrets) filled with some value. */
function filled(v: any): any {
  if (v === UNKNOWN) return "c2VjcmV0";
  if (Array.isArray(v)) return v.map(filled);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, filled(x)]));
  return v;
}

/** RFC 6902 add/remove/replace, enough to apply a repair patch. */
function applyPatch(o: any, ops: any[]): any {
  const doc = JSON.parse(JSON.stringify(o));
  for (const op of ops) {
    const keys = op.path.split("/").slice(1).map((k: string) => k.replace(/~1/g, "/").replace(/~0/g, "~"));
    const last = keys.pop();
    const parent = keys.reduce((x: any, k: string) => x[k], doc);
    if (op.op !== "remove") parent[last] = op.value;
    else if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  }
  return doc;
}

const FLUX_INSTANCE_CRD = fluxInstanceCrd();
function crds(): Map<string, unknown> {
  if (!FLUX_INSTANCE_CRD) return new Map();
  return crdSchemas({ items: [parseYaml(fs.readFileSync(FLUX_INSTANCE_CRD, "utf8"))] });
}

let staging: Promise<KubeObject[]> | undefined;
function desired(): Promise<KubeObject[]> {
  if (!staging) {
    const { config, secretKeys } = stackConfigAt(REPO_ROOT, "staging");
    staging = desiredObjects("staging", config, secretKeys);
  }
  return staging;
}

async function liveCluster(): Promise<KubeObject[]> {
  const c = crds();
  return (await desired()).map((o) => filled(stored(o, c)));
}

function find(objects: KubeObject[], kind: string, name: string, namespace?: string): KubeObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name && x.metadata.namespace === namespace);
  assert.ok(o, `${kind} ${namespace}/${name} is in the stack`);
  return o;
}

describe("drift: repair commands name the kind the way kubectl reads it", () => {
  it("a core-group kind ends in a dot (ConfigMap.v1.), since ConfigMap.v1 would read v1 as a group; the real tier pastes one of each kind (1j)", () => {
    assert.equal(resourceArg({ apiVersion: "v1", kind: "ConfigMap" }), "ConfigMap.v1.");
    assert.equal(resourceArg({ apiVersion: "v1", kind: "Namespace" }), "Namespace.v1.");
    assert.equal(resourceArg({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding" }), "RoleBinding.v1.rbac.authorization.k8s.io");
    assert.equal(resourceArg({ apiVersion: "fluxcd.controlplane.io/v1", kind: "FluxInstance" }), "FluxInstance.v1.fluxcd.controlplane.io");
  });
});

describe("drift: the exact comparison of the declared objects with the live ones", () => {
  it("takes the stack's Kubernetes objects from the program; Secrets' contents are unknown, not compared", async () => {
    const objects = await desired();
    const kinds = new Set(objects.map((o) => o.kind));
    for (const kind of ["Namespace", "ServiceAccount", "RoleBinding", "ClusterRoleBinding", "NetworkPolicy", "FluxInstance", "GitRepository", "Kustomization", "ResourceQuota", "LimitRange", "Secret"]) {
      assert.ok(kinds.has(kind), `${kind} is compared`);
    }
    assert.ok(!objects.some((o) => o.kind === undefined), "no provider or Helm release among them");
    const secret = find(objects, "Secret", "shop-git", "shop");
    assert.equal(secret.stringData, UNKNOWN, "the deploy key is a secret: not known offline");
  });

  it("an object the program only patches (flux-system's NamespacePatch on an existing cluster) drifts in what it declares, not in what others added", async () => {
    const { config, secretKeys } = stackConfigAt(REPO_ROOT, "staging");
    const existing = await desiredObjects("staging", { ...config, "fleet:cluster": { type: "kubeconfig" }, "fleet:kubeconfig": "apiVersion: v1\nkind: Config\n" }, [...secretKeys, "fleet:kubeconfig"]);
    const ns = find(existing, "Namespace", "flux-system");
    assert.equal((ns as any)[PARTIAL], true, "taken from a NamespacePatch");
    const live = { ...ns, metadata: { name: "flux-system", labels: { "kubernetes.io/metadata.name": "flux-system", team: "platform" }, annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}" }, uid: "1" }, spec: { finalizers: ["kubernetes"] } } as KubeObject;
    assert.deepEqual(compareObject(ns, live), [], "a platform team's labels and annotations are theirs");
    assert.deepEqual(repairPatch(ns, live), [], "and no repair removes them");
    assert.deepEqual(report([ns], [live], new Map()), { differences: [], repairs: [] }, "what npm run drift prints");
    // What it declares still counts: its own label gone is drift.
    const unlabelled = { ...live, metadata: { ...live.metadata, labels: { team: "platform" } } };
    assert.deepEqual(report([ns], [unlabelled], new Map()).differences.map((d) => d.change), ["removed"]);
    // A full Namespace (a tenant's) still reports the same addition.
    const tenant = find(existing, "Namespace", "shop");
    assert.equal((tenant as any)[PARTIAL], undefined);
    assert.ok(compareObject(tenant, { ...tenant, metadata: { ...tenant.metadata, annotations: { x: "y" } } }).some((d) => d.change === "added"));
  });

  it("flux-system on a kind stack (a full Namespace) with the Flux Operator's labels and annotations: not drift, and no repair removes one; the same key written with kubectl is drift", async () => {
    const ns = find(await desired(), "Namespace", "flux-system");
    assert.equal((ns as any)[PARTIAL], undefined, "on kind the program declares the whole Namespace");
    // What flux-operator v0.58.1 applies to it (OPERATOR_METADATA's sources), as field manager flux-operator.
    const labels: Record<string, string> = {
      "app.kubernetes.io/managed-by": "flux-operator", "app.kubernetes.io/instance": "flux-system", "app.kubernetes.io/version": "v2.9.4",
      "app.kubernetes.io/part-of": "flux", "fluxcd.controlplane.io/name": "flux", "fluxcd.controlplane.io/namespace": "flux-system",
      "pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/warn-version": "latest",
    };
    const annotations: Record<string, string> = { "kustomize.toolkit.fluxcd.io/ssa": "Ignore", "kustomize.toolkit.fluxcd.io/prune": "Disabled", "fluxcd.controlplane.io/prune": "disabled" };
    assert.deepEqual([Object.keys(labels), Object.keys(annotations)], [OPERATOR_METADATA.labels, OPERATOR_METADATA.annotations]);
    const fields = (ls: string[], as: string[]) => ({
      "f:metadata": { "f:labels": Object.fromEntries(ls.map((k) => [`f:${k}`, {}])), ...(as.length ? { "f:annotations": Object.fromEntries(as.map((k) => [`f:${k}`, {}])) } : {}) },
    });
    const base = stored(ns, new Map());
    const live = (managers: object[]) => ({
      ...base,
      metadata: { ...base.metadata, labels: { ...base.metadata.labels, ...labels }, annotations: annotations, managedFields: [{ manager: "pulumi-kubernetes-abc", fieldsV1: {} }, ...managers] },
    }) as KubeObject;
    const operator = live([{ manager: "flux-operator", operation: "Apply", fieldsV1: fields(Object.keys(labels), Object.keys(annotations)) }]);
    assert.deepEqual(compareObject(ns, operator), [], "the operator's metadata is not drift");
    assert.deepEqual(repairPatch(ns, operator), []);
    assert.deepEqual(report([ns], [operator], new Map()), { differences: [], repairs: [] });

    // One label and one annotation of those names written with kubectl instead: drift, repaired key by key.
    const byHand = live([
      { manager: "flux-operator", operation: "Apply", fieldsV1: fields(Object.keys(labels).filter((k) => k !== "app.kubernetes.io/part-of"), Object.keys(annotations).filter((k) => k !== "fluxcd.controlplane.io/prune")) },
      { manager: "kubectl-label", operation: "Update", fieldsV1: fields(["app.kubernetes.io/part-of"], ["fluxcd.controlplane.io/prune"]) },
    ]);
    assert.deepEqual(compareObject(ns, byHand).map((d) => `${d.path} ${d.change}`).sort(), ["metadata.annotations added", 'metadata.labels["app.kubernetes.io/part-of"] added']);
    // On any other object (a tenant's namespace) the same keys, even as flux-operator, are drift:
    // the program declares nothing the operator applies there.
    const shop = find(await desired(), "Namespace", "shop");
    const stored_ = stored(shop, new Map());
    const posing = { ...stored_, metadata: { ...stored_.metadata, labels: { ...stored_.metadata.labels, "app.kubernetes.io/part-of": "flux" }, managedFields: [{ manager: "flux-operator", operation: "Apply", fieldsV1: fields(["app.kubernetes.io/part-of"], []) }] } } as KubeObject;
    assert.deepEqual(compareObject(shop, posing).map((d) => `${d.path} ${d.change}`), ['metadata.labels["app.kubernetes.io/part-of"] added']);
    // The repair removes those two keys and nothing the operator owns.
    const patch = repairPatch(ns, byHand)!;
    assert.deepEqual(patch.map((op: any) => `${op.op} ${op.path}`).sort(), ["remove /metadata/annotations/fluxcd.controlplane.io~1prune", "remove /metadata/labels/app.kubernetes.io~1part-of"]);
  });

  it("finds no drift in a cluster that holds exactly what the stack declares, as the API server stores it", async () => {
    const { differences } = report(await desired(), await liveCluster(), crds());
    assert.deepEqual(differences.map(formatDifference), []);
  });

  it("reports a subject appended to a tenant RoleBinding, which pulumi preview --refresh cannot see, with a patch that removes it", async () => {
    const live = await liveCluster();
    const rb = find(live, "RoleBinding", "flux", "shop") as any;
    rb.subjects.push({ kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "mallory" });
    const { differences, repairs } = report(await desired(), live, crds());
    assert.deepEqual(differences.map(formatDifference), [
      'RoleBinding shop/flux: subjects[1] added: {"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"mallory"} (not declared by the program)',
    ]);
    assert.equal(repairs.length, 1);
    assert.match(repairs[0], /^kubectl patch RoleBinding\.v1\.rbac\.authorization\.k8s\.io flux -n shop --type=json -p '\[\{"op":"replace","path":"\/subjects"/);
    const patch = repairPatch(find(await desired(), "RoleBinding", "flux", "shop"), rb, crds())!;
    assert.deepEqual(compareObject(find(await desired(), "RoleBinding", "flux", "shop"), applyPatch(rb, patch), crds()), [], "the patch restores the declared subjects");
  });

  it("a label added where the program declares none is removed key by key: the repair never removes metadata, nor annotations the comparison leaves out", async () => {
    const live = await liveCluster();
    const instance = find(live, "FluxInstance", "flux", "flux-system") as any;
    const crb = find(live, "ClusterRoleBinding", "flux-system-flux") as any;
    for (const o of [instance, crb]) o.metadata.labels = { ...(o.metadata.labels ?? {}), "drift.test/probe": "added" };
    for (const [declared, changed] of [[find(await desired(), "FluxInstance", "flux", "flux-system"), instance], [find(await desired(), "ClusterRoleBinding", "flux-system-flux"), crb]]) {
      const patch = repairPatch(declared, changed, crds())!;
      assert.deepEqual(patch, [{ op: "remove", path: "/metadata/labels/drift.test~1probe" }], JSON.stringify(patch));
      const repaired = applyPatch(changed, patch) as any;
      assert.equal(repaired.metadata.name, changed.metadata.name, "the name stays");
      assert.deepEqual(repaired.metadata.annotations, changed.metadata.annotations, "annotations the comparison ignores stay (pulumi.com/waitFor)");
      assert.deepEqual(compareObject(declared, repaired, crds()), []);
    }
  });

  it("reports a rule appended to a NetworkPolicy, a label added to a namespace and an extra ClusterRoleBinding subject", async () => {
    const live = await liveCluster();
    const np = find(live, "NetworkPolicy", "shop-isolation", "shop") as any;
    np.spec.ingress.push({ from: [{ namespaceSelector: {} }] });
    find(live, "Namespace", "payments").metadata.labels!["team"] = "payments";
    (find(live, "ClusterRoleBinding", "flux-system-flux") as any).subjects.push({ kind: "ServiceAccount", name: "default", namespace: "shop" });
    const found = report(await desired(), live, crds()).differences.map(formatDifference).sort();
    assert.deepEqual(found, [
      'Namespace payments: metadata.labels.team added: "payments" (not declared by the program)',
      'NetworkPolicy shop/shop-isolation: spec.ingress[1] added: {"from":[{"namespaceSelector":{}}]} (not declared by the program)',
      'ClusterRoleBinding flux-system-flux: subjects[1] added: {"kind":"ServiceAccount","name":"default","namespace":"shop"} (not declared by the program)',
    ].sort(), found.join("\n"));
  });

  it("reports a suspended Kustomization and patches added to the FluxInstance", async function () {
    const live = await liveCluster();
    (find(live, "Kustomization", "shop", "shop") as any).spec.suspend = true;
    // A second patch beside the program's egress patch: one that would drop a controller flag.
    const instance = find(live, "FluxInstance", "flux", "flux-system") as any;
    instance.spec.kustomize.patches.push({ patch: "- op: remove\n  path: /spec/template/spec/containers/0/args/0" });
    const found = report(await desired(), live, crds()).differences.map(formatDifference);
    assert.ok(found.includes("Kustomization shop/shop: spec.suspend: true (declared: false)"), found.join("\n"));
    assert.ok(found.some((f) => f.startsWith('FluxInstance flux-system/flux: spec.kustomize.patches[2] added: {"patch"')), found.join("\n"));
  });

  it("reports a missing object, a changed Secret type and a kubectl last-applied annotation; ignores Flux's reconcile triggers and Pulumi's own annotations", async () => {
    const desiredObjects = await desired();
    const live = (await liveCluster()).filter((o) => !(o.kind === "LimitRange" && o.metadata.namespace === "payments"));
    find(live, "Secret", "shop-git", "shop").type = "kubernetes.io/ssh-auth";
    const ks = find(live, "Kustomization", "shop", "shop");
    ks.metadata.annotations = { "reconcile.fluxcd.io/requestedAt": "2026-12-02T10:00:00Z", "pulumi.com/patchForce": "true" };
    find(live, "ServiceAccount", "flux", "shop").metadata.annotations = { "kubectl.kubernetes.io/last-applied-configuration": "{}" };
    const found = report(desiredObjects, live, crds()).differences.map(formatDifference);
    assert.deepEqual(found.sort(), [
      "LimitRange payments/payments-limits: missing (pulumi up --refresh recreates it)",
      'Secret shop/shop-git: type: "kubernetes.io/ssh-auth" (declared: "Opaque")',
      'ServiceAccount shop/flux: metadata.annotations added: {"kubectl.kubernetes.io/last-applied-configuration":"{}"} (not declared by the program)',
    ].sort());
  });

  it("compares quantities by value, as the API server rewrites them", async () => {
    const live = await liveCluster();
    const quota = find(live, "ResourceQuota", "payments-quota", "payments") as any;
    quota.spec.hard["limits.memory"] = "8192Mi";
    assert.deepEqual(report(await desired(), live, crds()).differences, []);
    quota.spec.hard["limits.memory"] = "9Gi";
    assert.deepEqual(report(await desired(), live, crds()).differences.map(formatDifference), ['ResourceQuota payments/payments-quota: spec.hard["limits.memory"]: "9Gi" (declared: "8Gi")']);
    assert.equal(quantityValue("500m"), 0.5);
    assert.equal(quantityValue("1e3"), 1000);
    assert.equal(quantityValue("2Ki"), 2048);
    assert.equal(quantityValue("fast"), undefined);
  });

  it("applies a CRD schema's defaults where the API server would: only under an object that exists", () => {
    const schema = {
      properties: {
        spec: {
          properties: {
            interval: { default: "1m" },
            wait: { default: true },
            cluster: { properties: { domain: { default: "cluster.local" } } },
            items: { items: { properties: { mode: { default: "ro" } } } },
          },
        },
        status: { default: { observedGeneration: -1 } },
      },
    };
    const o: any = { spec: { wait: false, items: [{}, { mode: "rw" }] } };
    applySchemaDefaults(o, schema);
    assert.deepEqual(o, { spec: { interval: "1m", wait: false, items: [{ mode: "ro" }, { mode: "rw" }] }, status: { observedGeneration: -1 } });
  });

  it("the stack's kube context: --context, the kubeconfig stack's context, or kind's", () => {
    assert.equal(contextFor({ "fleet:cluster": { type: "kind", name: "fleet-staging" } }), "kind-fleet-staging");
    assert.equal(contextFor({ "fleet:cluster": JSON.stringify({ type: "kubeconfig", context: "prod-admin" }) }), "prod-admin");
    assert.equal(contextFor({ "fleet:cluster": { type: "kubeconfig" } }), undefined);
    assert.equal(contextFor({ "fleet:cluster": { type: "kind", name: "x" } }, "other"), "other");
  });

  describe("npm run drift (with a kubectl double that answers as kubectl does)", () => {
    let dir: string;
    let env: NodeJS.ProcessEnv;
    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-drift-test-"));
      const crd = FLUX_INSTANCE_CRD ? parseYaml(fs.readFileSync(FLUX_INSTANCE_CRD, "utf8")) : undefined;
      fs.writeFileSync(path.join(dir, "crds.json"), JSON.stringify({ apiVersion: "v1", kind: "List", items: crd ? [crd] : [] }));
      // kubectl get -f FILE prints one object or a List of those that exist; it records its arguments.
      fs.writeFileSync(
        path.join(dir, "kubectl"),
        `#!/bin/sh\necho "$@" >> "${dir}/args"\ncase "$*" in\n  *customresourcedefinitions*) cat "${dir}/crds.json" ;;\n  *" -f "*) cat "${dir}/live.json" ;;\n  *) echo "unexpected: $*" >&2; exit 1 ;;\nesac\n`,
        { mode: 0o755 },
      );
      env = { ...process.env, KUBECTL: path.join(dir, "kubectl") };
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    function setLive(items: KubeObject[]) {
      fs.writeFileSync(path.join(dir, "live.json"), JSON.stringify({ apiVersion: "v1", kind: "List", items }));
    }

    it("exits 0 on a clean cluster and 1 on drift, printing each difference and its repair; reads the stack's context", async () => {
      const live = await liveCluster();
      setLive(live);
      let text = "";
      assert.equal(await main(["staging"], env, (s) => (text += s)), 0, text);
      assert.match(text, /^drift: none\. \d+ objects of stack staging match the program \(context kind-fleet-staging\)\.$/m);
      assert.match(fs.readFileSync(path.join(dir, "args"), "utf8"), /^--context kind-fleet-staging get --ignore-not-found --show-managed-fields -f /m);

      (find(live, "RoleBinding", "flux", "payments-jobs") as any).subjects.push({ kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: "system:authenticated" });
      setLive(live);
      text = "";
      assert.equal(await main(["staging"], env, (s) => (text += s)), 1);
      assert.match(text, /^drift: 1 difference\(s\) in 1 of \d+ objects of stack staging/m);
      assert.match(text, /RoleBinding payments-jobs\/flux: subjects\[2\] added: .*system:authenticated/);
      assert.match(text, /pulumi up --refresh --stack staging \(add PULUMI_K8S_ENABLE_PATCH_FORCE=true/);
      assert.match(text, /^ {2}kubectl patch RoleBinding\.v1\.rbac\.authorization\.k8s\.io flux -n payments-jobs --type=json/m);
    });

    it("fails, naming the command, when kubectl cannot read the cluster", async () => {
      await assert.rejects(main(["staging", "--context", "nowhere"], { ...env, KUBECTL: path.join(dir, "missing-kubectl") }), /cannot run .*missing-kubectl.*install kubectl, or set KUBECTL/);
      await assert.rejects(main([]), /usage: npm run drift -- <stack>/);
    });
  });
});
