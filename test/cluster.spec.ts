import { strict as assert } from "assert";
import { isSecretOutput, isSecretValue, one, providerUrn, Registered, runProgram, stackConfig } from "./harness";

const KIND = "pulumi-nodejs:dynamic/fleet:KindCluster";
const K8S_PROVIDER = "pulumi:providers:kubernetes";
const KUBECONFIG_STACK = {
  "github:owner": "acme-org",
  "fleet:cluster": { type: "kubeconfig", context: "prod-admin" },
  "fleet:kubeconfig": "apiVersion: v1\nkind: Config\ncurrent-context: prod-admin\n",
};

describe("Cluster: kind", () => {
  it("registers a KindCluster under mocks: the provider survives closure serialization", async () => {
    const result = await runProgram({ stack: "staging", config: stackConfig("staging") });
    assert.equal(result.error, undefined, result.error?.message);
    const kind = one(result, KIND);
    assert.equal(typeof kind.inputs.__provider, "string");
    assert.match(kind.inputs.__provider, /"\.\/components\/cluster\/kind"/, "the stored provider points at its module (components/provider-ref.ts)");
    assert.ok(kind.inputs.__provider.length < 4096, `__provider is ${kind.inputs.__provider.length} characters`);
    assert.deepEqual(
      { name: kind.inputs.name, nodeImage: kind.inputs.nodeImage, workers: kind.inputs.workers },
      { name: "fleet-staging", nodeImage: "kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5", workers: 1 },
    );
  });

  it("marks the kind kubeconfig output secret and keeps it secret into the Kubernetes provider", async () => {
    const result = await runProgram({ stack: "staging", config: stackConfig("staging") });
    const kind = one(result, KIND);
    assert.deepEqual(kind.additionalSecretOutputs, ["kubeconfig"]);
    const provider = one(result, K8S_PROVIDER);
    assert.ok(isSecretValue(provider.rawInputs.kubeconfig), "the provider's kubeconfig input must be a secret");
    assert.ok(await isSecretOutput(result.exported?.kubeconfig), "the kubeconfig stack output must be a secret");
  });

  it("builds the Kubernetes provider from the kind cluster, so destroy removes workloads before the cluster", async () => {
    const result = await runProgram({ stack: "staging", config: stackConfig("staging") });
    const kind = one(result, KIND);
    const provider = one(result, K8S_PROVIDER);
    assert.ok(provider.dependencies.includes(kind.urn), "provider depends on the KindCluster");
    assert.equal(provider.inputs.context, "kind-fleet-staging");
    assert.equal(result.outputs?.context, "kind-fleet-staging", "the stack exports the kube context");
    assert.equal(result.outputs?.endpoint, "https://127.0.0.1:6443", "the stack exports the API endpoint");
  });

  /** The Kubernetes provider of a kind stack and of a kubeconfig stack. */
  async function providers(): Promise<[string, Registered][]> {
    const stacks = [
      ["staging", stackConfig("staging"), []],
      ["production", KUBECONFIG_STACK, ["fleet:kubeconfig"]],
    ] as const;
    const found: [string, Registered][] = [];
    // One at a time: runProgram sets Pulumi's global mocks for its run.
    for (const [stack, config, secretKeys] of stacks) found.push([stack, one(await runProgram({ stack, config, secretKeys: [...secretKeys] }), K8S_PROVIDER)]);
    return found;
  }

  it("never sets deleteUnreachable: a refresh while Docker is stopped must not drop the cluster's objects from state", async () => {
    for (const [stack, provider] of await providers()) {
      assert.equal(provider.inputs.deleteUnreachable, undefined, `${stack}: deleteUnreachable is set`);
    }
  });

  it("makes Secrets mutable, so a key rotation updates each deploy-key Secret in place instead of deleting it first", async () => {
    for (const [stack, provider] of await providers()) {
      // The provider reads it as a string from its config (provider.go, enableSecretMutable).
      assert.ok([true, "true"].includes(provider.inputs.enableSecretMutable), `${stack}: enableSecretMutable is ${provider.inputs.enableSecretMutable}`);
    }
  });
});

