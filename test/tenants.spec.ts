import { strict as assert } from "assert";
import { parse as parseYaml } from "yaml";
import { GITHUB_KNOWN_HOSTS } from "../components/manifests";
import { countWrites, generatedFiles } from "../scripts/lib/github-model";
import { isSecretPath, ok, one, providerUrn, Registered, RunResult, runProgram, stackConfig } from "./harness";
import { kubernetesObjects, validateObject } from "./schemas";

const K = {
  namespace: "kubernetes:core/v1:Namespace",
  serviceAccount: "kubernetes:core/v1:ServiceAccount",
  roleBinding: "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
  clusterRoleBinding: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
  secret: "kubernetes:core/v1:Secret",
  gitRepository: "kubernetes:source.toolkit.fluxcd.io/v1:GitRepository",
  kustomization: "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization",
  networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
  quota: "kubernetes:core/v1:ResourceQuota",
  limitRange: "kubernetes:core/v1:LimitRange",
  instance: "kubernetes:fluxcd.controlplane.io/v1:FluxInstance",
  repository: "github:index/repository:Repository",
  deployKey: "github:index/repositoryDeployKey:RepositoryDeployKey",
  file: "pulumi-nodejs:dynamic/fleet:ScaffoldFile",
  tenant: "fleet:tenant:Tenant",
};

/** Three tenants, as the issue asks: two namespaces + quota; all defaults; an existing repository with its own branch and path. */
const TENANTS = [
  { name: "payments", namespaces: ["payments", "payments-jobs"], quota: { cpu: "4", memory: "8Gi", pods: "50" }, ingressNamespace: "ingress-nginx" },
  { name: "shop" },
  { name: "analytics", repository: { name: "analytics-gitops", create: false }, branch: "release", path: "./deploy/flux/staging" },
];

function config(tenants: unknown[] = TENANTS, create = true): Record<string, unknown> {
  return { "github:owner": "acme-org", "fleet:repository": { create }, "fleet:tenants": tenants };
}

let cached: Promise<RunResult> | undefined;
/** The three-tenant owner stack, run once: these tests only read it. */
function three(): Promise<RunResult> {
  cached ??= runProgram({ stack: "staging", config: config() });
  return cached;
}

/** Resources of `type` that belong to tenant `tenant` (their URN runs through its component). */
function of(result: RunResult, tenant: string, type: string): Registered[] {
  const component = one(result, K.tenant, tenant).urn;
  return result.resources.filter((r) => r.type === type && isUnder(result, r, component));
}

function single(result: RunResult, tenant: string, type: string): Registered {
  const found = of(result, tenant, type);
  assert.equal(found.length, 1, `tenant ${tenant}: expected one ${type}, found ${found.length}`);
  return found[0];
}

