import { strict as assert } from "assert";
import { parse as parseYaml } from "yaml";
import { GITHUB_KNOWN_HOSTS } from "../components/manifests";
import { isSecretPath, one, providerUrn, Registered, RunResult, runProgram, stackConfig } from "./harness";
import { fluxInstanceCrd, kubernetesObjects, objectsInFile, validateObject } from "./schemas";

const INSTANCE = "kubernetes:fluxcd.controlplane.io/v1:FluxInstance";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const SECRET = "kubernetes:core/v1:Secret";
const NAMESPACE = "kubernetes:core/v1:Namespace";
const REPOSITORY = "github:index/repository:Repository";
const DEPLOY_KEY = "github:index/repositoryDeployKey:RepositoryDeployKey";
const FILE = "pulumi-nodejs:dynamic/fleet:ScaffoldFile";
const BRANCH_DEFAULT = "github:index/branchDefault:BranchDefault";
const PRIVATE_KEY = "tls:index/privateKey:PrivateKey";
const GITHUB_ED25519 = "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

const runs = new Map<string, Promise<RunResult>>();
/** The example stacks' runs, once each: the assertions below only read them. */
function example(stack: string): Promise<RunResult> {
  if (!runs.has(stack)) runs.set(stack, runProgram({ stack, config: stackConfig(stack) }));
  return runs.get(stack)!;
}

/** The fleet pull secret (flux-system/flux-system); there must be exactly one. */
function pullSecretOf(result: RunResult): Registered {
  const secrets = result.resources.filter(
    (r) => r.type === SECRET && r.inputs.metadata.namespace === "flux-system" && r.inputs.metadata.name === "flux-system",
  );
  assert.equal(secrets.length, 1, "exactly one flux-system/flux-system Secret");
  return secrets[0];
}

function fleetFiles(result: RunResult): Registered[] {
  return result.resources.filter((r) => r.type === FILE && r.name.startsWith("fleet/"));
}

describe("Flux: FluxInstance", () => {
  it("is one FluxInstance named flux in flux-system with every configured field", async () => {
    const result = await example("staging");
    assert.equal(result.error, undefined, result.error?.message);
    const instance = one(result, INSTANCE).inputs;
    assert.equal(instance.apiVersion, "fluxcd.controlplane.io/v1");
    assert.equal(instance.metadata.name, "flux");
    assert.equal(instance.metadata.namespace, "flux-system");
    assert.equal(instance.spec.distribution.version, "2.9.x");
    assert.equal(instance.spec.distribution.registry, "ghcr.io/fluxcd");
    assert.deepEqual(instance.spec.components, ["source-controller", "kustomize-controller", "helm-controller", "notification-controller"]);
    assert.equal(instance.spec.cluster.multitenant, true);
    assert.equal(instance.spec.cluster.tenantDefaultServiceAccount, "flux", "tenants run as their own account, never `default`");
    assert.equal(instance.spec.cluster.networkPolicy, true);
    assert.equal(instance.spec.sync.kind, "GitRepository");
    assert.equal(instance.spec.sync.url, "ssh://git@github.com/acme-org/flux-fleet.git");
    assert.equal(instance.spec.sync.ref, "refs/heads/main");
    assert.equal(instance.spec.sync.path, "clusters/staging");
    assert.equal(instance.spec.sync.pullSecret, "flux-system");
  });

  it("Pulumi waits for the FluxInstance to be Ready", async () => {
    const instance = one(await example("staging"), INSTANCE).inputs;
    assert.equal(instance.metadata.annotations["pulumi.com/waitFor"], "condition=Ready");
    assert.equal(instance.metadata.annotations["pulumi.com/timeoutSeconds"], "1800", "a first install gets 30 minutes, not the default 10");
  });

  it("syncs the fleet repository over ssh://, never the scp form source-controller rejects", async () => {
    for (const stack of ["staging", "production"]) {
      const url: string = one(await example(stack), INSTANCE).inputs.spec.sync.url;
      assert.match(url, /^ssh:\/\/git@github\.com\/acme-org\/flux-fleet(\.git)?$/, `${stack}: ${url}`);
      assert.ok(!/^git@github\.com:/.test(url));
    }
  });

  it("syncs each environment's own path", async () => {
    assert.equal(one(await example("production"), INSTANCE).inputs.spec.sync.path, "clusters/production");
  });

  it("takes version, components and lockdown switches from config", async () => {
    const result = await runProgram({
      stack: "qa",
      config: {
        "github:owner": "acme-org",
        "fleet:flux": { version: "2.8.3", components: ["source-controller", "kustomize-controller"], networkPolicy: false },
        "fleet:repository": { branch: "trunk", path: "clusters/qa-eu" },
      },
    });
    const spec = one(result, INSTANCE).inputs.spec;
    assert.equal(spec.distribution.version, "2.8.3");
    assert.deepEqual(spec.components, ["source-controller", "kustomize-controller"]);
    assert.equal(spec.cluster.networkPolicy, false);
    assert.equal(spec.sync.ref, "refs/heads/trunk");
    assert.equal(spec.sync.path, "clusters/qa-eu");
  });
});

