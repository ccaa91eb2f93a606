/**
 * The tenancy model as policies: which account every tenant Flux object runs as, what the engine
 * refuses to delete, which deploy keys can write, and that no two registrations can collide.
 * Everything is derived from what the program registers, not restated from constants.
 */
import { strict as assert } from "assert";
import fc from "fast-check";
import { ConfigError, parseFleetConfig, programKeys } from "../components/config";
import { one, Registered, RunResult, runProgram, stackConfig } from "./harness";

const T = {
  namespace: "kubernetes:core/v1:Namespace",
  serviceAccount: "kubernetes:core/v1:ServiceAccount",
  roleBinding: "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
  clusterRoleBinding: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
  kustomization: "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization",
  instance: "kubernetes:fluxcd.controlplane.io/v1:FluxInstance",
  release: "kubernetes:helm.sh/v3:Release",
  deployKey: "github:index/repositoryDeployKey:RepositoryDeployKey",
  tenant: "fleet:tenant:Tenant",
};

const TENANTS = [
  { name: "payments", namespaces: ["payments", "payments-jobs"], quota: { cpu: "4" } },
  { name: "shop" },
  { name: "analytics", repository: { name: "analytics-gitops", create: false }, branch: "release" },
];

function config(tenants: unknown[] = TENANTS, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { "github:owner": "acme-org", "fleet:repository": { create: true }, "fleet:tenants": tenants, ...extra };
}

function isUnder(result: RunResult, r: Registered, ancestor: string): boolean {
  if (r.parent === ancestor) return true;
  const parent = result.resources.find((p) => p.urn === r.parent);
  return parent ? isUnder(result, parent, ancestor) : false;
}

function ofTenant(result: RunResult, tenant: string, type?: string): Registered[] {
  const component = one(result, T.tenant, tenant).urn;
  return result.resources.filter((r) => (type === undefined || r.type === type) && isUnder(result, r, component));
}

// ---------------------------------------------------------------------------------------------
// Impersonation: a model of how Flux and the Flux Operator pick the account an object runs as.
//   kustomize-controller / helm-controller (fluxcd/pkg runtime/client/impersonator.go):
//     `system:serviceaccount:<object's own namespace>:<spec.serviceAccountName || --default-service-account>`,
//     and the controller's own cluster-admin account when both are empty.
//   The FluxInstance's `cluster.tenantDefaultServiceAccount` sets --default-service-account on both
//   when `cluster.multitenant` is true (its CRD: "Defaults to the 'default' service account").
//   Flux Operator ResourceSets: the chart's `multitenancy.defaultServiceAccount`, when enabled.
//   `spec.targetNamespace` rewrites the namespace of every namespaced object applied (kustomize's
//   namespace transformer overwrites an explicit one), never the applier's own account.
// ---------------------------------------------------------------------------------------------

type FluxKind = "Kustomization" | "HelmRelease" | "ResourceSet";
const KINDS: readonly FluxKind[] = ["Kustomization", "HelmRelease", "ResourceSet"];
const CONTROLLER = "<controller's own cluster-admin account>";

interface Impersonation {
  /** The account a `kind` object in `namespace` runs as, given its `serviceAccountName`. */
  runsAs(kind: FluxKind, namespace: string, serviceAccountName?: string): string;
}

function impersonation(result: RunResult): Impersonation {
  const cluster = one(result, T.instance).inputs.spec.cluster;
  const values = one(result, T.release).inputs.values ?? {};
  const fluxDefault: string | undefined = cluster.multitenant ? (cluster.tenantDefaultServiceAccount ?? "default") : undefined;
  const operatorDefault: string | undefined = values.multitenancy?.enabled ? values.multitenancy.defaultServiceAccount : undefined;
  return {
    runsAs(kind, namespace, serviceAccountName) {
      const name = serviceAccountName ?? (kind === "ResourceSet" ? operatorDefault : fluxDefault);
      return name ? `${namespace}:${name}` : CONTROLLER;
    },
  };
}