describe("Tenants: in the cluster", () => {
  it("each namespace is labelled with its tenant and enforces Pod Security baseline, warning and auditing at restricted", async () => {
    const result = await three();
    assert.equal(result.error, undefined, result.error?.message);
    const namespaces = of(result, "payments", K.namespace).map((r) => r.inputs.metadata);
    assert.deepEqual(namespaces.map((m) => m.name), ["payments", "payments-jobs"]);
    for (const m of namespaces) {
      assert.deepEqual(m.labels, {
        "toolkit.fluxcd.io/tenant": "payments",
        "pod-security.kubernetes.io/enforce": "baseline",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
      });
    }
    assert.deepEqual(of(result, "shop", K.namespace).map((r) => r.inputs.metadata.name), ["shop"]);
  });

  for (const level of ["baseline", "restricted", "privileged"]) {
    it(`podSecurity: ${level} is enforced in every namespace of that tenant only`, async () => {
      const result = await runProgram({
        stack: "staging",
        config: config([{ name: "jobs", namespaces: ["jobs", "jobs-batch"], podSecurity: level }, { name: "shop" }]),
      });
      assert.equal(result.error, undefined, result.error?.message);
      for (const ns of of(result, "jobs", K.namespace).map((r) => r.inputs.metadata)) {
        assert.equal(ns.labels["pod-security.kubernetes.io/enforce"], level, ns.name);
        assert.equal(ns.labels["pod-security.kubernetes.io/warn"], "restricted", ns.name);
        assert.equal(ns.labels["pod-security.kubernetes.io/audit"], "restricted", ns.name);
      }
      assert.equal(single(result, "shop", K.namespace).inputs.metadata.labels["pod-security.kubernetes.io/enforce"], "baseline");
    });
  }

  it("no namespace is privileged unless its tenant asks for it", async () => {
    for (const stack of ["staging", "production"]) {
      const result = await runProgram({ stack, config: stackConfig(stack) });
      const privileged = result.resources
        .filter((r) => r.type === K.namespace && r.inputs.metadata.labels?.["pod-security.kubernetes.io/enforce"] !== "baseline")
        .map((r) => r.inputs.metadata.name);
      assert.deepEqual(privileged.filter((n) => n !== "flux-system"), [], `${stack}: only baseline tenant namespaces in the examples`);
    }
  });

  it("the tenant account `flux` lives in every tenant namespace, with no token mounted", async () => {
    const accounts = of(await three(), "payments", K.serviceAccount).map((r) => r.inputs);
    assert.deepEqual(accounts.map((a) => [a.metadata.namespace, a.metadata.name]), [["payments", "flux"], ["payments-jobs", "flux"]]);
    for (const a of accounts) assert.equal(a.automountServiceAccountToken, false);
  });

  it("each namespace has a RoleBinding of the configured ClusterRole to the account of each of the tenant's namespaces, and no one else", async () => {
    const result = await three();
    const bindings = of(result, "payments", K.roleBinding).map((r) => r.inputs);
    assert.deepEqual(bindings.map((b) => b.metadata.namespace), ["payments", "payments-jobs"]);
    for (const b of bindings) {
      assert.deepEqual(b.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "admin" });
      assert.deepEqual(b.subjects, [
        { kind: "ServiceAccount", name: "flux", namespace: "payments" },
        { kind: "ServiceAccount", name: "flux", namespace: "payments-jobs" },
      ]);
    }
    const shop = single(result, "shop", K.roleBinding).inputs;
    assert.deepEqual(shop.subjects, [{ kind: "ServiceAccount", name: "flux", namespace: "shop" }]);
  });

  it("takes the ClusterRole from config", async () => {
    const result = await runProgram({ stack: "staging", config: config([{ name: "shop", clusterRole: "edit" }]) });
    assert.equal(single(result, "shop", K.roleBinding).inputs.roleRef.name, "edit");
  });

  it("never creates a ClusterRoleBinding for a tenant: the only one is flux-system's own account's", async () => {
    for (const run of [await three(), await runProgram({ stack: "staging", config: stackConfig("staging") })]) {
      const subjects = run.resources.filter((r) => r.type === K.clusterRoleBinding).flatMap((r) => r.inputs.subjects);
      assert.deepEqual(subjects, [{ kind: "ServiceAccount", name: "flux", namespace: "flux-system" }]);
    }
  });

  it("the deploy-key Secret has identity (secret), identity.pub and GitHub's known_hosts", async () => {
    const secret = single(await three(), "shop", K.secret);
    assert.equal(secret.inputs.metadata.namespace, "shop");
    assert.deepEqual(Object.keys(secret.inputs.stringData).sort(), ["identity", "identity.pub", "known_hosts"]);
    assert.ok(isSecretPath(secret.rawInputs, ["stringData", "identity"]));
    assert.equal(secret.inputs.stringData.known_hosts, GITHUB_KNOWN_HOSTS);
    assert.match(secret.inputs.stringData.identity, /mock-shop-repository-deploy-key/, "it carries the tenant's own key, not the fleet key");
  });

  it("the GitRepository reads the tenant repository over ssh:// on its branch with its secret", async () => {
    const result = await three();
    const shop = single(result, "shop", K.gitRepository).inputs;
    assert.deepEqual(shop.metadata, { name: "shop", namespace: "shop", labels: { "toolkit.fluxcd.io/tenant": "shop" } });
    assert.equal(shop.spec.url, "ssh://git@github.com/acme-org/shop-deploy.git");
    assert.deepEqual(shop.spec.ref, { branch: "main" });
    assert.deepEqual(shop.spec.secretRef, { name: "shop-git" });
    assert.ok(shop.spec.interval);
    const analytics = single(result, "analytics", K.gitRepository).inputs.spec;
    assert.equal(analytics.url, "ssh://git@github.com/acme-org/analytics-gitops.git");
    assert.deepEqual(analytics.ref, { branch: "release" });
  });

  it("the Kustomization applies the tenant's path as the tenant account, and prunes", async () => {
    const result = await three();
    const shop = single(result, "shop", K.kustomization).inputs;
    assert.equal(shop.metadata.namespace, "shop");
    assert.deepEqual(shop.spec.sourceRef, { kind: "GitRepository", name: "shop" });
    assert.equal(shop.spec.path, "./flux/staging");
    assert.equal(shop.spec.prune, true);
    assert.equal(shop.spec.serviceAccountName, "flux");
    assert.ok(shop.spec.interval && shop.spec.timeout);
    assert.equal(single(result, "analytics", K.kustomization).inputs.spec.path, "./deploy/flux/staging");
    assert.equal(shop.spec.patches, undefined, "no patches: the FluxInstance's tenant default account covers every depth");
    assert.equal(single(result, "payments", K.kustomization).inputs.metadata.namespace, "payments", "Flux objects live in the first namespace");
  });

  it("a single-namespace tenant's Kustomization targets its namespace, so lfs269-style repositories land there", async () => {
    const result = await three();
    assert.equal(single(result, "shop", K.kustomization).inputs.spec.targetNamespace, "shop");
    assert.equal(single(result, "analytics", K.kustomization).inputs.spec.targetNamespace, "analytics");
    assert.equal(single(result, "payments", K.kustomization).inputs.spec.targetNamespace, undefined, "a multi-namespace tenant places its objects itself");
  });

  it("a multi-namespace tenant may target one of its own namespaces", async () => {
    const result = await runProgram({
      stack: "staging",
      config: config([{ name: "payments", namespaces: ["payments", "payments-jobs"], targetNamespace: "payments-jobs" }]),
    });
    assert.equal(result.error, undefined, result.error?.message);
    const kustomization = single(result, "payments", K.kustomization).inputs;
    assert.equal(kustomization.metadata.namespace, "payments");
    assert.equal(kustomization.spec.targetNamespace, "payments-jobs");
  });

  it("a NetworkPolicy in each namespace admits only the tenant's own namespaces and the ingress namespace", async () => {
    const result = await three();
    const policies = of(result, "payments", K.networkPolicy).map((r) => r.inputs);
    assert.deepEqual(policies.map((p) => p.metadata.namespace), ["payments", "payments-jobs"]);
    for (const p of policies) {
      assert.deepEqual(p.spec.podSelector, {});
      assert.deepEqual(p.spec.policyTypes, ["Ingress"]);
      assert.deepEqual(p.spec.ingress, [
        {
          from: [
            { namespaceSelector: { matchLabels: { "toolkit.fluxcd.io/tenant": "payments" } } },
            { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } } },
          ],
        },
      ]);
    }
    const shop = single(result, "shop", K.networkPolicy).inputs.spec.ingress;
    assert.deepEqual(shop, [{ from: [{ namespaceSelector: { matchLabels: { "toolkit.fluxcd.io/tenant": "shop" } } }] }], "no ingress namespace unless configured");
  });

  it("a quota sets a ResourceQuota and a LimitRange in each namespace; no quota, neither", async () => {
    const result = await three();
    const quotas = of(result, "payments", K.quota).map((r) => r.inputs);
    assert.deepEqual(quotas.map((q) => q.metadata.namespace), ["payments", "payments-jobs"]);
    for (const q of quotas) {
      assert.deepEqual(q.spec.hard, { "requests.cpu": "4", "limits.cpu": "4", "requests.memory": "8Gi", "limits.memory": "8Gi", pods: "50" });
    }
    assert.deepEqual(of(result, "payments", K.limitRange).map((r) => r.inputs.metadata.namespace), ["payments", "payments-jobs"]);
    assert.deepEqual([...of(result, "shop", K.quota), ...of(result, "shop", K.limitRange)], []);
  });

  it("every Kubernetes object validates against the upstream Kubernetes and Flux schemas", async () => {
    const objects = kubernetesObjects((await three()).resources).filter((o) => o.kind !== "FluxInstance");
    for (const kind of ["Namespace", "ServiceAccount", "RoleBinding", "Secret", "GitRepository", "Kustomization", "NetworkPolicy", "ResourceQuota", "LimitRange"]) {
      assert.ok(objects.some((o) => o.kind === kind), `no ${kind} to validate`);
    }
    for (const object of objects) await validateObject(object);
  });

  it("every tenant object goes through the cluster's provider", async () => {
    const result = await three();
    const provider = one(result, "pulumi:providers:kubernetes").urn;
    for (const tenant of ["payments", "shop", "analytics"]) {
      for (const r of Object.values(K).flatMap((type) => (type.startsWith("kubernetes:") ? of(result, tenant, type) : []))) {
        assert.equal(providerUrn(r.provider), provider, `${r.type}::${r.name}`);
      }
    }
  });
});