describe("Flux: kustomize-controller's egress (fleet:flux.kustomizeEgress)", () => {
  /** kustomize-controller's container env and added args, from the FluxInstance's patches. */
  function patched(result: RunResult) {
    const patches: { target: object; patch: string }[] = one(result, INSTANCE).inputs.spec.kustomize.patches;
    for (const p of patches) assert.deepEqual(p.target, { kind: "Deployment", name: "kustomize-controller" }, "only kustomize-controller is patched");
    const docs = patches.map((p) => parseYaml(p.patch));
    const deployment = docs.find((d) => !Array.isArray(d));
    const container = deployment.spec.template.spec.containers[0];
    assert.equal(container.name, "manager", "Flux's controller container");
    const args = docs.filter(Array.isArray).flat();
    return { env: Object.fromEntries(container.env.map((e: any) => [e.name, e.value])), args };
  }

  it("by default every HTTP(S) connection goes to a closed proxy, except to the API server and Flux's own services", async () => {
    const { env, args } = patched(await example("staging"));
    assert.deepEqual(env, {
      HTTPS_PROXY: "http://127.0.0.1:9",
      HTTP_PROXY: "http://127.0.0.1:9",
      NO_PROXY: [
        "$(KUBERNETES_SERVICE_HOST)",
        "source-controller.flux-system.svc.cluster.local.", "source-controller.flux-system.svc.cluster.local",
        "source-watcher.flux-system.svc.cluster.local.", "source-watcher.flux-system.svc.cluster.local",
        "notification-controller.flux-system.svc.cluster.local.", "notification-controller.flux-system.svc.cluster.local",
      ].join(","),
    });
    // Never a whole domain: flux-system holds the operator's web UI, which answers with cluster-admin.
    for (const entry of env.NO_PROXY.split(",")) assert.doesNotMatch(entry, /^\./, `${entry} would admit every service under it`);
    assert.deepEqual(args, [{ op: "add", path: "/spec/template/spec/containers/0/args/-", value: "--no-remote-bases=true" }], "the flag, whatever the operator's profile does");
  });

  it("a proxy and direct hosts from config (a key service, a remote cluster) are added, nothing else", async () => {
    const config = stackConfig("staging");
    const result = await runProgram({
      stack: "staging",
      config: { ...config, "fleet:flux": { ...(config["fleet:flux"] as object), kustomizeEgress: { proxy: "http://proxy.internal:3128", direct: ["vault.internal:8200", "10.20.0.0/16"] } } },
    });
    assert.equal(result.error, undefined, result.error?.message);
    const { env } = patched(result);
    assert.equal(env.HTTPS_PROXY, "http://proxy.internal:3128");
    assert.deepEqual(env.NO_PROXY.split(",").slice(-2), ["vault.internal:8200", "10.20.0.0/16"]);
  });

  it("a proxy that is not a URL, or a direct entry with a path or spaces, fails naming the key", async () => {
    const config = stackConfig("staging");
    const result = await runProgram({
      stack: "staging",
      config: { ...config, "fleet:flux": { ...(config["fleet:flux"] as object), kustomizeEgress: { proxy: "proxy.internal:3128", direct: ["a b", "*", "vault.internal/v1", "10.0.0.0/8", ".internal", "[fd00::1]:8200"] } } },
    });
    assert.match(String(result.error?.message), /fleet:flux\.kustomizeEgress\.proxy: "proxy\.internal:3128" is not a proxy URL/);
    for (const [i, entry] of [[0, "a b"], [1, "\\*"], [2, "vault\\.internal\\/v1"]]) {
      assert.match(String(result.error?.message), new RegExp(`fleet:flux\\.kustomizeEgress\\.direct\\[${i}\\]: "${entry}" is not a NO_PROXY entry`), String(entry));
    }
    assert.doesNotMatch(String(result.error?.message), /direct\[[345]\]/, "a CIDR, a .domain and a bracketed IPv6 with a port are entries");
    assert.equal(result.resources.length, 0, "nothing registered");
  });
});

