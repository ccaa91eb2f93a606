/**
 * Pure builders: what each Kubernetes object and repository file looks like. No Pulumi resources
 * here; components wire these into resources. Values that come from other resources (keys) are
 * passed in as `pulumi.Input`s and placed as they are. Files are typed objects serialised by the
 * `yaml` library, so output is byte-stable across runs.
 */
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { PodSecurityLevel } from "./config";
import {
  FLUX_NAMESPACE,
  FluxComponent,
  POD_SECURITY_LABELS,
  SSH_SECRET_KEYS,
  TENANT_LABEL,
  TENANT_SERVICE_ACCOUNT,
} from "./constants";

/** GitHub's published SSH host keys (https://api.github.com/meta, "ssh_keys"), in known_hosts form. */
export const GITHUB_KNOWN_HOSTS = [
  "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
  "github.com ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg=",
  "github.com ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQCj7ndNxQowgcQnjshcLrqPEiiphnt+VTTvDP6mHBL9j1aNUkY4Ue1gvwnGLVlOhGeYrnZaMgRK6+PKCUXaDbC7qtbW8gIkhL7aGCsOr/C56SJMy/BCZfxd1nWzAOxSDPgVsmerOBYfNqltV9/hWCqBywINIR+5dIg6JTJ72pcEpEjcYgXkE2YEFXV1JHnsKgbLWNlhScqb2UmyRkQyytRLtL+38TGxkxCflmO+5Z8CSSNY7GidjMIZ7Q4zMjA2n1nGrlTDkzwDCsw+wqFPGQA179cnfGWOWRVruj16z6XyvxvjJwbz0wQZ75XK5tKSb7FNyeIEs4TT4jk+S4dhPeAUC5y+bDYirYgM4GC7uEnztnZyaVWQ7B381AK4Qdrwt51ZqExKbQpTUNn+EjqoTwvqNj4kqx5QUCI0ThS/YkOxJCXmPUWZbhjpCg56i+2aB6CmK2JGhn57K5mj0MNdBXA4/WnwH6XoPWJzK5Nyu2zB3nAZp+S5hpQs+p1vN1/wsjk=",
].join("\n") + "\n";

/** The Flux Operator Helm chart (OCI). */
export const FLUX_OPERATOR_CHART = "oci://ghcr.io/controlplaneio-fluxcd/charts/flux-operator";
/**
 * Helm values of the flux-operator chart, each default that widens rights or exposes data turned
 * off (chart `values.yaml` and `templates/`, controlplaneio-fluxcd/charts; operator
 * `cmd/operator/main.go` and `internal/controller/resourceset_controller.go`):
 * - `multitenancy`: the operator impersonates `<namespace>:flux` (the tenant account) for a
 *   ResourceSet or ResourceSetInputProvider that names no account, instead of applying it as its
 *   own cluster-admin account. Workload identity likewise falls back to that account, never to
 *   the operator pod's cloud identity.
 * - `rbac.createAggregation: false`: the chart would grant write on ResourceSets to the built-in
 *   `admin` and `edit` roles. A ResourceSet's `dependsOn` is read with the operator's own client in
 *   any namespace, so a tenant could probe other tenants' objects; tenants get no ResourceSet
 *   rights unless their `clusterRole` grants them.
 * - `web`: the status UI has no authentication, answers with the operator's cluster-admin client,
 *   and the chart's NetworkPolicy admits every namespace. Off unless `fleet:flux.web`; when on, the
 *   policy admitting every namespace is still not created (reach it with `kubectl port-forward`),
 *   and no ClusterRoles for it are made.
 */
export function fluxOperatorValues(args: { readonly web: boolean }) {
  return {
    multitenancy: {
      enabled: true,
      defaultServiceAccount: TENANT_SERVICE_ACCOUNT,
      enabledForWorkloadIdentity: true,
      defaultWorkloadIdentityServiceAccount: TENANT_SERVICE_ACCOUNT,
    },
    rbac: { create: true, createAggregation: false },
    web: {
      enabled: args.web,
      networkPolicy: { create: false },
      rbac: { createRoles: false, createAggregation: false },
      ingress: { enabled: false },
      httpRoute: { enabled: false },
    },
    hostNetwork: false,
    serviceMonitor: { create: false },
  };
}

/** Name of the FluxInstance, its sync objects and the fleet pull secret, as `flux bootstrap` names them. */
export const FLUX_INSTANCE_NAME = "flux";
export const FLUX_SYNC_NAME = "flux-system";