/** Where `account` (`ns:name`) is bound: RoleBinding namespaces, and any ClusterRoleBinding. */
function bindingsOf(result: RunResult, account: string): { namespaces: string[]; clusterWide: string[]; roles: string[] } {
  const [namespace, name] = account.split(":");
  const binds = (r: Registered) =>
    (r.inputs.subjects ?? []).some((s: any) => s.kind === "ServiceAccount" && s.namespace === namespace && s.name === name);
  const roleBindings = result.resources.filter((r) => r.type === T.roleBinding && binds(r));
  return {
    namespaces: roleBindings.map((r) => r.inputs.metadata.namespace).sort(),
    clusterWide: result.resources.filter((r) => r.type === T.clusterRoleBinding && binds(r)).map((r) => r.name),
    roles: [...new Set(roleBindings.map((r) => r.inputs.roleRef.name))],
  };
}

function accountExists(result: RunResult, account: string): boolean {
  const [namespace, name] = account.split(":");
  return result.resources.some(
    (r) => r.type === T.serviceAccount && r.inputs.metadata.namespace === namespace && r.inputs.metadata.name === name,
  );
}

describe("Tenancy: every tenant Flux object runs as the tenant, at every depth", () => {
  let result: RunResult;
  before(async () => {
    result = await runProgram({ stack: "staging", config: config() });
    assert.equal(result.error, undefined, result.error?.message);
  });

  for (const tenant of TENANTS) {
    it(`tenant ${tenant.name}: each Kustomization, HelmRelease and ResourceSet, one and two levels down, with and without serviceAccountName`, () => {
      const model = impersonation(result);
      const namespaces = ofTenant(result, tenant.name, T.namespace).map((r) => r.inputs.metadata.name).sort();
      const root = ofTenant(result, tenant.name, T.kustomization)[0].inputs;
      const rootAccount = model.runsAs("Kustomization", root.metadata.namespace, root.spec.serviceAccountName);
      const checked: string[] = [];

      /** The account exists in that namespace, and is bound inside the tenant's namespaces only. */
      const confined = (what: string, account: string) => {
        assert.notEqual(account, CONTROLLER, `${what} would run as the controller (cluster-admin)`);
        assert.ok(accountExists(result, account), `${what} runs as ${account}, which does not exist`);
        const where = bindingsOf(result, account);
        assert.deepEqual(where.clusterWide, [], `${what}: ${account} has a ClusterRoleBinding`);
        assert.deepEqual(where.namespaces, namespaces, `${what}: ${account} must be bound in exactly the tenant's namespaces`);
        checked.push(`${what} -> ${account}`);
      };
      confined(`tenant ${tenant.name}'s Kustomization`, rootAccount);

      // Level 1: what the tenant repository declares, in any of its namespaces or in flux-system
      // (the lfs269 layout); targetNamespace, when set, overrides the declared namespace.
      for (const declared of [...namespaces, "flux-system"]) {
        const lands = root.spec.targetNamespace ?? declared;
        if (!namespaces.includes(lands)) {
          assert.ok(!bindingsOf(result, rootAccount).namespaces.includes(lands), `${rootAccount} can write to ${lands}`);
          continue; // forbidden to apply at all: the tenant's account has no rights there
        }
        for (const kind of KINDS) {
          for (const sa of [undefined, "flux"]) {
            const level1 = model.runsAs(kind, lands, sa);
            confined(`${kind} in ${lands} (declared ${declared}, serviceAccountName ${sa ?? "unset"})`, level1);
            if (kind === "ResourceSet" || kind === "HelmRelease") continue;
            // Level 2: what that nested Kustomization applies (no targetNamespace of ours there).
            for (const inner of namespaces) {
              assert.ok(bindingsOf(result, level1).namespaces.includes(inner), `${level1} cannot apply to ${inner}`);
              for (const innerKind of KINDS) {
                for (const innerSa of [undefined, "flux"]) {
                  confined(`${innerKind} in ${inner} under a Kustomization in ${lands} (serviceAccountName ${innerSa ?? "unset"})`, model.runsAs(innerKind, inner, innerSa));
                }
              }
            }
          }
        }
      }
      assert.ok(checked.length >= 12, `too few cases checked: ${checked.length}`);
    });
  }

  it("a tenant's account reaches no other tenant's namespace", () => {
    const shop = bindingsOf(result, "shop:flux");
    assert.deepEqual(shop.namespaces, ["shop"]);
    for (const ns of ["payments", "payments-jobs"]) assert.deepEqual(bindingsOf(result, `${ns}:flux`).namespaces, ["payments", "payments-jobs"]);
  });

  it("the model is not vacuous: with the lockdown's default left at `default`, nested objects would run as an account that does not exist", () => {
    const broken = { ...result, resources: result.resources.map((r) => (r.type === T.instance ? { ...r, inputs: { ...r.inputs, spec: { ...r.inputs.spec, cluster: { ...r.inputs.spec.cluster, tenantDefaultServiceAccount: undefined } } } } : r)) };
    assert.ok(!accountExists(broken, impersonation(broken).runsAs("HelmRelease", "shop")));
  });
});

