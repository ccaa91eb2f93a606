/**
 * The tenant admission policy pack: one ValidatingAdmissionPolicy per rule
 * (admissionregistration.k8s.io/v1, GA since Kubernetes 1.30), bound with `validationActions:
 * [Deny]` to tenant namespaces by their tenant label (which a tenant cannot edit: namespaces are
 * cluster-scoped). Rules that differ per tenant read a ConfigMap of parameters in flux-system,
 * where no tenant can write, one per tenant, through one binding per tenant; a binding whose
 * ConfigMap is missing denies (`parameterNotFoundAction: Deny`).
 *
 * The rules (docs/tenancy.md, "Admission policies"):
 * - sources: a GitRepository, OCIRepository or HelmRepository URL must be the tenant's own
 *   repository or one its config allows (`sources`), exactly;
 * - no `spec.kubeConfig` on a Kustomization or HelmRelease (syncing into another cluster);
 * - no Bucket unless the tenant's config allows it (`buckets: true`);
 * - no Pod running as the tenant account `flux` (its token is what Flux impersonates);
 * - no ImageUpdateAutomation unless the tenant's deploy key is writable (`repository.readWrite`).
 *
 * Each rule's CEL is evaluated offline on fixtures (test/policy.spec.ts) and enforced by the
 * rig's real API server (test/real/fleet.spec.ts, 7).
 */
import { FLUX_NAMESPACE, TENANT_LABEL, TENANT_SERVICE_ACCOUNT } from "../constants";
import { metadata } from "./common";

/** What one tenant's parameters say: its allowed source URLs, Buckets, image automation. */
export interface TenantPolicyParams {
  /** What the tenant's objects are named after (`TenantConfig.identity`). */
  readonly tenant: string;
  /** Source URLs the tenant may use, its own repository first; matched exactly. */
  readonly sources: readonly string[];
  readonly buckets: boolean;
  readonly imageAutomation: boolean;
}

/** A policy's rule: what it matches, what it checks, and whether it reads the tenant's parameters. */
interface Rule {
  readonly name: string;
  readonly perTenant: boolean;
  readonly resources: readonly { readonly group: string; readonly resources: readonly string[] }[];
  readonly operations: readonly ("CREATE" | "UPDATE")[];
  readonly expression: string;
  readonly message: string;
}

const SOURCE_KEY_PREFIX = "source-";

/** The rules, by policy name. Expressions use only standard CEL: has(), exists() on a map, startsWith. */
export const POLICY_RULES: readonly Rule[] = [
  {
    name: "fleet-tenant-sources",
    perTenant: true,
    resources: [{ group: "source.toolkit.fluxcd.io", resources: ["gitrepositories", "ocirepositories", "helmrepositories"] }],
    operations: ["CREATE", "UPDATE"],
    expression: `params.data.exists(k, k.startsWith('${SOURCE_KEY_PREFIX}') && params.data[k] == object.spec.url)`,
    message: "this tenant may only use its own repository and the sources its config allows (fleet:tenants[].sources)",
  },
  {
    name: "fleet-tenant-no-kubeconfig",
    perTenant: false,
    resources: [
      { group: "kustomize.toolkit.fluxcd.io", resources: ["kustomizations"] },
      { group: "helm.toolkit.fluxcd.io", resources: ["helmreleases"] },
    ],
    operations: ["CREATE", "UPDATE"],
    expression: "!has(object.spec.kubeConfig)",
    message: "a tenant's Kustomization or HelmRelease may not set spec.kubeConfig: it syncs this cluster only",
  },
  {
    name: "fleet-tenant-buckets",
    perTenant: true,
    resources: [{ group: "source.toolkit.fluxcd.io", resources: ["buckets"] }],
    operations: ["CREATE", "UPDATE"],
    expression: "has(params.data.buckets) && params.data.buckets == 'true'",
    message: "Bucket sources are not allowed for this tenant (fleet:tenants[].buckets)",
  },
  {
    name: "fleet-tenant-flux-account-pods",
    perTenant: false,
    resources: [{ group: "", resources: ["pods"] }],
    operations: ["CREATE"],
    expression:
      `(!has(object.spec.serviceAccountName) || object.spec.serviceAccountName != '${TENANT_SERVICE_ACCOUNT}') && ` +
      `(!has(object.spec.serviceAccount) || object.spec.serviceAccount != '${TENANT_SERVICE_ACCOUNT}')`,
    message: `no Pod may run as the tenant account '${TENANT_SERVICE_ACCOUNT}': Flux acts as it; give workloads their own account`,
  },
  {
    name: "fleet-tenant-image-automation",
    perTenant: true,
    resources: [{ group: "image.toolkit.fluxcd.io", resources: ["imageupdateautomations"] }],
    operations: ["CREATE", "UPDATE"],
    expression: "has(params.data.imageAutomation) && params.data.imageAutomation == 'true'",
    message: "image automation needs a writable deploy key (fleet:tenants[].repository.readWrite: true)",
  },
];

