import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as semver from "semver";
import { ConfigError, DEFAULTS, FleetConfig, gitBranchProblem, parseFleetConfig, programKeys } from "../components/config";
import { runProgram, stackConfig } from "./harness";

/** A minimal valid stack: only what has no default. */
const BASE: Record<string, unknown> = { "github:owner": "acme-org" };

function withTenants(...tenants: unknown[]): Record<string, unknown> {
  return { ...BASE, "fleet:tenants": tenants };
}

function parse(config: Record<string, unknown>, stack = "staging"): FleetConfig {
  const values: Record<string, string> = {};
  for (const [k, v] of Object.entries(programKeys(config))) values[k] = typeof v === "string" ? v : JSON.stringify(v);
  return parseFleetConfig({ stack, values });
}

function problemsOf(config: Record<string, unknown>, stack = "staging"): readonly string[] {
  try {
    parse(config, stack);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e.problems;
  }
  assert.fail("expected the config to be rejected");
}

/**
 * Each case: a bad config, and the key path its one problem must name. Every case runs through
 * the whole program and must fail, name the key, and register nothing.
 */
const INVALID: { rule: string; config: Record<string, unknown>; key: string; says: RegExp }[] = [
  { rule: "github:owner is required", config: {}, key: "github:owner", says: /is required; set it/ },
  { rule: "github:owner must be a GitHub name", config: { "github:owner": "acme org" }, key: "github:owner", says: /not a GitHub organisation/ },
  { rule: "a typo in a tenant key is an error", config: withTenants({ name: "team-a", namepsaces: ["team-a"] }), key: "fleet:tenants[0].namepsaces", says: /unknown key; did you mean 'namespaces'\?/ },
  { rule: "a typo in a top-level key is an error", config: { ...BASE, "fleet:tenant": [{ name: "team-a" }] }, key: "fleet:tenant", says: /unknown key; did you mean 'fleet:tenants'\?/ },
  { rule: "a typo in a cluster key is an error", config: { ...BASE, "fleet:cluster": { worker: 2 } }, key: "fleet:cluster.worker", says: /did you mean 'workers'\?/ },
  { rule: "a typo in a tenant repository key is an error", config: withTenants({ name: "team-a", repository: { nmae: "x" } }), key: "fleet:tenants[0].repository.nmae", says: /did you mean 'name'\? Allowed keys: name, create, readWrite$/ },
  { rule: "a typo in a quota key is an error", config: withTenants({ name: "team-a", quota: { cpus: "2", memory: "1Gi" } }), key: "fleet:tenants[0].quota.cpus", says: /did you mean 'cpu'\?/ },
  { rule: "tenant names are DNS-1123 labels", config: withTenants({ name: "Team_A" }), key: "fleet:tenants[0].name", says: /DNS-1123 label/ },
  { rule: "tenant names are at most 63 characters", config: withTenants({ name: "a".repeat(64) }), key: "fleet:tenants[0].name", says: /longer than 63/ },
  { rule: "namespaces are DNS-1123 labels", config: withTenants({ name: "team-a", namespaces: ["team-a", "team.b"] }), key: "fleet:tenants[0].namespaces[1]", says: /DNS-1123 label/ },
  { rule: "tenant names are unique", config: withTenants({ name: "team-a" }, { name: "team-a", namespaces: ["team-a2"], repository: { name: "other" } }), key: "fleet:tenants[1].name", says: /already used by fleet:tenants\[0\]/ },
  { rule: "a namespace belongs to one tenant", config: withTenants({ name: "team-a", namespaces: ["shared"] }, { name: "team-b", namespaces: ["shared"] }), key: "fleet:tenants[1].namespaces[0]", says: /already claimed by tenant "team-a"/ },
  { rule: "a tenant's default namespace counts as claimed", config: withTenants({ name: "team-a" }, { name: "team-b", namespaces: ["team-a"] }), key: "fleet:tenants[1].namespaces[0]", says: /already claimed by tenant "team-a"/ },
  { rule: "namespace default is reserved", config: withTenants({ name: "team-a", namespaces: ["default"] }), key: "fleet:tenants[0].namespaces[0]", says: /reserved/ },
  { rule: "namespaces kube-* are reserved", config: withTenants({ name: "team-a", namespaces: ["kube-public"] }), key: "fleet:tenants[0].namespaces[0]", says: /reserved/ },
  { rule: "namespace flux-system is reserved", config: withTenants({ name: "team-a", namespaces: ["flux-system"] }), key: "fleet:tenants[0].namespaces[0]", says: /reserved/ },
  { rule: "a tenant named after a reserved namespace is refused", config: withTenants({ name: "kube-system" }), key: "fleet:tenants[0].name", says: /reserved .*defaults to its name/ },
  { rule: "tenant paths are not absolute", config: withTenants({ name: "team-a", path: "/etc/flux" }), key: "fleet:tenants[0].path", says: /not absolute/ },
  { rule: "tenant paths do not leave the repository", config: withTenants({ name: "team-a", path: "./flux/../../x" }), key: "fleet:tenants[0].path", says: /must not contain '\.\.'/ },
  { rule: "fleet paths are not absolute", config: { ...BASE, "fleet:repository": { path: "/clusters/staging" } }, key: "fleet:repository.path", says: /not absolute/ },
  { rule: "fleet paths do not leave the repository", config: { ...BASE, "fleet:repository": { path: "../clusters" } }, key: "fleet:repository.path", says: /must not contain '\.\.'/ },
  { rule: "tenant branches are valid git branches", config: withTenants({ name: "team-a", branch: "feature..x" }), key: "fleet:tenants[0].branch", says: /not a valid git branch/ },
  { rule: "fleet branches are valid git branches", config: { ...BASE, "fleet:repository": { branch: "main branch" } }, key: "fleet:repository.branch", says: /not a valid git branch/ },
  { rule: "a Flux version the operator's manifests do not hold is refused (it would fail the FluxInstance and up would wait out its timeout)", config: { ...BASE, "fleet:flux": { version: "2.10.x" } }, key: "fleet:flux.version", says: /"2\.10\.x" matches no Flux version the Flux Operator v0\.58\.1 can install \(2\.2\.3 to 2\.9\.4\)/ },
  { rule: "a Flux patch release the operator skipped is refused", config: { ...BASE, "fleet:flux": { version: "2.8.4" } }, key: "fleet:flux.version", says: /matches no Flux version/ },
  { rule: "a Flux older than 2.7 is refused under the lockdown (the operator refuses its workload-identity settings there)", config: { ...BASE, "fleet:flux": { version: "2.6.x" } }, key: "fleet:flux.version", says: /"2\.6\.x" resolves to Flux 2\.6\.4, but the multi-tenancy lockdown \(fleet:flux\.multitenant\) needs 2\.7\.0 or newer/ },
  { rule: "a Flux version with a number after an x is refused (the operator would read it differently)", config: { ...BASE, "fleet:flux": { version: "2.x.4" } }, key: "fleet:flux.version", says: /is not a Flux version/ },
  { rule: "workers is not negative", config: { ...BASE, "fleet:cluster": { workers: -1 } }, key: "fleet:cluster.workers", says: /0 or more/ },
  { rule: "workers is an integer", config: { ...BASE, "fleet:cluster": { workers: 1.5 } }, key: "fleet:cluster.workers", says: /integer|int/i },
  { rule: "workers is a number", config: { ...BASE, "fleet:cluster": { workers: "two" } }, key: "fleet:cluster.workers", says: /expected a number, got string "two"/ },
  { rule: "cluster.type is kind or kubeconfig", config: { ...BASE, "fleet:cluster": { type: "eks" } }, key: "fleet:cluster.type", says: /must be one of "kind", "kubeconfig"/ },
  { rule: "type kubeconfig needs the fleet:kubeconfig secret", config: { ...BASE, "fleet:cluster": { type: "kubeconfig" } }, key: "fleet:kubeconfig", says: /pulumi config set --secret fleet:kubeconfig/ },
  { rule: "kind-only keys are refused for kubeconfig clusters", config: { ...BASE, "fleet:cluster": { type: "kubeconfig", workers: 2 }, "fleet:kubeconfig": "apiVersion: v1" }, key: "fleet:cluster.workers", says: /only applies to type kind/ },
  { rule: "quota values are Kubernetes quantities", config: withTenants({ name: "team-a", quota: { memory: "lots" } }), key: "fleet:tenants[0].quota.memory", says: /not a Kubernetes quantity/ },
  { rule: "Flux components are known controllers", config: { ...BASE, "fleet:flux": { components: ["source-controller", "kustomize-controller", "helm"] } }, key: "fleet:flux.components[2]", says: /must be one of/ },
  { rule: "Flux components include what sync needs", config: { ...BASE, "fleet:flux": { components: ["source-controller"] } }, key: "fleet:flux.components", says: /must include kustomize-controller/ },
  { rule: "the operator chart version is exact", config: { ...BASE, "fleet:flux": { operatorVersion: "0.x" } }, key: "fleet:flux.operatorVersion", says: /not an exact chart version/ },
  { rule: "each tenant has its own repository", config: withTenants({ name: "team-a", repository: { name: "flux-fleet" } }), key: "fleet:tenants[0].repository.name", says: /already used by the fleet repository/ },
  { rule: "structured keys are objects, not strings", config: { ...BASE, "fleet:cluster": "kind" }, key: "fleet:cluster", says: /expected an object/ },
  { rule: "a targetNamespace is one of the tenant's namespaces", config: withTenants({ name: "team-a", namespaces: ["team-a", "team-a-jobs"], targetNamespace: "team-b" }), key: "fleet:tenants[0].targetNamespace", says: /"team-b" is not one of the tenant's namespaces \(team-a, team-a-jobs\)/ },
  { rule: "a single-namespace tenant cannot target another namespace", config: withTenants({ name: "team-a", targetNamespace: "kube-system" }), key: "fleet:tenants[0].targetNamespace", says: /not one of the tenant's namespaces/ },
  { rule: "podSecurity is a Pod Security Standards level", config: withTenants({ name: "team-a", podSecurity: "strict" }), key: "fleet:tenants[0].podSecurity", says: /must be one of "baseline", "restricted", "privileged"/ },
  { rule: "offboard is a boolean", config: withTenants({ name: "team-a", offboard: "yes" }), key: "fleet:tenants[0].offboard", says: /expected a boolean/ },
  { rule: "image automation needs a writable deploy key", config: { ...BASE, "fleet:flux": { components: ["source-controller", "kustomize-controller", "image-reflector-controller", "image-automation-controller"] } }, key: "fleet:flux.components", says: /image-automation-controller, but every deploy key is read-only.*readWrite: true/ },
  { rule: "tenants need the multi-tenancy lockdown", config: { ...withTenants({ name: "team-a" }), "fleet:flux": { multitenant: false } }, key: "fleet:flux.multitenant", says: /cluster-admin rights. Set it to true/ },
  { rule: "a kind node image is pinned by digest", config: { ...BASE, "fleet:cluster": { nodeImage: "kindest/node:v1.36.1" } }, key: "fleet:cluster.nodeImage", says: /not pinned by digest; write the image with the @sha256/ },
  { rule: "a tenant team is a GitHub team slug", config: withTenants({ name: "team-a", team: "Team A" }), key: "fleet:tenants[0].team", says: /"Team A" is not a GitHub team slug; use the slug from the team's URL/ },
  { rule: "the fleet team is a GitHub team slug", config: { ...BASE, "fleet:repository": { team: "-platform" } }, key: "fleet:repository.team", says: /not a GitHub team slug/ },
  { rule: "keyGeneration is at least 1", config: { ...BASE, "fleet:repository": { keyGeneration: 0 } }, key: "fleet:repository.keyGeneration", says: /must be 1 or more/ },
  { rule: "keyGeneration is a whole number", config: { ...BASE, "fleet:repository": { keyGeneration: 1.5 } }, key: "fleet:repository.keyGeneration", says: /whole number/ },
  { rule: "no tenant takes the tenant template's repository", config: withTenants({ name: "team-a", repository: { name: "flux-fleet-tenant-template" } }), key: "fleet:tenants[0].repository.name", says: /already used by the tenant template repository/ },
  { rule: "templateEnvironments only in the stack that creates the template", config: { ...BASE, "fleet:repository": { create: false, templateEnvironments: ["production"] } }, key: "fleet:repository.templateEnvironments", says: /only the stack that creates the tenant template .* list this stack's environment in that stack's/ },
  { rule: "contentWritesPerHour is a positive whole number", config: { ...BASE, "fleet:repository": { contentWritesPerHour: 0 } }, key: "fleet:repository.contentWritesPerHour", says: /must be 1 or more/ },
  { rule: "templateEnvironments lists each environment once", config: { ...BASE, "fleet:repository": { create: true, templateEnvironments: ["production", "production"] } }, key: "fleet:repository.templateEnvironments", says: /lists an environment twice/ },
  { rule: "templateEnvironments holds environment names", config: { ...BASE, "fleet:repository": { create: true, templateEnvironments: ["Prod"] } }, key: "fleet:repository.templateEnvironments[0]", says: /use a DNS-1123 label/ },
  { rule: "the tenant template is not the fleet repository", config: { ...BASE, "fleet:repository": { tenantTemplate: "flux-fleet" } }, key: "fleet:repository.tenantTemplate", says: /must differ from the fleet repository's name/ },
  { rule: "tenants is a list", config: { ...BASE, "fleet:tenants": { name: "team-a" } }, key: "fleet:tenants", says: /expected a list, got an object/ },
];

describe("stack config: bad input fails before anything is registered", () => {
  for (const { rule, config, key, says } of INVALID) {
    it(`${rule} (${key})`, async () => {
      const result = await runProgram({ stack: "staging", config, secretKeys: ["fleet:kubeconfig"] });
      assert.ok(result.error instanceof ConfigError, `expected a ConfigError, got ${String(result.error)}`);
      const problem = result.error.problems.find((p) => p.startsWith(`${key}: `));
      assert.ok(problem, `no problem names ${key}; got:\n${result.error.message}`);
      assert.match(problem, says);
      assert.equal(result.error.problems.length, 1, `expected exactly one problem, got:\n${result.error.message}`);
      assert.deepEqual(result.resources.map((r) => `${r.type}::${r.name}`), [], "a rejected config must register nothing");
    });
  }

  it("reports every problem at once, each by key path, in one error", async () => {
    const result = await runProgram({
      stack: "staging",
      config: {
        ...BASE,
        "fleet:cluster": { type: "kind", workers: -2 },
        "fleet:tenants": [
          { name: "team-a", namepsaces: ["x"] },
          { name: "team-b", namespaces: ["shared"] },
          { name: "team-c", namespaces: ["shared"], path: "/abs" },
        ],
      },
    });
    assert.ok(result.error instanceof ConfigError);
    assert.deepEqual(
      result.error.problems.map((p) => p.slice(0, p.indexOf(": "))).sort(),
      ["fleet:cluster.workers", "fleet:tenants[0].namepsaces", "fleet:tenants[2].path"].sort(),
      result.error.message,
    );
    assert.equal(result.resources.length, 0);
  });

  it("still checks valid tenants against each other when another key is broken", () => {
    const problems = problemsOf({
      ...BASE,
      "fleet:cluster": { type: "eks" },
      "fleet:tenants": [{ name: "team-a" }, { name: "team-a", namespaces: ["other"], repository: { name: "x" } }],
    });
    assert.deepEqual(problems, [
      'fleet:cluster.type: must be one of "kind", "kubeconfig"',
      'fleet:tenants[1].name: "team-a" is already used by fleet:tenants[0]; tenant names must be unique',
    ]);
  });

  it("fleet:flux.version: what operator v0.58.1's manifests hold resolves (from 2.7.0 under the lockdown); a mirror artifact or another operator version is not checked", () => {
    for (const version of ["2.9.x", "2.9.4", "~2.8", "^2", "2.x", "2", "2.7.0"]) {
      assert.equal(parse({ ...BASE, "fleet:flux": { version } }).flux.version, version, version);
    }
    // Without the lockdown (and so without tenants) the oldest the manifests hold installs too.
    assert.equal(parse({ ...BASE, "fleet:flux": { version: "2.2.3", multitenant: false } }).flux.version, "2.2.3");
    const mirror = "oci://registry.internal/flux-operator-manifests:v0.58.1";
    assert.equal(parse({ ...BASE, "fleet:flux": { version: "2.10.x", artifact: mirror } }).flux.version, "2.10.x", "a mirror's contents are not known here");
    assert.equal(parse({ ...BASE, "fleet:flux": { version: "2.10.x", operatorVersion: "0.60.0" } }).flux.version, "2.10.x", "an unlisted operator release is not checked");
    // The default range resolves to the Flux the rig runs (rig/versions.sh), which the operator's stand-in resolves it to.
    const rig = /^FLUX_VERSION=(\S+)$/m.exec(fs.readFileSync(path.join(__dirname, "..", "rig", "versions.sh"), "utf8"))?.[1];
    assert.equal(semver.maxSatisfying([...DEFAULTS.embeddedFluxVersions[DEFAULTS.operatorVersion]], DEFAULTS.fluxVersion), rig);
  });

  it("says what is wrong and what to do, word for word", () => {
    assert.deepEqual(problemsOf(withTenants({ name: "team-a", namepsaces: ["team-a"] })), [
      "fleet:tenants[0].namepsaces: unknown key; did you mean 'namespaces'? Allowed keys: name, namespaces, targetNamespace, repository, branch, path, clusterRole, team, quota, ingressNamespace, scaffold, podSecurity, offboard, sources, buckets, serviceTypes, secrets, renamedFrom",
    ]);
    assert.deepEqual(problemsOf(withTenants({ name: "team-a", namespaces: ["kube-system"] })), [
      'fleet:tenants[0].namespaces[0]: namespace "kube-system" is reserved for Kubernetes or Flux (default, kube-*, flux-system)',
    ]);
    assert.deepEqual(problemsOf({ ...BASE, "fleet:cluster": { type: "kubeconfig" } }), [
      "fleet:kubeconfig: is required when fleet:cluster.type is kubeconfig; set it with: pulumi config set --secret fleet:kubeconfig < ~/.kube/config",
    ]);
  });

  it("names the stack-derived default when it is invalid", () => {
    assert.deepEqual(problemsOf(BASE, "Staging_EU"), [
      `fleet:environment: the default "Staging_EU" (the stack name) is not a valid environment name; set fleet:environment, and use a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters`,
      `fleet:cluster.name: the default "fleet-Staging_EU" (from the stack name) is not valid; set fleet:cluster.name, and use a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters`,
    ]);
    assert.equal(parse({ ...BASE, "fleet:cluster": { name: "eu" }, "fleet:environment": "staging" }, "Staging_EU").environment, "staging");
  });

  it("does not change the caller's config object", () => {
    const values = { "github:owner": "acme-org", "fleet:tenants": JSON.stringify([{ name: "team-a" }]) };
    const copy = JSON.parse(JSON.stringify(values));
    parseFleetConfig({ stack: "staging", values });
    assert.deepEqual(values, copy);
  });
});

describe("stack config: git branch rules", () => {
  const valid = ["main", "release/2026.11", "feature/x-y_z", "v1.2"];
  const invalid = ["", "@", "-x", "/main", "main/", "a//b", "a..b", "a@{b", "a b", "a~b", "a^b", "a:b", "a?b", "a*b", "a[b", "a\\b", ".hidden", "x/.y", "x.lock", "x.", "x/y.lock/z"];
  for (const branch of valid) it(`accepts ${JSON.stringify(branch)}`, () => assert.equal(gitBranchProblem(branch), undefined));
  for (const branch of invalid) it(`refuses ${JSON.stringify(branch)}`, () => assert.ok(gitBranchProblem(branch)));
});

describe("stack config: defaults", () => {
  it("a tenant given only a name gets every default", () => {
    const config = parse(withTenants({ name: "team-a" }), "staging");
    assert.deepEqual(config.tenants, [
      {
        name: "team-a",
        identity: "team-a",
        sources: [],
        buckets: false,
        serviceTypes: [],
        namespaces: ["team-a"],
        branch: "main",
        path: "./flux/staging",
        targetNamespace: "team-a",
        clusterRole: "admin",
        scaffold: true,
        podSecurity: "baseline",
        offboard: false,
        repository: { name: "team-a-deploy", create: false, readWrite: false },
      },
    ]);
  });

  it("a tenant's repository is created when the stack owns the fleet repository, unless it says otherwise", () => {
    const config = parse({
      ...BASE,
      "fleet:repository": { create: true },
      "fleet:tenants": [{ name: "team-a" }, { name: "team-b", repository: { create: false } }],
    });
    assert.deepEqual(config.tenants.map((t) => [t.name, t.repository.create]), [["team-a", true], ["team-b", false]]);
  });

  it("an empty stack config gets the cluster, Flux and repository defaults from the stack name", () => {
    const config = parse(BASE, "production");
    assert.deepEqual(config, {
      stack: "production",
      environment: "production",
      owner: "acme-org",
      cluster: { type: "kind", name: "fleet-production", workers: 0 },
      flux: {
        version: DEFAULTS.fluxVersion,
        operatorVersion: DEFAULTS.operatorVersion,
        components: ["source-controller", "kustomize-controller", "helm-controller", "notification-controller"],
        multitenant: true,
        networkPolicy: true,
        admissionPolicies: true,
        web: false,
        kustomizeEgress: { proxy: "http://127.0.0.1:9", direct: [] },
        registry: "ghcr.io/fluxcd",
        artifact: `oci://ghcr.io/controlplaneio-fluxcd/flux-operator-manifests:v${DEFAULTS.operatorVersion}`,
        chart: "oci://ghcr.io/controlplaneio-fluxcd/charts/flux-operator",
        operator: { install: true },
      },
      repository: {
        name: "flux-fleet",
        create: false,
        visibility: "private",
        branch: "main",
        path: "clusters/production",
        keyAlgorithm: "ed25519",
        sshHost: "github.com",
        readWrite: false,
        keyGeneration: 1,
        tenantTemplate: "flux-fleet-tenant-template",
        templateEnvironments: ["production"],
        contentWritesPerHour: 500,
      },
      tenants: [],
    });
  });

  it("explicit false and 0 are kept, not replaced by defaults", () => {
    const config = parse({ ...BASE, "fleet:cluster": { workers: 0 }, "fleet:flux": { multitenant: false, networkPolicy: false } });
    assert.equal(config.cluster.type === "kind" && config.cluster.workers, 0);
    assert.equal(config.flux.multitenant, false);
    assert.equal(config.flux.networkPolicy, false);
  });

  it("numeric quota values are accepted and kept as Kubernetes quantity strings", () => {
    const config = parse(withTenants({ name: "team-a", quota: { cpu: 4, pods: 50 } }));
    assert.deepEqual(config.tenants[0].quota, { cpu: "4", pods: "50" });
  });

  it("the program uses the stack-derived cluster name by default", async () => {
    const result = await runProgram({ stack: "qa", config: BASE });
    assert.equal(result.error, undefined, result.error?.message);
    const kind = result.resources.find((r) => r.type === "pulumi-nodejs:dynamic/fleet:KindCluster");
    assert.ok(kind, "a kind stack registers a KindCluster");
    assert.equal(kind.inputs.name, "fleet-qa");
    assert.equal(kind.inputs.workers, 0);
  });
});

describe("example stacks", () => {
  for (const stack of ["staging", "production"]) {
    it(`Pulumi.${stack}.yaml is valid and runs`, async () => {
      const result = await runProgram({ stack, config: stackConfig(stack) });
      assert.equal(result.error, undefined, result.error?.message);
      assert.ok(result.resources.length > 0);
    });
  }

  it("staging owns the repositories and production looks them up", () => {
    const staging = parse(stackConfig("staging"), "staging");
    const production = parse(stackConfig("production"), "production");
    assert.equal(staging.repository.create, true);
    assert.equal(production.repository.create, false);
    assert.ok(production.tenants.every((t) => !t.repository.create), "production creates no tenant repository");
    assert.deepEqual(staging.tenants.map((t) => t.name), production.tenants.map((t) => t.name), "both stacks bind the same tenants");
  });

  it("the example stacks pin their kind node image by digest", () => {
    for (const stack of ["staging", "production"]) {
      const cluster = parse(stackConfig(stack), stack).cluster;
      assert.ok(cluster.type === "kind" && /@sha256:[0-9a-f]{64}$/.test(cluster.nodeImage ?? ""), `${stack}: ${JSON.stringify(cluster)}`);
    }
  });

  it("the examples show a multi-namespace tenant with a quota and an existing repository", () => {
    const staging = parse(stackConfig("staging"), "staging");
    assert.ok(staging.tenants.some((t) => t.namespaces.length >= 2 && t.quota), "a tenant with two namespaces and a quota");
    assert.ok(staging.tenants.some((t) => !t.repository.create), "a tenant whose repository already exists");
  });
});
