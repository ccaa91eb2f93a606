/**
 * Tenants: the objects `flux create tenant` and the flux2-multi-tenancy example make (v1 APIs
 * only), locked down as docs/tenancy.md describes, and the tenant repositories' files.
 */
import { DEFAULTS } from "../config/defaults";
import type { PodSecurityLevel } from "../config/types";
import { POD_SECURITY_LABELS, TENANT_LABEL, TENANT_SERVICE_ACCOUNT } from "../constants";
import { RepoFile, cleanPath, metadata, namespace, yamlFile } from "./common";
import { TenantPolicyParams, tenantPolicyAnnotations } from "./policy";
import { sopsDecryption } from "./sops";

/** How often a tenant's GitRepository is fetched, and its Kustomization applied. */
export const TENANT_INTERVALS = { source: "1m", apply: "10m", retry: "2m", timeout: "5m" } as const;
/** Container defaults a tenant's LimitRange sets, so pods without resources fit a limits quota. */
export const TENANT_CONTAINER_DEFAULTS = {
  defaultRequest: { cpu: "100m", memory: "128Mi" },
  default: { cpu: "500m", memory: "512Mi" },
} as const;

export function tenantLabels(tenant: string): Record<string, string> {
  return { [TENANT_LABEL]: tenant };
}

/** Names of a tenant's objects: unique within each of its namespaces (a namespace has one tenant). */
export function tenantNames(tenant: string) {
  return {
    serviceAccount: TENANT_SERVICE_ACCOUNT,
    roleBinding: TENANT_SERVICE_ACCOUNT,
    secret: `${tenant}-git`,
    source: tenant,
    kustomization: tenant,
    networkPolicy: `${tenant}-isolation`,
    quota: `${tenant}-quota`,
    limitRange: `${tenant}-limits`,
  };
}

/**
 * A tenant namespace: the tenant label, and Pod Security Admission enforcing `podSecurity` while
 * warning and auditing at `restricted`; with the admission policy pack, the tenant's values the
 * policies read (`policy`, as annotations: manifests/policy.ts). A tenant bound to `admin` cannot
 * edit these labels or annotations: namespaces are cluster-scoped and `admin` grants no write on them.
 */
export function tenantNamespace(tenant: string, name: string, podSecurity: PodSecurityLevel, policy?: TenantPolicyParams) {
  return namespace(
    name,
    {
      ...tenantLabels(tenant),
      [POD_SECURITY_LABELS.enforce]: podSecurity,
      [POD_SECURITY_LABELS.warn]: "restricted",
      [POD_SECURITY_LABELS.audit]: "restricted",
    },
    policy ? tenantPolicyAnnotations(policy) : undefined,
  );
}

/**
 * The tenant account in one tenant namespace. Flux impersonates it; no pod needs its token, so
 * none is mounted.
 */
export function tenantServiceAccount(tenant: string, namespace: string) {
  return {
    apiVersion: "v1" as const,
    kind: "ServiceAccount" as const,
    metadata: metadata(tenantNames(tenant).serviceAccount, namespace, tenantLabels(tenant)),
    automountServiceAccountToken: false,
  };
}

/**
 * In one tenant namespace, a RoleBinding of `clusterRole` to the tenant account of each of the
 * tenant's namespaces, so a Flux object in any of them can deploy to all of them, and to nothing
 * else. Never a ClusterRoleBinding.
 */
export function tenantRoleBinding(tenant: string, namespace: string, tenantNamespaces: readonly string[], clusterRole: string) {
  const names = tenantNames(tenant);
  return {
    apiVersion: "rbac.authorization.k8s.io/v1" as const,
    kind: "RoleBinding" as const,
    metadata: metadata(names.roleBinding, namespace, tenantLabels(tenant)),
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: clusterRole },
    subjects: tenantNamespaces.map((ns) => ({ kind: "ServiceAccount", name: names.serviceAccount, namespace: ns })),
  };
}