describe("Flux: operator install", () => {
  it("installs the flux-operator chart at the pinned version into flux-system", async () => {
    const release = one(await example("staging"), RELEASE).inputs;
    assert.equal(release.chart, "oci://ghcr.io/controlplaneio-fluxcd/charts/flux-operator");
    assert.equal(release.version, "0.58.1");
    assert.equal(release.namespace, "flux-system");
  });

  it("turns on the operator's ResourceSet multitenancy with the tenant account as the default", async () => {
    const values = one(await example("staging"), RELEASE).inputs.values;
    assert.deepEqual(values.multitenancy, {
      enabled: true,
      defaultServiceAccount: "flux",
      enabledForWorkloadIdentity: true,
      defaultWorkloadIdentityServiceAccount: "flux",
    });
  });

  it("grants tenants' admin/edit roles no ResourceSet rights (no aggregation), keeping the operator's own cluster-admin binding", async () => {
    const values = one(await example("staging"), RELEASE).inputs.values;
    assert.deepEqual(values.rbac, { create: true, createAggregation: false });
    assert.equal(values.hostNetwork, false);
    assert.deepEqual(values.serviceMonitor, { create: false });
  });

  it("the unauthenticated web UI is off by default, and on only with fleet:flux.web: true", async () => {
    const off = one(await example("staging"), RELEASE).inputs.values.web;
    assert.equal(off.enabled, false);
    const on = await runProgram({ stack: "staging", config: { ...stackConfig("staging"), "fleet:flux": { web: true } } });
    assert.equal(on.error, undefined, on.error?.message);
    const web = one(on, RELEASE).inputs.values.web;
    assert.equal(web.enabled, true);
    assert.deepEqual(web.networkPolicy, { create: false }, "never the chart's policy admitting every namespace");
    assert.deepEqual(web.rbac, { createRoles: false, createAggregation: false });
    assert.deepEqual([web.ingress, web.httpRoute], [{ enabled: false }, { enabled: false }], "never exposed outside the cluster");
  });

  it("creates the flux-system namespace", async () => {
    const namespaces = (await example("staging")).resources.filter((r) => r.type === NAMESPACE).map((r) => r.inputs.metadata.name);
    assert.ok(namespaces.includes("flux-system"), `namespaces: ${namespaces.join(", ")}`);
  });
});