describe("Tenants: ordering for a first up", () => {
  /** What the engine answers a stack's read of its own outputs after an update. */
  const LATER = { stack: "staging", environment: "staging" };
  const FILE = "pulumi-nodejs:dynamic/fleet:ScaffoldFile";
  const fleetFiles = (r: RunResult) => r.resources.filter((x) => x.type === FILE && x.name.startsWith("fleet/"));
  /** A tenant's namespaces: what starts after the fleet's scaffold (the rest of its cluster objects wait for them). */
  const gated = (r: RunResult, tenant: string) => of(r, tenant, K.namespace);
  const position = (r: RunResult, x: Registered) => r.resources.indexOf(x);

  it("no tenant object is on the FluxInstance's path: on a stack's first up, tenants' namespaces start after the fleet's last scaffold file, their repositories do not wait for it", async () => {
    // The CLI saves the whole state twice per step, one save at a time: a tenant object on the
    // FluxInstance's path, or started before its scaffold, queues Flux's install behind every
    // tenant (docs/architecture.md, "Real-engine speed").
    const result = await three();
    const upstream = (urn: string) => upstreamOf(result, urn);
    const instance = one(result, K.instance);
    const tenantComponents = result.resources.filter((r) => r.type === "fleet:tenant:Tenant").map((r) => r.urn);
    assert.equal(tenantComponents.length, 3);
    const waitedFor = upstream(instance.urn);
    assert.ok(waitedFor.size > 0);
    for (const r of result.resources.filter((x) => waitedFor.has(x.urn))) {
      assert.ok(!tenantComponents.some((c) => isUnder(result, r, c)), `the FluxInstance must not wait for ${r.urn}`);
    }
    const last = fleetFiles(result).at(-1)!;
    assert.ok(instance.dependencies.includes(last.urn), "the FluxInstance waits for the scaffold");
    for (const tenant of ["payments", "shop", "analytics"]) {
      // Registered (the harness records each registration as it completes) after the last file.
      assert.ok(gated(result, tenant).length >= 1, tenant);
      for (const r of gated(result, tenant)) assert.ok(position(result, r) > position(result, last), `${r.type}::${r.name} must start after ${last.name}`);
      // Each tenant's GitHub chain ends a first up of many tenants: gated with the cluster objects, the
      // rig's 40-tenant up took 204 s, against 187 s with neither gated.
      const github = result.resources.filter((r) => isUnder(result, r, one(result, K.tenant, tenant).urn) && (r.type.startsWith("github:") || r.type.startsWith("pulumi-nodejs:dynamic/")));
      assert.ok(github.length >= 2, `${tenant}'s GitHub resources`);
      for (const r of github) assert.ok(!upstream(r.urn).has(last.urn), `${r.type}::${r.name} must not wait for the fleet's scaffold`);
    }
  });

  it("the wait is a start gate, not a dependency: no tenant object but its Flux objects (through the FluxInstance) records one on the fleet's scaffold, so the next run's state is the same", async () => {
    // The engine rewrites the whole state for every unchanged resource whose dependencies change
    // (backend/snapshot.go, mustWrite): a dependency only the first up has would cost the second a
    // rewrite per tenant object (a 40-tenant up adding one tenant took 53 s instead of 16-22 s).
    for (const result of [await three(), await runProgram({ stack: "staging", config: config(), exists: () => true, previousOutputs: LATER })]) {
      if (result.error) throw result.error;
      const files = new Set(fleetFiles(result).map((f) => f.urn));
      assert.ok(files.size >= 3);
      for (const tenant of ["payments", "shop", "analytics"]) {
        const component = one(result, K.tenant, tenant).urn;
        for (const r of result.resources.filter((x) => isUnder(result, x, component) && x.type !== K.gitRepository && x.type !== K.kustomization)) {
          const upstream = upstreamOf(result, r.urn);
          for (const f of files) assert.ok(!upstream.has(f), `${r.type}::${r.name} must not depend on ${f}`);
        }
      }
    }
  });

  it("only a stack's first update waits (it has exported nothing yet), the lookup stack's too; nothing waits in a preview or a later up: a 40-tenant preview's tenant objects waited 3 s for the dynamic-provider host", async () => {
    // Each fleet scaffold file's step takes 300 ms: a tenant namespace that waits for them registers after the last.
    const slow = Object.fromEntries(fleetFiles(await three()).map((f) => [f.name, 300]));
    const lookup = await runProgram({ stack: "staging", config: config(TENANTS, false), delays: slow });
    if (lookup.error) throw lookup.error;
    const lookupLast = fleetFiles(lookup).at(-1)!;
    for (const r of gated(lookup, "shop")) assert.ok(position(lookup, r) > position(lookup, lookupLast), `lookup stack's first up: ${r.type}::${r.name} must start after ${lookupLast.name}`);
    for (const [what, result] of [
      ["a first up's preview", await runProgram({ stack: "staging", config: config(), preview: true, delays: slow })],
      ["a later up", await runProgram({ stack: "staging", config: config(), exists: () => true, previousOutputs: LATER, delays: slow })],
      ["a later up of the lookup stack", await runProgram({ stack: "staging", config: config(TENANTS, false), previousOutputs: LATER, delays: slow })],
    ] as const) {
      if (result.error) throw result.error;
      const last = fleetFiles(result).at(-1)!;
      const late = ["payments", "shop", "analytics"].flatMap((t) => gated(result, t)).filter((r) => position(result, r) > position(result, last));
      assert.deepEqual(late.map((r) => r.name), [], `${what}: no tenant namespace waits for the fleet's last scaffold file`);
    }
  });
});