/**
 * Flux source URL for a GitHub repository over SSH. source-controller needs the `ssh://` form;
 * it rejects the scp form `git@github.com:owner/repo`.
 */
export function sshUrl(owner: string, repository: string, host = "github.com"): string {
  return `ssh://git@${host}/${owner}/${repository}.git`;
}

/** Kubernetes object metadata builder with a stable key order. */
function metadata(name: string, namespace?: string, labels?: Record<string, string>) {
  return { name, ...(namespace ? { namespace } : {}), ...(labels ? { labels } : {}) };
}

export function namespace(name: string, labels?: Record<string, string>) {
  return { apiVersion: "v1" as const, kind: "Namespace" as const, metadata: metadata(name, undefined, labels) };
}

export interface SshSecretArgs {
  readonly name: string;
  readonly namespace: string;
  /** OpenSSH private key; pass a Pulumi secret. */
  readonly identity: pulumi.Input<string>;
  readonly identityPub: pulumi.Input<string>;
  /** known_hosts lines for the Git host. @default GitHub's published keys */
  readonly knownHosts?: string;
  readonly labels?: Record<string, string>;
}

/** A Flux SSH source secret (`identity`, `identity.pub`, `known_hosts`), as `flux create secret git` makes it. */
export function sshSecret(args: SshSecretArgs) {
  return {
    apiVersion: "v1" as const,
    kind: "Secret" as const,
    metadata: metadata(args.name, args.namespace, args.labels),
    type: "Opaque",
    stringData: {
      [SSH_SECRET_KEYS.identity]: args.identity,
      [SSH_SECRET_KEYS.identityPub]: args.identityPub,
      [SSH_SECRET_KEYS.knownHosts]: args.knownHosts ?? GITHUB_KNOWN_HOSTS,
    },
  };
}

export interface FluxInstanceArgs {
  /** Flux distribution version (exact or range). */
  readonly version: string;
  readonly components: readonly FluxComponent[];
  readonly multitenant: boolean;
  readonly networkPolicy: boolean;
  /** `ssh://` URL of the fleet repository. */
  readonly url: string;
  readonly branch: string;
  /** Path in the fleet repository this cluster syncs (`clusters/<env>`). */
  readonly path: string;
  /** Name of the SSH secret in flux-system. */
  readonly pullSecret: string;
}

/** How long `pulumi up` waits for the FluxInstance to be Ready. */
export const FLUX_INSTANCE_TIMEOUT_SECONDS = 1800;

/**
 * The one FluxInstance (`fluxcd.controlplane.io/v1`): controllers, multi-tenancy lockdown,
 * network policies and the bootstrap sync. Pulumi waits for it to be Ready.
 */
export function fluxInstance(args: FluxInstanceArgs) {
  return {
    apiVersion: "fluxcd.controlplane.io/v1",
    kind: "FluxInstance",
    metadata: {
      name: FLUX_INSTANCE_NAME,
      namespace: FLUX_NAMESPACE,
      // Wait for Ready, for up to FLUX_INSTANCE_TIMEOUT_SECONDS: the provider's default of 10 minutes
      // (pulumi-kubernetes await code; the annotation applies when no customTimeouts is set) can
      // run out on a first install that pulls the controller images over a slow link.
      annotations: { "pulumi.com/waitFor": "condition=Ready", "pulumi.com/timeoutSeconds": String(FLUX_INSTANCE_TIMEOUT_SECONDS) },
    },
    spec: {
      distribution: {
        version: args.version,
        registry: "ghcr.io/fluxcd",
        artifact: "oci://ghcr.io/controlplaneio-fluxcd/flux-operator-manifests",
      },
      components: [...args.components],
      cluster: {
        type: "kubernetes",
        multitenant: args.multitenant,
        // Every Kustomization and HelmRelease in a tenant namespace that names no account runs as
        // the tenant account of its own namespace, at any nesting depth (never `default`).
        ...(args.multitenant ? { tenantDefaultServiceAccount: TENANT_SERVICE_ACCOUNT } : {}),
        networkPolicy: args.networkPolicy,
        domain: "cluster.local",
      },
      sync: {
        kind: "GitRepository",
        url: args.url,
        ref: `refs/heads/${args.branch}`,
        path: args.path,
        pullSecret: args.pullSecret,
      },
    },
  };
}

/** A file to commit to a repository. */
export interface RepoFile {
  readonly path: string;
  readonly content: string;
}