// ---------------------------------------------------------------------------------------------
// Offboarding: the engine refuses to delete a tenant's data until the tenant is marked offboard.
// Pulumi's DeleteStep refuses a protected resource ("unable to delete resource … as it is
// currently marked for protection", pkg/resource/deploy/step.go), in preview as in update.
// ---------------------------------------------------------------------------------------------

function state(result: RunResult, exclude: string): Map<string, string> {
  const tenant = one(result, T.tenant, exclude).urn;
  return new Map(
    result.resources
      .filter((r) => r.urn !== tenant && !isUnder(result, r, tenant))
      .map((r) => [r.urn, JSON.stringify({ inputs: r.inputs, protect: r.protect, deps: [...r.dependencies].sort() })]),
  );
}

describe("Tenancy: no tenant data is lost by accident", () => {
  it("what holds a tenant's data, its namespaces and its Kustomization, is protected until offboard: true", async () => {
    const result = await runProgram({ stack: "staging", config: config() });
    for (const tenant of TENANTS) {
      const objects = ofTenant(result, tenant.name).filter((r) => r.type.startsWith("kubernetes:"));
      const holders = objects.filter((r) => r.type === T.namespace || r.type === T.kustomization);
      assert.equal(holders.length, (tenant.namespaces?.length ?? 1) + 1, tenant.name);
      for (const r of holders) assert.equal(r.protect, true, `${tenant.name}: ${r.type}::${r.name} must be protected`);
      // The rest stays editable: dropping a quota or changing clusterRole (a RoleBinding's roleRef
      // is immutable, so it is replaced) must not be refused.
      for (const r of objects.filter((o) => !holders.includes(o))) assert.equal(r.protect, false, `${tenant.name}: ${r.type}::${r.name}`);
    }
  });

  it("deploy keys stay unprotected, so rotating them is never blocked", async () => {
    const result = await runProgram({ stack: "staging", config: config() });
    for (const r of result.resources.filter((x) => x.type === T.deployKey)) assert.equal(r.protect, false, r.name);
  });

  it("offboard: true makes that tenant removable and changes nothing for any other tenant", async () => {
    const before = await runProgram({ stack: "staging", config: config() });
    const after = await runProgram({ stack: "staging", config: config([{ ...TENANTS[0], offboard: true }, TENANTS[1], TENANTS[2]]) });
    assert.equal(after.error, undefined, after.error?.message);
    for (const r of ofTenant(after, "payments")) assert.equal(r.protect, false, `${r.type}::${r.name}`);
    assert.deepEqual([...state(after, "payments")], [...state(before, "payments")], "other tenants and the fleet are unchanged");
    const inputs = (run: RunResult) => ofTenant(run, "payments").map((r) => JSON.stringify([r.urn, r.inputs]));
    assert.deepEqual(inputs(after), inputs(before), "offboarding only lifts the protection; the tenant itself is unchanged");
  });
});

// ---------------------------------------------------------------------------------------------
// Image automation and writable keys
// ---------------------------------------------------------------------------------------------

const IMAGE_AUTOMATION = ["source-controller", "kustomize-controller", "image-reflector-controller", "image-automation-controller"];