describe("Flux: pull secret", () => {
  async function pullSecret(stack = "staging"): Promise<Registered> {
    return pullSecretOf(await example(stack));
  }

  it("holds identity, identity.pub and known_hosts", async () => {
    const secret = await pullSecret();
    assert.deepEqual(Object.keys(secret.inputs.stringData).sort(), ["identity", "identity.pub", "known_hosts"]);
    assert.match(secret.inputs.stringData.identity, /BEGIN OPENSSH PRIVATE KEY/);
    assert.match(secret.inputs.stringData["identity.pub"], /^ssh-ed25519 /);
  });

  it("keeps the private key a Pulumi secret", async () => {
    const secret = await pullSecret();
    assert.ok(isSecretPath(secret.rawInputs, ["stringData", "identity"]), "stringData.identity must be a secret");
  });

  it("trusts GitHub's published host keys (ed25519, ecdsa, rsa)", async () => {
    const knownHosts: string = (await pullSecret()).inputs.stringData.known_hosts;
    assert.ok(knownHosts.split("\n").includes(GITHUB_ED25519), knownHosts);
    assert.match(knownHosts, /^github\.com ecdsa-sha2-nistp256 /m);
    assert.match(knownHosts, /^github\.com ssh-rsa /m);
  });

  it("takes known_hosts from config for GitHub Enterprise", async () => {
    const line = "github.acme.internal ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAcmeHostKey";
    const result = await runProgram({
      stack: "staging",
      config: { "github:owner": "acme-org", "fleet:repository": { knownHosts: line } },
    });
    assert.equal(pullSecretOf(result).inputs.stringData.known_hosts, `${line}\n`);
    assert.notEqual(GITHUB_KNOWN_HOSTS, `${line}\n`);
  });
});

describe("Flux: ordering for install and clean removal", () => {
  it("the FluxInstance depends on the operator release, the pull secret, the deploy key and the scaffold", async () => {
    const result = await example("staging");
    const deps = one(result, INSTANCE).dependencies;
    const files = fleetFiles(result);
    const expected = {
      "operator release": one(result, RELEASE).urn,
      "pull secret": pullSecretOf(result).urn,
      "fleet deploy key": one(result, DEPLOY_KEY, "fleet-deploy-key").urn,
      "last scaffold commit": files[files.length - 1].urn,
    };
    for (const [what, urn] of Object.entries(expected)) assert.ok(deps.includes(urn), `FluxInstance must depend on the ${what}`);
  });

  it("the operator release and the pull secret wait for the flux-system namespace", async () => {
    const result = await example("staging");
    const ns = result.resources.find((r) => r.type === NAMESPACE && r.inputs.metadata.name === "flux-system")!;
    assert.ok(one(result, RELEASE).dependencies.includes(ns.urn));
    assert.ok(pullSecretOf(result).dependencies.includes(ns.urn));
  });

  it("every Kubernetes resource goes through the cluster's provider", async () => {
    const result = await example("staging");
    const provider = one(result, "pulumi:providers:kubernetes");
    const k8s = result.resources.filter((r) => r.type.startsWith("kubernetes:"));
    assert.ok(k8s.length >= 4, "Flux registers Kubernetes resources");
    for (const r of k8s) assert.equal(providerUrn(r.provider), provider.urn, `${r.type}::${r.name}`);
  });
});