describe("Cluster: kubeconfig", () => {
  it("provisions no kind cluster", async () => {
    const result = await runProgram({ stack: "production", config: KUBECONFIG_STACK, secretKeys: ["fleet:kubeconfig"] });
    assert.equal(result.error, undefined, result.error?.message);
    assert.deepEqual(result.resources.filter((r) => r.type === KIND), []);
    assert.equal(one(result, K8S_PROVIDER).inputs.context, "prod-admin");
  });

  it("passes the kubeconfig to the provider as a secret", async () => {
    const result = await runProgram({ stack: "production", config: KUBECONFIG_STACK, secretKeys: ["fleet:kubeconfig"] });
    const provider = one(result, K8S_PROVIDER);
    assert.ok(isSecretValue(provider.rawInputs.kubeconfig), "the provider's kubeconfig input must be a secret");
    assert.equal(provider.inputs.kubeconfig, KUBECONFIG_STACK["fleet:kubeconfig"]);
    assert.ok(await isSecretOutput(result.exported?.kubeconfig));
  });

  it("the Cluster component makes a plain kubeconfig input secret itself", async () => {
    const { Cluster } = await import("../components/cluster");
    const result = await runProgram({
      stack: "production",
      config: {},
      program: async () => ({ kubeconfig: new Cluster("direct", { cluster: { type: "kubeconfig" }, kubeconfig: "plain" }).kubeconfig }),
    });
    assert.equal(result.error, undefined, result.error?.message);
    assert.ok(isSecretValue(one(result, K8S_PROVIDER).rawInputs.kubeconfig));
    assert.ok(await isSecretOutput(result.exported?.kubeconfig));
  });

  it("keeps the kubeconfig secret even if it was stored as plain config by mistake", async () => {
    const result = await runProgram({ stack: "production", config: KUBECONFIG_STACK });
    assert.ok(isSecretValue(one(result, K8S_PROVIDER).rawInputs.kubeconfig));
  });
});

describe("Cluster: one Kubernetes provider for everything", () => {
  for (const stack of ["staging", "production"]) {
    it(`${stack}: every Kubernetes resource uses the cluster's provider, never the default one`, async () => {
      const result = await runProgram({ stack, config: stackConfig(stack) });
      const providers = result.resources.filter((r) => r.type === K8S_PROVIDER);
      assert.equal(providers.length, 1, "exactly one Kubernetes provider");
      const strays = result.resources
        .filter((r) => r.type.startsWith("kubernetes:") && providerUrn(r.provider) !== providers[0].urn)
        .map((r) => `${r.type}::${r.name} (provider ${r.provider || "default"})`);
      assert.deepEqual(strays, []);
    });
  }

  it("the example stacks disable the default Kubernetes provider, so a forgotten provider fails loudly", () => {
    for (const stack of ["staging", "production"]) {
      assert.deepEqual(stackConfig(stack)["pulumi:disable-default-providers"], ["kubernetes"], `Pulumi.${stack}.yaml`);
    }
  });
});