describe("Tenancy: deploy keys can write only where config says so", () => {
  it("image-automation-controller without a writable key fails, names the key and registers nothing", async () => {
    const result = await runProgram({ stack: "staging", config: config(TENANTS, { "fleet:flux": { components: IMAGE_AUTOMATION } }) });
    assert.ok(result.error instanceof ConfigError, String(result.error));
    assert.ok(result.error.problems.some((p) => p.startsWith("fleet:flux.components: lists image-automation-controller")), result.error.message);
    assert.equal(result.resources.length, 0);
  });

  it("with one tenant's repository.readWrite, that tenant's key alone is writable", async () => {
    const tenants = [TENANTS[0], { ...TENANTS[1], repository: { readWrite: true } }, TENANTS[2]];
    const result = await runProgram({ stack: "staging", config: config(tenants, { "fleet:flux": { components: IMAGE_AUTOMATION } }) });
    assert.equal(result.error, undefined, result.error?.message);
    const keys = result.resources.filter((r) => r.type === T.deployKey).map((r) => [r.inputs.repository, r.inputs.readOnly]);
    assert.deepEqual(keys.sort(), [["analytics-gitops", true], ["flux-fleet", true], ["payments-deploy", true], ["shop-deploy", false]]);
  });

  it("fleet:repository.readWrite makes the fleet key alone writable", async () => {
    const result = await runProgram({ stack: "staging", config: config(TENANTS, { "fleet:repository": { create: true, readWrite: true }, "fleet:flux": { components: IMAGE_AUTOMATION } }) });
    assert.equal(result.error, undefined, result.error?.message);
    const writable = result.resources.filter((r) => r.type === T.deployKey && r.inputs.readOnly === false).map((r) => r.inputs.repository);
    assert.deepEqual(writable, ["flux-fleet"]);
  });

  it("the example stacks have no writable key", async () => {
    for (const stack of ["staging", "production"]) {
      const result = await runProgram({ stack, config: stackConfig(stack) });
      assert.deepEqual(result.resources.filter((r) => r.type === T.deployKey && r.inputs.readOnly !== true).map((r) => r.name), [], stack);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Names: no valid config can make two registrations share a URN, or two resources manage one
// Kubernetes object.
// ---------------------------------------------------------------------------------------------

/** Short words that joined with '-' make names likely to run into each other. */
const WORD = fc.constantFrom("a", "b", "ns", "rb", "sa", "git", "x-y", "flux", "repository", "netpol");
const NAME = fc.array(WORD, { minLength: 1, maxLength: 3 }).map((w) => w.join("-"));
const TENANT = fc.record(
  { name: NAME, namespaces: fc.array(NAME, { minLength: 1, maxLength: 3 }), withNamespaces: fc.boolean(), quota: fc.boolean() },
).map((t) => ({
  name: t.name,
  ...(t.withNamespaces ? { namespaces: [...new Set(t.namespaces)] } : {}),
  ...(t.quota ? { quota: { pods: "10" } } : {}),
}));

function validTenants(tenants: unknown[]): boolean {
  const values: Record<string, string> = {};
  for (const [k, v] of Object.entries(programKeys(config(tenants)))) values[k] = typeof v === "string" ? v : JSON.stringify(v);
  try {
    parseFleetConfig({ stack: "staging", values });
    return true;
  } catch (e) {
    if (e instanceof ConfigError) return false;
    throw e;
  }
}

function duplicates(values: readonly string[]): string[] {
  return [...new Set(values.filter((v, i) => values.indexOf(v) !== i))];
}

describe("Tenancy: names that cannot collide", () => {
  it("for many generated tenant sets, no two registrations share a URN and no two resources manage one Kubernetes object", async function () {
    this.timeout(180_000);
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(TENANT, { minLength: 2, maxLength: 8 }), async (tenants) => {
        fc.pre(validTenants(tenants));
        runs++;
        const result = await runProgram({ stack: "staging", config: config(tenants) });
        assert.equal(result.error, undefined, result.error?.message);
        assert.deepEqual(duplicates(result.resources.map((r) => r.urn)), [], "URNs registered twice");
        const objects = result.resources
          .filter((r) => r.type.startsWith("kubernetes:") && r.type !== T.release)
          .map((r) => `${r.inputs.apiVersion}/${r.inputs.kind} ${r.inputs.metadata.namespace ?? ""}/${r.inputs.metadata.name}`);
        assert.deepEqual(duplicates(objects), [], "Kubernetes objects managed twice");
      }),
      {
        numRuns: 40,
        seed: 20261127,
        // The collision the old names allowed: tenant "a" with namespace "b-ns-c" and tenant "a-ns-b" with "c".
        examples: [[[{ name: "a", namespaces: ["b-ns-c"] }, { name: "a-ns-b", namespaces: ["c"] }]]],
      },
    );
    assert.ok(runs >= 20, `only ${runs} generated tenant sets were valid`);
  });
});