export interface TenantSyncArgs {
  readonly tenant: string;
  /** The tenant's first namespace, where its Flux objects live. */
  readonly namespace: string;
  /** `ssh://` URL of the tenant's deployment repository. */
  readonly url: string;
  readonly branch: string;
  /** Path in the repository to apply (`./flux/<env>`). */
  readonly path: string;
  /** Namespace every namespaced object applied is put in (Flux `spec.targetNamespace`). */
  readonly targetNamespace?: string;
  /** Decrypt SOPS files with the tenant's own key Secret (`secrets`). @default false */
  readonly decrypt?: boolean;
}

/** The tenant's GitRepository: its deployment repository over SSH with its own deploy key. */
export function tenantGitRepository(args: TenantSyncArgs) {
  const names = tenantNames(args.tenant);
  return {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "GitRepository",
    metadata: metadata(names.source, args.namespace, tenantLabels(args.tenant)),
    spec: {
      interval: TENANT_INTERVALS.source,
      url: args.url,
      ref: { branch: args.branch },
      secretRef: { name: names.secret },
      // A guard: declared so that `suspend: true` set by hand is a change the provider's diff sees.
      // It prunes the live object to the declared fields before diffing, so an undeclared field
      // set by hand never shows in `pulumi preview --refresh` (docs/operations.md#drift).
      suspend: false,
    },
  };
}

/**
 * The tenant's Kustomization: applies `path` as the tenant account and prunes. With
 * `targetNamespace`, objects a deployment repository declares in another namespace (the lfs269
 * layout puts its Flux objects in `flux-system`) land in the tenant's namespace. What it applies
 * runs as the tenant account too: the FluxInstance's `tenantDefaultServiceAccount` covers every
 * depth, so no patch is needed.
 */
export function tenantKustomization(args: TenantSyncArgs) {
  const names = tenantNames(args.tenant);
  return {
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: metadata(names.kustomization, args.namespace, tenantLabels(args.tenant)),
    spec: {
      interval: TENANT_INTERVALS.apply,
      retryInterval: TENANT_INTERVALS.retry,
      timeout: TENANT_INTERVALS.timeout,
      sourceRef: { kind: "GitRepository", name: names.source },
      path: args.path,
      prune: true,
      // A guard, as on the GitRepository: a suspended Kustomization stops applying and pruning.
      suspend: false,
      serviceAccountName: names.serviceAccount,
      ...(args.targetNamespace !== undefined ? { targetNamespace: args.targetNamespace } : {}),
      ...(args.decrypt ? { decryption: sopsDecryption(args.tenant) } : {}),
    },
  };
}

/**
 * Isolation for one tenant namespace: pods accept traffic only from the tenant's own namespaces
 * (selected by the tenant label) and, when set, from an ingress controller's namespace. Egress
 * is left open (DNS, registries, APIs).
 */
export function tenantNetworkPolicy(tenant: string, namespace: string, ingressNamespace?: string) {
  return {
    apiVersion: "networking.k8s.io/v1" as const,
    kind: "NetworkPolicy" as const,
    metadata: metadata(tenantNames(tenant).networkPolicy, namespace, tenantLabels(tenant)),
    spec: {
      podSelector: {},
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [
            { namespaceSelector: { matchLabels: tenantLabels(tenant) } },
            ...(ingressNamespace
              ? [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ingressNamespace } } }]
              : []),
          ],
        },
      ],
    },
  };
}

export interface QuotaLimits {
  readonly cpu?: string;
  readonly memory?: string;
  readonly pods?: string;
}