/** One ValidatingAdmissionPolicy per rule. */
export function admissionPolicy(rule: Rule) {
  return {
    apiVersion: "admissionregistration.k8s.io/v1" as const,
    kind: "ValidatingAdmissionPolicy" as const,
    metadata: metadata(rule.name),
    spec: {
      failurePolicy: "Fail",
      ...(rule.perTenant ? { paramKind: { apiVersion: "v1", kind: "ConfigMap" } } : {}),
      // Written out with the API server's defaults (k8s.io/kubernetes v1.36.3,
      // pkg/apis/admissionregistration/v1/defaults.go: SetDefaults_MatchResources, SetDefaults_Rule),
      // so the live object is exactly the declared one and drift sees any change.
      matchConstraints: {
        resourceRules: rule.resources.map((r) => ({ apiGroups: [r.group], apiVersions: ["*"], operations: [...rule.operations], resources: [...r.resources], scope: "*" })),
        matchPolicy: "Equivalent",
        namespaceSelector: {},
        objectSelector: {},
      },
      validations: [{ expression: rule.expression, message: rule.message, reason: "Forbidden" }],
    },
  };
}

/** Name of a tenant's parameter ConfigMap in flux-system. */
export function tenantPolicyParamsName(tenant: string): string {
  return `tenant-policy-${tenant}`;
}

/** A tenant's parameters: `source-<i>` per allowed URL, `buckets`, `imageAutomation`. */
export function tenantPolicyParams(p: TenantPolicyParams) {
  return {
    apiVersion: "v1" as const,
    kind: "ConfigMap" as const,
    metadata: metadata(tenantPolicyParamsName(p.tenant), FLUX_NAMESPACE, { [TENANT_LABEL]: p.tenant }),
    data: {
      ...Object.fromEntries(p.sources.map((url, i) => [`${SOURCE_KEY_PREFIX}${i}`, url])),
      buckets: String(p.buckets),
      imageAutomation: String(p.imageAutomation),
    },
  };
}

/**
 * A rule's binding, Deny: with `tenant`, to that tenant's namespaces with its parameters (a missing
 * ConfigMap denies); without, to every tenant namespace, for a rule that is the same for all.
 */
export function policyBinding(rule: Rule, tenant?: string) {
  return {
    apiVersion: "admissionregistration.k8s.io/v1" as const,
    kind: "ValidatingAdmissionPolicyBinding" as const,
    metadata: tenant ? metadata(`${rule.name}-${tenant}`, undefined, { [TENANT_LABEL]: tenant }) : metadata(rule.name),
    spec: {
      policyName: rule.name,
      validationActions: ["Deny"],
      ...(tenant ? { paramRef: { name: tenantPolicyParamsName(tenant), namespace: FLUX_NAMESPACE, parameterNotFoundAction: "Deny" } } : {}),
      matchResources: {
        namespaceSelector: tenant ? { matchLabels: { [TENANT_LABEL]: tenant } } : { matchExpressions: [{ key: TENANT_LABEL, operator: "Exists" }] },
        objectSelector: {},
        matchPolicy: "Equivalent",
      },
    },
  };
}