describe("Fleet repository: owner and lookup stacks", () => {
  it("the owning stack creates flux-fleet private and auto-initialised", async () => {
    const repo = one(await example("staging"), REPOSITORY, "fleet").inputs;
    assert.equal(repo.name, "flux-fleet");
    assert.equal(repo.visibility, "private");
    assert.equal(repo.autoInit, true);
  });

  it("every created repository is kept on destroy and never archived, so every stack can still revoke its own keys", async () => {
    const repositories = (await example("staging")).resources.filter((r) => r.type === REPOSITORY);
    assert.ok(repositories.length >= 3, "the fleet and the tenants' repositories");
    for (const repo of repositories) {
      assert.equal(repo.retainOnDelete, true, `${repo.name}: destroy must leave the repository`);
      assert.ok(!repo.inputs.archiveOnDestroy, `${repo.name}: archiving would make GitHub refuse other stacks' key deletions`);
      assert.ok(!repo.inputs.archived, repo.name);
    }
  });

  it("every created repository gets a BranchDefault renaming to its branch and waiting for the rename, whatever the branch name", async () => {
    const result = await runProgram({
      stack: "staging",
      config: { ...stackConfig("staging"), "fleet:tenants": [{ name: "shop" }, { name: "jobs", branch: "release" }] },
    });
    const repositories = result.resources.filter((r) => r.type === REPOSITORY);
    const branches = result.resources.filter((r) => r.type === BRANCH_DEFAULT);
    assert.equal(branches.length, repositories.length, "one BranchDefault per created repository");
    for (const repo of repositories) {
      const branch = branches.find((b) => b.parent === repo.parent);
      assert.ok(branch, `${repo.name} has no BranchDefault`);
      assert.equal(branch.inputs.rename, true);
      assert.equal(branch.inputs.waitForRename, true);
      assert.ok(branch.dependencies.includes(repo.urn));
    }
    assert.deepEqual(branches.map((b) => b.inputs.branch).sort(), ["main", "main", "main", "release"], "fleet, template, shop, jobs");
    const first = fleetFiles(result)[0];
    assert.ok(first.dependencies.includes(branches.find((b) => b.name === "fleet-default-branch")!.urn), "the first commit waits for the branch");
  });

  it("a lookup stack creates no repository, looks it up, and adds only its own deploy key and files", async () => {
    const result = await example("production");
    assert.deepEqual(result.resources.filter((r) => r.type === REPOSITORY).map((r) => r.name), []);
    assert.ok(result.calls.some((c) => c.token === "github:index/getRepository:getRepository" && c.inputs.fullName === "acme-org/flux-fleet"));
    const keys = result.resources.filter((r) => r.type === DEPLOY_KEY && r.name.startsWith("fleet-"));
    assert.deepEqual(keys.map((k) => k.inputs.title), ["flux-production"]);
    const paths = fleetFiles(result).map((f) => f.inputs.path);
    assert.ok(paths.every((p) => p.startsWith("clusters/production/") || p.startsWith("infrastructure/production/")), paths.join(", "));
  });


  it("a branch other than main becomes the created repository's default branch", async () => {
    const result = await runProgram({
      stack: "staging",
      config: { "github:owner": "acme-org", "fleet:repository": { create: true, branch: "trunk" } },
    });
    const branch = one(result, "github:index/branchDefault:BranchDefault", "fleet-default-branch").inputs;
    assert.deepEqual([branch.repository, branch.branch, branch.rename], ["flux-fleet", "trunk", true]);
    const template = one(result, "github:index/branchDefault:BranchDefault", "tenant-template-default-branch").inputs;
    assert.equal(template.branch, "main", "the owning stack keeps the tenant template, on main, even without tenants");
    assert.ok(fleetFiles(result).every((f) => f.inputs.branch === "trunk"));
  });
});

describe("Fleet repository: deploy key", () => {
  it("is read-only, one per cluster, titled with the environment", async () => {
    for (const stack of ["staging", "production"]) {
      const key = one(await example(stack), DEPLOY_KEY, "fleet-deploy-key").inputs;
      assert.equal(key.readOnly, true);
      assert.equal(key.title, `flux-${stack}`);
      assert.equal(key.repository, "flux-fleet");
      assert.match(key.key, /^ssh-ed25519 /);
    }
  });

  it("is ED25519 by default", async () => {
    assert.deepEqual(one(await example("staging"), PRIVATE_KEY, "fleet-deploy-key").inputs, { algorithm: "ED25519" });
  });

  for (const [choice, curve] of [["ecdsa-p256", "P256"], ["ecdsa-p384", "P384"]] as const) {
    it(`is ECDSA ${curve} for keyAlgorithm ${choice}, never the P224 default`, async () => {
      const result = await runProgram({
        stack: "staging",
        config: { "github:owner": "acme-org", "fleet:repository": { keyAlgorithm: choice } },
      });
      assert.deepEqual(one(result, PRIVATE_KEY, "fleet-deploy-key").inputs, { algorithm: "ECDSA", ecdsaCurve: curve });
    });
  }
});