describe("Tenants: ordering for clean removal", () => {
  it("every Flux object depends on the FluxInstance", async () => {
    const result = await three();
    const instance = one(result, K.instance).urn;
    for (const r of result.resources.filter((x) => x.type === K.gitRepository || x.type === K.kustomization)) {
      assert.ok(r.dependencies.includes(instance), `${r.type}::${r.name} must depend on the FluxInstance`);
    }
  });

  it("each Kustomization depends on the tenant's RBAC, Secret, GitRepository and isolation", async () => {
    const result = await three();
    for (const tenant of ["payments", "shop", "analytics"]) {
      const deps = single(result, tenant, K.kustomization).dependencies;
      const needed = [
        single(result, tenant, K.gitRepository),
        single(result, tenant, K.secret),
        ...of(result, tenant, K.serviceAccount),
        ...of(result, tenant, K.roleBinding),
        ...of(result, tenant, K.networkPolicy),
      ];
      for (const r of needed) assert.ok(deps.includes(r.urn), `${tenant}: Kustomization must depend on ${r.type}::${r.name}`);
    }
  });

  it("everything a tenant has is deleted only after its protected Kustomization: quotas and the team grant too", async () => {
    // With `pulumi up --skip-preview`, the engine deletes in reverse dependency order and stops at
    // the first protected delete: whatever the Kustomization does not depend on would go first.
    const result = await runProgram({ stack: "staging", config: { ...stackConfig("staging"), "fleet:tenants": [{ ...TENANTS[0], team: "payments-devs" }] } });
    const ks = single(result, "payments", K.kustomization);
    const upstream = upstreamOf(result, ks.urn);
    const component = one(result, K.tenant, "payments").urn;
    const tenantResources = result.resources.filter((r) => r.custom && isUnder(result, r, component) && r.urn !== ks.urn);
    assert.ok(tenantResources.some((r) => r.type === "github:index/teamRepository:TeamRepository"), "the tenant has a team grant");
    assert.ok(tenantResources.some((r) => r.type === K.quota) && tenantResources.some((r) => r.type === K.limitRange));
    for (const r of tenantResources) assert.ok(upstream.has(r.urn), `the Kustomization must depend on ${r.type}::${r.name}`);
    assert.equal(ks.protect, true);
  });

  it("each GitRepository waits for its Secret, the deploy key (which waits for the generated branch) and the scaffold commit", async () => {
    const result = await three();
    const shop = single(result, "shop", K.gitRepository).dependencies;
    assert.ok(shop.includes(single(result, "shop", K.secret).urn));
    const key = single(result, "shop", K.deployKey);
    assert.ok(shop.includes(key.urn));
    assert.ok(key.dependencies.includes(single(result, "shop", "github:index/branchDefault:BranchDefault").urn), "the key waits for the branch");
    const analytics = single(result, "analytics", K.gitRepository).dependencies;
    const files = of(result, "analytics", K.file);
    assert.ok(files.length > 0 && analytics.includes(files[files.length - 1].urn), "an existing repository's Flux waits for its scaffold commit");
  });

  it("RoleBindings wait for every account they bind and for their namespace", async () => {
    const result = await three();
    const accounts = of(result, "payments", K.serviceAccount).map((r) => r.urn);
    const namespaces = of(result, "payments", K.namespace);
    of(result, "payments", K.roleBinding).forEach((rb, i) => {
      for (const sa of accounts) assert.ok(rb.dependencies.includes(sa), `${rb.name} waits for ${sa}`);
      assert.ok(rb.dependencies.includes(namespaces[i].urn));
    });
  });
});