describe("Cluster: a destroy of a kind stack deletes the cluster, not each object in it", () => {
  it("every Kubernetes object of a kind stack is deletedWith the kind cluster", async () => {
    const result = await runProgram({ stack: "staging", config: stackConfig("staging") });
    const kind = one(result, KIND);
    const objects = result.resources.filter((r) => r.type.startsWith("kubernetes:") && r.custom);
    assert.ok(objects.length > 20, `${objects.length} objects`);
    assert.deepEqual(objects.filter((r) => r.deletedWith !== kind.urn).map((r) => `${r.type}::${r.name}`), []);
  });

  it("on an existing cluster nothing is deletedWith anything: each object is deleted (or kept) on its own", async () => {
    const result = await runProgram({ stack: "staging", config: { ...stackConfig("staging"), ...KUBECONFIG_STACK }, secretKeys: ["fleet:kubeconfig"] });
    assert.equal(result.error, undefined, result.error?.message);
    assert.deepEqual(result.resources.filter((r) => r.deletedWith).map((r) => r.name), []);
  });

  it("on an existing cluster flux-system is a retained NamespacePatch: taken if it is there, kept on destroy (hand-made secrets in it outlive the stack); on kind a Namespace that goes with the cluster", async () => {
    const existing = await runProgram({ stack: "staging", config: { ...stackConfig("staging"), ...KUBECONFIG_STACK }, secretKeys: ["fleet:kubeconfig"] });
    const patch = one(existing, "kubernetes:core/v1:NamespacePatch", "flux-namespace");
    assert.deepEqual(patch.inputs.metadata, { name: "flux-system" });
    assert.equal(patch.retainOnDelete, true);
    assert.deepEqual(existing.resources.filter((r) => r.type === "kubernetes:core/v1:Namespace" && r.inputs.metadata.name === "flux-system"), []);
    const kind = await runProgram({ stack: "staging", config: stackConfig("staging") });
    const ns = one(kind, "kubernetes:core/v1:Namespace", "flux-namespace");
    assert.equal(ns.retainOnDelete, false);
    assert.equal(ns.deletedWith, one(kind, KIND).urn);
    assert.deepEqual(kind.resources.filter((r) => r.type === "kubernetes:core/v1:NamespacePatch"), []);
    // Only flux-system: a tenant's namespaces go on offboarding.
    assert.deepEqual(existing.resources.filter((r) => r.type.startsWith("kubernetes:core/v1:Namespace") && r.retainOnDelete).map((r) => r.name), ["flux-namespace"]);
    // What lives in flux-system still waits for it.
    assert.ok(one(existing, "kubernetes:core/v1:Secret", "flux-pull-secret").dependencies.includes(patch.urn));
  });
});

describe("Cluster: a kind cluster's provider stays put unless the cluster is recreated", () => {
  it("in a preview where the kind cluster's outputs are unknown, the provider's context and clusterIdentifier are known", async () => {
    // pulumi-kubernetes' DiffConfig replaces the provider (and every object in the cluster) when
    // kubeconfig or context is unknown, unless clusterIdentifier is set and unchanged.
    const result = await runProgram({ stack: "staging", config: stackConfig("staging"), preview: true, computed: false });
    const provider = one(result, K8S_PROVIDER);
    assert.ok(!isSecretValue(provider.rawInputs.context) && typeof provider.inputs.context === "string", "context is known");
    assert.equal(provider.inputs.context, "kind-fleet-staging");
    assert.equal(
      provider.inputs.clusterIdentifier,
      "kind/fleet-staging/kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5/1-workers",
    );
  });

  it("the identifier changes with the name, node image or workers (kind recreates the cluster), and nothing else", async () => {
    const identifier = async (cluster: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      one(await runProgram({ stack: "staging", config: { "github:owner": "acme-org", "fleet:cluster": cluster, ...extra } }), K8S_PROVIDER).inputs.clusterIdentifier;
    const base = await identifier({ workers: 1 });
    assert.notEqual(await identifier({ workers: 2 }), base);
    assert.notEqual(await identifier({ workers: 1, name: "other" }), base);
    assert.notEqual(await identifier({ workers: 1, nodeImage: `kindest/node:v1.35.0@sha256:${"a".repeat(64)}` }), base);
    assert.equal(await identifier({ workers: 1 }, { "fleet:tenants": [{ name: "shop" }] }), base);
  });

  it("a kubeconfig cluster keeps the provider's own heuristics (its kubeconfig is known at preview)", async () => {
    const provider = one(await runProgram({ stack: "production", config: KUBECONFIG_STACK, secretKeys: ["fleet:kubeconfig"] }), K8S_PROVIDER);
    assert.equal(provider.inputs.clusterIdentifier, undefined);
  });
});