describe("Fleet repository: scaffold", () => {
  it("writes clusters/<env> with an infrastructure Kustomization, and infrastructure/<env>", async () => {
    const files = fleetFiles(await example("staging"));
    assert.deepEqual(files.map((f) => f.inputs.path), [
      "README.md",
      "clusters/staging/kustomization.yaml",
      "clusters/staging/infrastructure.yaml",
      "infrastructure/staging/kustomization.yaml",
    ]);
    const infrastructure = objectsInFile(files[2].inputs.content);
    assert.equal(infrastructure.length, 1);
    assert.equal(infrastructure[0].kind, "Kustomization");
    assert.equal(infrastructure[0].spec.path, "./infrastructure/staging");
    assert.deepEqual(infrastructure[0].spec.sourceRef, { kind: "GitRepository", name: "flux-system" });
    assert.match(files[1].inputs.content, /resources:\n {2}- infrastructure\.yaml\n/);
  });

  it("only the owning stack writes the fleet README", async () => {
    assert.ok(!fleetFiles(await example("production")).some((f) => f.inputs.path === "README.md"));
  });

  it("files are written once, when absent: only the README autoInit made is replaced", async () => {
    const files = fleetFiles(await example("staging"));
    assert.deepEqual(files.filter((f) => f.inputs.replaceInitial).map((f) => f.inputs.path), ["README.md"]);
    for (const file of files) assert.equal(file.inputs.owner, "acme-org", file.name);
    assert.ok(fleetFiles(await example("production")).every((f) => f.inputs.replaceInitial === false), "a lookup stack replaces nothing");
  });

  it("commits to one branch one after another (GitHub answers 409 to parallel commits)", async () => {
    const files = fleetFiles(await example("staging"));
    for (let i = 1; i < files.length; i++) {
      assert.ok(files[i].dependencies.includes(files[i - 1].urn), `${files[i].inputs.path} must wait for ${files[i - 1].inputs.path}`);
    }
  });

  it("is byte-stable across runs", async () => {
    const again = await runProgram({ stack: "staging", config: stackConfig("staging") });
    assert.deepEqual(fleetFiles(again).map((f) => f.inputs.content), fleetFiles(await example("staging")).map((f) => f.inputs.content));
  });
});