describe("Tenants: repositories and deploy keys", () => {
  it("the owning stack creates a tenant's repository private, from the fleet's tenant template", async () => {
    const result = await three();
    const repo = one(result, K.repository, "shop-repository").inputs;
    assert.deepEqual(
      { name: repo.name, visibility: repo.visibility, autoInit: repo.autoInit, archiveOnDestroy: repo.archiveOnDestroy, template: repo.template },
      { name: "shop-deploy", visibility: "private", autoInit: undefined, archiveOnDestroy: undefined, template: { owner: "acme-org", repository: "flux-fleet-tenant-template" } },
    );
  });

  it("the template holds the seed's layout and flux/<env>/kustomization.yaml of each listed environment; a generated repository gets no commit", async () => {
    const result = await runProgram({ stack: "staging", config: { ...config(), "fleet:repository": { create: true, templateEnvironments: ["production", "staging"] } } });
    const template = result.resources.filter((r) => r.type === K.file && r.name.startsWith("tenant-template/"));
    assert.deepEqual(template.map((f) => f.inputs.path), [
      "README.md", "flux/README.md", "kustomize/README.md", "helm/README.md", "flux/staging/kustomization.yaml", "flux/production/kustomization.yaml",
    ]);
    assert.match(template[0].inputs.content, /flux\/<env>\/.*\n.*kustomize\/.*\n.*helm\//s);
    assert.deepEqual(parseYaml(template[4].inputs.content), { apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources: [] });
    assert.equal(one(result, K.repository, "tenant-template").inputs.isTemplate, true);
    // Generated from the template, which holds flux/staging: the tenant's file is registered (an
    // adopted repository may lack it) but finds it there and writes nothing.
    assert.deepEqual(of(result, "shop", K.file).map((f) => f.inputs.path), ["flux/staging/kustomization.yaml"]);
    assert.ok(generatedFiles(result.resources).has("shop-deploy:flux/staging/kustomization.yaml"));
    assert.equal(countWrites(of(result, "shop", K.file), generatedFiles(result.resources)).content, 0, "no commit");
  });

  it("a created repository whose path the template lacks gets that one file, committed after the generated branch", async () => {
    const result = await runProgram({ stack: "staging", config: config([{ name: "shop", path: "./deploy/staging" }]) });
    const files = of(result, "shop", K.file);
    assert.deepEqual(files.map((f) => [f.inputs.path, f.inputs.branch, f.inputs.replaceInitial]), [["deploy/staging/kustomization.yaml", "main", false]]);
    assert.ok(files[0].dependencies.includes(single(result, "shop", "github:index/branchDefault:BranchDefault").urn), "the commit waits for the branch");
    assert.ok(single(result, "shop", K.gitRepository).dependencies.includes(files[0].urn));
  });

  it("a lookup stack still makes sure of its environment's file in every tenant repository (written only when absent)", async () => {
    const result = await runProgram({ stack: "production", config: config(TENANTS, false) });
    for (const tenant of ["shop", "payments"]) {
      assert.deepEqual(of(result, tenant, K.file).map((f) => f.inputs.path), ["flux/production/kustomization.yaml"], tenant);
    }
  });

  it("a generated repository is waited for (GitHub fills it in asynchronously) before its branch is set and its key added", async () => {
    // GitHub answers the wait 300 ms late: what takes the repository's name from it registers after.
    const result = ok(await runProgram({ stack: "staging", config: config(TENANTS), githubDelayMs: 300 }));
    const wait = result.githubRequests.find((g) => g.path === "/repos/acme-org/shop-deploy/branches/main");
    assert.ok(wait, `the wait for shop-deploy@main: ${JSON.stringify(result.githubRequests)}`);
    const branch = single(result, "shop", "github:index/branchDefault:BranchDefault");
    assert.ok(result.resources.indexOf(branch) >= wait.registeredWhenAnswered, "the branch is set once the generation is there");
    assert.equal(branch.inputs.repository, "shop-deploy");
    assert.ok(branch.dependencies.includes(one(result, K.repository, "shop-repository").urn), "and depends on the repository");
    assert.equal(result.resources.filter((r) => r.type === "pulumi-nodejs:dynamic/fleet:BranchExists").length, 0, "a wait in the program, not a resource");
    assert.ok(single(result, "shop", K.deployKey).dependencies.includes(branch.urn), "the key waits for the branch");
    const repo = one(result, K.repository, "shop-repository");
    const templateFiles = result.resources.filter((r) => r.type === K.file && r.name.startsWith("tenant-template/"));
    assert.ok(templateFiles.every((f) => repo.dependencies.includes(f.urn)), "a tenant is generated only from a complete template");
  });

  it("an existing repository is looked up, not created, and gets only this environment's path", async () => {
    const result = await three();
    assert.ok(!result.resources.some((r) => r.type === K.repository && r.inputs.name === "analytics-gitops"));
    assert.ok(result.calls.some((c) => c.token === "github:index/getRepository:getRepository" && c.inputs.fullName === "acme-org/analytics-gitops"));
    assert.deepEqual(of(result, "analytics", K.file).map((f) => [f.inputs.path, f.inputs.branch]), [["deploy/flux/staging/kustomization.yaml", "release"]]);
  });

  it("scaffold: false writes nothing to the tenant repository", async () => {
    const result = await runProgram({ stack: "staging", config: config([{ name: "shop", scaffold: false }]) });
    assert.deepEqual(of(result, "shop", K.file), []);
  });

  it("each tenant gets a read-only deploy key for this cluster, titled with the environment", async () => {
    const result = await three();
    for (const tenant of ["payments", "shop", "analytics"]) {
      const key = single(result, tenant, K.deployKey).inputs;
      assert.equal(key.readOnly, true);
      assert.equal(key.title, "flux-staging");
    }
    assert.equal(single(result, "analytics", K.deployKey).inputs.repository, "analytics-gitops");
  });

  it("the production stack creates no repository and binds the same tenants", async () => {
    const staging = await runProgram({ stack: "staging", config: stackConfig("staging") });
    const production = await runProgram({ stack: "production", config: stackConfig("production") });
    assert.equal(production.error, undefined, production.error?.message);
    assert.deepEqual(production.resources.filter((r) => r.type === K.repository).map((r) => r.name), []);
    const bound = (run: RunResult) =>
      run.resources
        .filter((r) => r.type === K.roleBinding)
        .map((r) => `${r.inputs.metadata.namespace}:${r.inputs.subjects[0].name}:${r.inputs.roleRef.name}`)
        .sort();
    assert.deepEqual(bound(production), bound(staging));
    const titles = production.resources.filter((r) => r.type === K.deployKey).map((r) => r.inputs.title);
    assert.ok(titles.length > 0 && titles.every((t) => t === "flux-production"));
  });

  it("stack outputs list each tenant's namespaces, repository URL and deploy key fingerprint", async () => {
    const outputs = (await three()).outputs?.tenants as Record<string, any>;
    assert.deepEqual(Object.keys(outputs), ["analytics", "payments", "shop"]);
    assert.deepEqual(outputs.payments, {
      namespaces: ["payments", "payments-jobs"],
      repository: "https://github.com/mock-owner/payments-deploy",
      deployKeyFingerprint: "SHA256:mock-payments-repository-deploy-key",
      team: "",
    });
    assert.equal(outputs.analytics.repository, "https://github.com/acme-org/analytics-gitops", "the lookup's htmlUrl");
  });
});

/** Everything a resource is, with dependencies and parents by URN (URNs derive from names only). */
function fingerprint(result: RunResult): Map<string, string> {
  return new Map(
    result.resources.map((r) => [
      r.urn,
      JSON.stringify({ inputs: r.inputs, deps: [...r.dependencies].sort(), parent: r.parent, provider: providerUrn(r.provider) }),
    ]),
  );
}

describe("Tenants: stable identity", () => {
  it("reordering tenants leaves every resource's inputs and dependencies unchanged", async () => {
    const before = fingerprint(await three());
    const after = fingerprint(await runProgram({ stack: "staging", config: config([TENANTS[2], TENANTS[0], TENANTS[1]]) }));
    assert.deepEqual([...after.keys()].sort(), [...before.keys()].sort());
    for (const [urn, value] of before) assert.equal(after.get(urn), value, urn);
  });

  it("adding a tenant only adds resources, all of them the new tenant's", async () => {
    const before = fingerprint(await three());
    const result = await runProgram({ stack: "staging", config: config([...TENANTS, { name: "search" }]) });
    const after = fingerprint(result);
    for (const [urn, value] of before) assert.equal(after.get(urn), value, `changed: ${urn}`);
    const added = [...after.keys()].filter((urn) => !before.has(urn));
    assert.ok(added.length >= 10, `expected the new tenant's resources, got ${added.length}`);
    const search = one(result, K.tenant, "search").urn;
    const owned = new Set([search, ...result.resources.filter((r) => r.urn !== search && isUnder(result, r, search)).map((r) => r.urn)]);
    assert.deepEqual(added.filter((urn) => !owned.has(urn)), [], "every added resource belongs to tenant search");
  });

  it("Pulumi names derive from tenant names, never from list positions", async () => {
    const result = await three();
    const shop = one(result, K.tenant, "shop").urn;
    const names = result.resources.filter((r) => isUnder(result, r, shop)).map((r) => r.name).sort();
    assert.deepEqual(names, [
      "shop/shop-git",
      "shop/shop",
      "shop/shop",
      "shop/shop-isolation",
      "shop",
      "shop/flux",
      "shop/flux",
      "shop-repository",
      "shop-repository-default-branch",
      "shop-repository/flux/staging/kustomization.yaml",
      "shop-repository-deploy-key",
      "shop-repository-deploy-key",
    ].sort());
  });
});

/** Every URN `urn` depends on, directly or through others. */
function upstreamOf(result: RunResult, urn: string): Set<string> {
  const byUrn = new Map(result.resources.map((r) => [r.urn, r]));
  const seen = new Set<string>();
  const visit = (u: string) => {
    for (const d of byUrn.get(u)?.dependencies ?? []) {
      if (seen.has(d)) continue;
      seen.add(d);
      visit(d);
    }
  };
  visit(urn);
  return seen;
}

function isUnder(result: RunResult, r: Registered, ancestor: string): boolean {
  if (r.parent === ancestor) return true;
  const parent = result.resources.find((p) => p.urn === r.parent);
  return parent ? isUnder(result, parent, ancestor) : false;
}

describe("Tenant template README", () => {
  it("promises tenants only what they can do: Kustomizations and HelmReleases, not ResourceSets (their admin gets no ResourceSet rights)", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { tenantTemplateLayout } = require("../components/manifests") as typeof import("../components/manifests");
    const readme = tenantTemplateLayout(["staging"]).find((f) => f.path === "README.md")!.content;
    assert.match(readme, /Every Kustomization and HelmRelease under/);
    assert.doesNotMatch(readme, /Kustomization, HelmRelease and ResourceSet/);
    assert.match(readme, /ResourceSets are not open to tenants/);
  });
});