function yamlFile(path: string, ...docs: object[]): RepoFile {
  return { path, content: docs.map((d) => stringify(d, { lineWidth: 0 })).join("---\n") };
}

/** Strips a leading `./` and trailing `/`: `./flux/staging/` → `flux/staging`. */
export function cleanPath(path: string): string {
  return path.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
}

/**
 * The scaffold that makes `clusters/<env>` reconcile on the first sync: a kustomization.yaml
 * listing an `infrastructure` Flux Kustomization, which applies `infrastructure/<env>` (where
 * SREs put cluster-wide components such as ingress controllers).
 */
export function fleetScaffold(env: string, clusterPath: string): RepoFile[] {
  const cluster = cleanPath(clusterPath);
  const infrastructure = `infrastructure/${env}`;
  return [
    yamlFile(`${cluster}/kustomization.yaml`, {
      apiVersion: "kustomize.config.k8s.io/v1beta1",
      kind: "Kustomization",
      resources: ["infrastructure.yaml"],
    }),
    yamlFile(`${cluster}/infrastructure.yaml`, {
      apiVersion: "kustomize.toolkit.fluxcd.io/v1",
      kind: "Kustomization",
      metadata: { name: "infrastructure", namespace: FLUX_NAMESPACE },
      spec: {
        interval: "10m",
        retryInterval: "1m",
        timeout: "5m",
        sourceRef: { kind: "GitRepository", name: FLUX_SYNC_NAME },
        path: `./${infrastructure}`,
        prune: true,
        wait: true,
        // Cluster-wide infrastructure is SRE-owned: it runs with the controller's own rights,
        // not the tenant default service account the multi-tenancy lockdown would impose.
        serviceAccountName: "kustomize-controller",
      },
    }),
    yamlFile(`${infrastructure}/kustomization.yaml`, {
      apiVersion: "kustomize.config.k8s.io/v1beta1",
      kind: "Kustomization",
      resources: [],
    }),
  ];
}

/** README of the fleet repository, written once by the owning stack. */
export function fleetReadme(repository: string): RepoFile {
  return {
    path: "README.md",
    content: `# ${repository}

The fleet repository: cluster configuration and cluster-wide infrastructure, owned by the SREs.
Flux on each cluster syncs its own \`clusters/<env>\` path from this repository with a read-only
deploy key (one per cluster, titled \`flux-<env>\`). The files here were scaffolded once by the
fleet Pulumi program; they are yours to edit, and the program never reverts them.

| Path | What goes there |
|---|---|
| \`clusters/<env>/kustomization.yaml\` | What Flux applies on cluster \`<env>\`: add entries here |
| \`clusters/<env>/infrastructure.yaml\` | The \`infrastructure\` Flux Kustomization, applying \`infrastructure/<env>\` |
| \`infrastructure/<env>/\` | Cluster-wide components (ingress controllers, cert-manager, policies, repository secrets) |

Tenants are not registered here: each tenant is listed in the fleet program's stack config
(\`Pulumi.<env>.yaml\`, key \`fleet:tenants\`), which creates its namespaces, RBAC, deploy key
and the Flux objects that sync the tenant's own deployment repository.
`,
  };
}

// ---------------------------------------------------------------------------------------------
// Tenants: the objects `flux create tenant` and the flux2-multi-tenancy example make, v1 APIs only.
// ---------------------------------------------------------------------------------------------

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
 * warning and auditing at `restricted`. A tenant bound to `admin` cannot edit these labels:
 * namespaces are cluster-scoped and `admin` grants no write on them.
 */
export function tenantNamespace(tenant: string, name: string, podSecurity: PodSecurityLevel) {
  return namespace(name, {
    ...tenantLabels(tenant),
    [POD_SECURITY_LABELS.enforce]: podSecurity,
    [POD_SECURITY_LABELS.warn]: "restricted",
    [POD_SECURITY_LABELS.audit]: "restricted",
  });
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
      serviceAccountName: names.serviceAccount,
      ...(args.targetNamespace !== undefined ? { targetNamespace: args.targetNamespace } : {}),
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
 */
export function tenantTemplateLayout(): RepoFile[] {
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

Every Kustomization, HelmRelease and ResourceSet under \`flux/<env>\`, at any depth, runs as the
tenant account \`flux\` of its own namespace (no \`serviceAccountName\` needed), which can only
reach the tenant's namespaces; sources must live in those namespaces too (no cross-namespace
references). A single-namespace tenant's objects land in its namespace whatever namespace they
declare, so manifests written for \`flux-system\` work unchanged.

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
  ];
}