/** Hard limits for one tenant namespace: cpu and memory bound both requests and limits. */
export function tenantResourceQuota(tenant: string, namespace: string, quota: QuotaLimits) {
  const hard: Record<string, string> = {};
  if (quota.cpu !== undefined) Object.assign(hard, { "requests.cpu": quota.cpu, "limits.cpu": quota.cpu });
  if (quota.memory !== undefined) Object.assign(hard, { "requests.memory": quota.memory, "limits.memory": quota.memory });
  if (quota.pods !== undefined) hard.pods = quota.pods;
  return {
    apiVersion: "v1" as const,
    kind: "ResourceQuota" as const,
    metadata: metadata(tenantNames(tenant).quota, namespace, tenantLabels(tenant)),
    spec: { hard },
  };
}

/** Container defaults, so pods that set no resources still fit under a cpu/memory quota. */
export function tenantLimitRange(tenant: string, namespace: string) {
  return {
    apiVersion: "v1" as const,
    kind: "LimitRange" as const,
    metadata: metadata(tenantNames(tenant).limitRange, namespace, tenantLabels(tenant)),
    spec: {
      limits: [
        {
          type: "Container",
          defaultRequest: { ...TENANT_CONTAINER_DEFAULTS.defaultRequest },
          default: { ...TENANT_CONTAINER_DEFAULTS.default },
        },
      ],
    },
  };
}

/** `<path>/kustomization.yaml`: where the tenant's own Flux objects for one environment go. */
export function tenantEnvironmentFile(path: string): RepoFile {
  return yamlFile(`${cleanPath(path)}/kustomization.yaml`, {
    apiVersion: "kustomize.config.k8s.io/v1beta1",
    kind: "Kustomization",
    resources: [],
  });
}

/** Branch of the tenant template repository: what a generated repository starts on. */
export const TENANT_TEMPLATE_BRANCH = "main";

/**
 * The seed's layout, committed once to the tenant template repository the fleet owns; every
 * tenant repository the fleet creates is generated from it (one request copies it all). The
 * platform team evolves its golden path by editing the template on GitHub, with no code change.
 * It holds `flux/<environment>/kustomization.yaml` for each of `environments`, so a generated
 * repository needs no further commit from the stacks of those environments.
 */
export function tenantTemplateLayout(environments: readonly string[]): RepoFile[] {
  return [
    {
      path: "README.md",
      content: `# Deployment repository

The code that deploys one project (a tenant of the Flux fleet) to Kubernetes. Flux on each
cluster reads it with a read-only deploy key and applies \`flux/<env>\` as the tenant's own
account, in the tenant's namespaces only.

| Path | What goes there |
|---|---|
| \`flux/<env>/\` | Flux sync and deployment objects for one environment: GitRepository, HelmRepository, Kustomization, HelmRelease. List them in its \`kustomization.yaml\`. |
| \`kustomize/\` | Plain YAML manifests, or a base with environment overlays (\`kustomize/overlays/<env>\`). |
| \`helm/\` | Source of the Helm charts this project deploys. |

Every Kustomization and HelmRelease under \`flux/<env>\`, at any depth, runs as the
tenant account \`flux\` of its own namespace (no \`serviceAccountName\` needed), which can only
reach the tenant's namespaces; sources must live in those namespaces too (no cross-namespace
references). A single-namespace tenant's objects land in its namespace whatever namespace they
declare, so manifests written for \`flux-system\` work unchanged. The Flux Operator's
ResourceSets are not open to tenants (their \`dependsOn\` is read with the operator's own rights);
ask the platform team if you need one.

The application's source code lives in its own repository; this one only says how it is deployed.
`,
    },
    {
      path: "flux/README.md",
      content: "# flux\n\nOne folder per environment (`flux/<env>/`), each with a `kustomization.yaml` listing the Flux objects for that environment.\n",
    },
    {
      path: "kustomize/README.md",
      content: "# kustomize\n\nPlain YAML manifests, or a `base/` with environment overlays in `overlays/<env>/`.\n",
    },
    {
      path: "helm/README.md",
      content: "# helm\n\nSource of this project's Helm charts, one folder per chart.\n",
    },
    ...environments.map((environment) => tenantEnvironmentFile(DEFAULTS.tenantPath(environment))),
  ];
}