describe("Every Kubernetes object validates against the upstream schemas", () => {
  async function objects(stack: string): Promise<any[]> {
    const result = await example(stack);
    return [
      ...kubernetesObjects(result.resources),
      ...fleetFiles(result)
        .filter((f) => f.inputs.path.endsWith(".yaml"))
        .flatMap((f) => objectsInFile(f.inputs.content)),
    ];
  }

  for (const stack of ["staging", "production"]) {
    it(`${stack}: registered objects and scaffolded Flux objects (Kubernetes and Flux schemas)`, async () => {
      const all = await objects(stack);
      assert.ok(all.some((o) => o.kind === "Kustomization"));
      assert.ok(all.some((o) => o.kind === "Secret"));
      for (const object of all.filter((o) => o.kind !== "FluxInstance")) await validateObject(object);
    });

    it(`${stack}: the FluxInstance (Flux Operator CRD)`, async function () {
      if (!fluxInstanceCrd()) {
        console.log("      skipped: the FluxInstance CRD is not beside this checkout; set FLUX_INSTANCE_CRD to check it");
        this.skip();
      }
      const instances = (await objects(stack)).filter((o) => o.kind === "FluxInstance");
      assert.equal(instances.length, 1);
      await validateObject(instances[0]);
    });
  }

  it("the validator rejects what the schemas reject (it is not a no-op)", async function () {
    await assert.rejects(validateObject({ apiVersion: "v1", kind: "Secret", metadata: { name: "x" }, stringData: { a: 1 } }), /must be string/);
    await assert.rejects(
      validateObject({ apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", metadata: { name: "x" }, spec: { interval: "1m", sourceRef: { kind: "Nope", name: "x" } } }),
      /prune/,
    );
    await assert.rejects(validateObject({ apiVersion: "example.com/v1", kind: "Thing" }), /no upstream schema/);
    if (fluxInstanceCrd()) {
      await assert.rejects(
        validateObject({ apiVersion: "fluxcd.controlplane.io/v1", kind: "FluxInstance", metadata: { name: "flux" }, spec: { distribution: { version: "2.x" } } }),
        /registry/,
      );
    }
  });
});

describe("Flux: a cluster whose operator is already installed (fleet:flux.operator.install: false)", () => {
  const preinstalled = () =>
    runProgram({ stack: "staging", config: { ...stackConfig("staging"), "fleet:flux": { operator: { install: false } } } });

  it("creates neither the flux-system namespace nor a Helm release: both are the installed operator's", async () => {
    const result = await preinstalled();
    assert.equal(result.error, undefined, result.error?.message);
    assert.equal(result.resources.filter((r) => r.type === RELEASE).length, 0);
    assert.equal(result.resources.filter((r) => r.type === NAMESPACE && r.inputs.metadata.name === "flux-system").length, 0);
  });

  it("still applies and awaits the FluxInstance, after the pull secret, deploy key and scaffold", async () => {
    const result = await preinstalled();
    const instance = one(result, INSTANCE);
    assert.equal(instance.inputs.metadata.annotations["pulumi.com/waitFor"], "condition=Ready");
    const files = fleetFiles(result);
    for (const urn of [pullSecretOf(result).urn, one(result, DEPLOY_KEY, "fleet-deploy-key").urn, files[files.length - 1].urn]) {
      assert.ok(instance.dependencies.includes(urn), `FluxInstance must depend on ${urn}`);
    }
  });

  it("installs the operator by default", async () => {
    const result = await example("staging");
    assert.equal(result.resources.filter((r) => r.type === RELEASE).length, 1);
  });
});

describe("Flux: a git host other than github.com (fleet:repository.sshHost)", () => {
  const line = "[git.acme.internal]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAcmeHostKey";
  it("puts the host and port in every sync URL, fleet and tenants", async () => {
    const result = await runProgram({
      stack: "staging",
      config: { ...stackConfig("staging"), "fleet:repository": { create: true, sshHost: "git.acme.internal:2222", knownHosts: line } },
    });
    assert.equal(result.error, undefined, result.error?.message);
    assert.equal(one(result, INSTANCE).inputs.spec.sync.url, "ssh://git@git.acme.internal:2222/acme-org/flux-fleet.git");
    const sources = result.resources.filter((r) => r.type === "kubernetes:source.toolkit.fluxcd.io/v1:GitRepository");
    assert.ok(sources.length >= 3);
    for (const s of sources) assert.match(s.inputs.spec.url, /^ssh:\/\/git@git\.acme\.internal:2222\/acme-org\/[^/]+\.git$/);
    for (const s of result.resources.filter((r) => r.type === SECRET)) assert.equal(s.inputs.stringData.known_hosts, `${line}\n`);
  });

  it("refuses another host without knownHosts, naming both keys, before anything is registered", async () => {
    const result = await runProgram({ stack: "staging", config: { ...stackConfig("staging"), "fleet:repository": { sshHost: "git.acme.internal" } } });
    assert.match(result.error?.message ?? "", /fleet:repository\.sshHost: is "git\.acme\.internal", but fleet:repository\.knownHosts is not set/);
    assert.equal(result.resources.length, 0);
  });

  it("refuses a value that is not a host or host:port", async () => {
    const result = await runProgram({ stack: "staging", config: { ...stackConfig("staging"), "fleet:repository": { sshHost: "ssh://git@host" } } });
    assert.match(result.error?.message ?? "", /fleet:repository\.sshHost: "ssh:\/\/git@host" is not a host or host:port/);
  });
});

describe("Flux: lockdown beyond tenant namespaces", () => {
  it("flux-system has its own default account flux, bound to cluster-admin, before the FluxInstance", async () => {
    const result = await example("staging");
    const sa = result.resources.find((r) => r.type === "kubernetes:core/v1:ServiceAccount" && r.inputs.metadata.namespace === "flux-system");
    assert.ok(sa, "a ServiceAccount in flux-system");
    assert.equal(sa.inputs.metadata.name, "flux");
    const crb = one(result, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding");
    assert.deepEqual(crb.inputs.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" });
    assert.deepEqual(crb.inputs.subjects, [{ kind: "ServiceAccount", name: "flux", namespace: "flux-system" }], "flux-system's account and nothing else");
    assert.ok(one(result, INSTANCE).dependencies.includes(crb.urn), "the FluxInstance waits for the binding");
  });

  it("turns on the workload-identity lockdown with the tenant account as every default", async () => {
    const cluster = one(await example("staging"), INSTANCE).inputs.spec.cluster;
    assert.equal(cluster.objectLevelWorkloadIdentity, true);
    assert.equal(cluster.multitenantWorkloadIdentity, true);
    assert.equal(cluster.tenantDefaultDecryptionServiceAccount, "flux");
    assert.equal(cluster.tenantDefaultKubeConfigServiceAccount, "flux");
  });

  it("waits for the operator's Helm release as long as for the FluxInstance", async () => {
    const result = await example("staging");
    assert.equal(one(result, RELEASE).inputs.timeout, 1800);
    assert.equal(one(result, INSTANCE).inputs.metadata.annotations["pulumi.com/timeoutSeconds"], "1800");
  });

  it("refuses fleet:flux.networkPolicy: false while tenants are listed, before anything is registered", async () => {
    const result = await runProgram({ stack: "staging", config: { ...stackConfig("staging"), "fleet:flux": { networkPolicy: false } } });
    assert.match(result.error?.message ?? "", /fleet:flux\.networkPolicy: is false while fleet:tenants lists tenants/);
    assert.equal(result.resources.length, 0);
  });
});

describe("Flux: pinned and mirrorable sources (fleet:flux.registry, artifact, chart)", () => {
  it("pins the manifests artifact to the operator version by default, so the controllers cannot float", async () => {
    const distribution = one(await example("staging"), INSTANCE).inputs.spec.distribution;
    assert.equal(distribution.artifact, "oci://ghcr.io/controlplaneio-fluxcd/flux-operator-manifests:v0.58.1");
    const other = await runProgram({ stack: "staging", config: { ...stackConfig("staging"), "fleet:flux": { operatorVersion: "0.59.0" } } });
    assert.equal(one(other, INSTANCE).inputs.spec.distribution.artifact, "oci://ghcr.io/controlplaneio-fluxcd/flux-operator-manifests:v0.59.0");
  });

  it("takes a mirror for the images, the artifact and the chart (an air-gapped cluster)", async () => {
    const digest = `@sha256:${"a".repeat(64)}`;
    const result = await runProgram({
      stack: "staging",
      config: {
        ...stackConfig("staging"),
        "fleet:flux": { registry: "registry.acme.internal:5000/fluxcd", artifact: `oci://registry.acme.internal:5000/flux-operator-manifests${digest}`, chart: "./charts/flux-operator" },
      },
    });
    assert.equal(result.error, undefined, result.error?.message);
    const distribution = one(result, INSTANCE).inputs.spec.distribution;
    assert.equal(distribution.registry, "registry.acme.internal:5000/fluxcd");
    assert.equal(distribution.artifact, `oci://registry.acme.internal:5000/flux-operator-manifests${digest}`);
    assert.equal(one(result, RELEASE).inputs.chart, "./charts/flux-operator");
  });

  for (const [artifact, why] of [
    ["oci://ghcr.io/controlplaneio-fluxcd/flux-operator-manifests", /is not a pinned OCI artifact/],
    ["oci://ghcr.io/controlplaneio-fluxcd/flux-operator-manifests:latest", /must not be :latest/],
    ["https://example.com/manifests:v1", /is not a pinned OCI artifact/],
  ] as const) {
    it(`refuses the artifact ${artifact}, naming the key`, async () => {
      const result = await runProgram({ stack: "staging", config: { ...stackConfig("staging"), "fleet:flux": { artifact } } });
      assert.match(result.error?.message ?? "", /fleet:flux\.artifact: /);
      assert.match(result.error?.message ?? "", why);
      assert.equal(result.resources.length, 0);
    });
  }

  it("refuses a chart that is neither oci:// nor a path", async () => {
    const result = await runProgram({ stack: "staging", config: { ...stackConfig("staging"), "fleet:flux": { chart: "https://charts.example/flux-operator" } } });
    assert.match(result.error?.message ?? "", /fleet:flux\.chart: "https:\/\/charts\.example\/flux-operator" is neither an oci:\/\/ chart URL nor a local chart path/);
  });
});
