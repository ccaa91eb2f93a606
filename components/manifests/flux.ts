/**
 * Flux: the Flux Operator's Helm values, the FluxInstance, and the fleet repository's scaffold.
 */
import type * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import type { FluxConfig, GitHubAppConfig } from "../config/types";
import { FLUX_NAMESPACE, FluxComponent, TENANT_SERVICE_ACCOUNT } from "../constants";
import { RepoFile, cleanPath, metadata, yamlFile } from "./common";

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

/**
 * The default account of flux-system under the lockdown. kustomize-controller and helm-controller
 * run with `--default-service-account=flux` (Flux Operator v0.58.1 internal/builder/profiles.go),
 * and the impersonator takes that account in the object's own namespace (fluxcd/pkg
 * runtime/client/impersonator.go): a HelmRelease or Kustomization an SRE puts under
 * `infrastructure/<environment>` without `serviceAccountName` runs as `flux-system:flux`. That
 * account has cluster-admin, as the sync Kustomization's `kustomize-controller` has: flux-system
 * is written only by SREs (tenants have no rights there), and cluster-wide infrastructure is theirs.
 */
export function fluxSystemAccount() {
  return {
    serviceAccount: {
      apiVersion: "v1" as const,
      kind: "ServiceAccount" as const,
      metadata: { name: TENANT_SERVICE_ACCOUNT, namespace: FLUX_NAMESPACE },
      automountServiceAccountToken: false,
    },
    binding: {
      apiVersion: "rbac.authorization.k8s.io/v1" as const,
      kind: "ClusterRoleBinding" as const,
      metadata: { name: FLUX_SYSTEM_ACCOUNT_BINDING },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
      subjects: [{ kind: "ServiceAccount", name: TENANT_SERVICE_ACCOUNT, namespace: FLUX_NAMESPACE }],
    },
  };
}
export const FLUX_SYSTEM_ACCOUNT_BINDING = "flux-system-flux";

/** Name of the FluxInstance, its sync objects and the fleet pull secret, as `flux bootstrap` names them. */
export const FLUX_INSTANCE_NAME = "flux";
export const FLUX_SYNC_NAME = "flux-system";
/** The fleet pull secret on a cluster taken over from `flux bootstrap`, whose `flux-system` Secret is bootstrap's. */
export const FLUX_TAKEOVER_PULL_SECRET = "flux-fleet";

export interface FluxInstanceArgs {
  /** Flux distribution version (exact or range). */
  readonly version: string;
  /** Registry of the controller images. */
  readonly registry: string;
  /** The manifests artifact, pinned. */
  readonly artifact: string;
  readonly components: readonly FluxComponent[];
  readonly multitenant: boolean;
  readonly networkPolicy: boolean;
  /** `ssh://` URL of the fleet repository, or its `https://` URL with `provider: "github"`. */
  readonly url: string;
  readonly branch: string;
  /** Path in the fleet repository this cluster syncs (`clusters/<stack>`). */
  readonly path: string;
  /** Name of the pull secret in flux-system: SSH keys, or a GitHub App's (`githubAppSecret`). */
  readonly pullSecret: string;
  /** `github`: source-controller authenticates as the GitHub App in the pull secret. @default none: SSH */
  readonly provider?: "github";
  /** kustomize-controller's egress (`fleet:flux.kustomizeEgress`). */
  readonly kustomizeEgress: FluxConfig["kustomizeEgress"];
}

/** The cluster DNS domain the FluxInstance declares, and Flux's services are named in. */
export const CLUSTER_DOMAIN = "cluster.local";

/**
 * Flux's services kustomize-controller connects to: source-controller's and source-watcher's
 * artifact servers (the artifact URL of a GitRepository, OCIRepository, Bucket, ExternalArtifact)
 * and notification-controller's event receiver (`--events-addr`).
 */
export const FLUX_EGRESS_SERVICES = ["source-controller", "source-watcher", "notification-controller"] as const;

/**
 * kustomize-controller's proxy environment. Kustomize fetches a remote resource that a
 * kustomization.yaml lists as a plain HTTP(S) file with its own `http.Client{}` (sigs.k8s.io/kustomize/api
 * v0.21.1 internal/loader/fileloader.go:293-318, `Load` → `httpClientGetContent`), before and
 * whatever the filesystem: Flux's `--no-remote-bases=true` (fluxcd/pkg/kustomize v1.35.6
 * kustomize_generator.go:661-676, `securefs.MakeFsOnDiskSecure`) stops remote Git bases only. That
 * client honours HTTP(S)_PROXY and NO_PROXY (Go's `http.ProxyFromEnvironment`), so every connection
 * except to the API server (`$(KUBERNETES_SERVICE_HOST)`, which the kubelet expands from the
 * service environment) and Flux's own services in flux-system goes to `proxy`: by default a closed
 * port on the pod's own loopback, where the fetch fails without reaching any other address.
 */
export function kustomizeControllerEnv(egress: FluxConfig["kustomizeEgress"]): { name: string; value: string }[] {
  // The services kustomize-controller itself talks to, by exact name (with and without the
  // trailing dot Flux's URLs carry), never all of flux-system: the operator's web UI, or any
  // service SREs add there, must stay out of a tenant's reach.
  const services = FLUX_EGRESS_SERVICES.flatMap((s) => [`${s}.${FLUX_NAMESPACE}.svc.${CLUSTER_DOMAIN}.`, `${s}.${FLUX_NAMESPACE}.svc.${CLUSTER_DOMAIN}`]);
  const noProxy = ["$(KUBERNETES_SERVICE_HOST)", ...services, ...egress.direct].join(",");
  return [
    { name: "HTTPS_PROXY", value: egress.proxy },
    { name: "HTTP_PROXY", value: egress.proxy },
    { name: "NO_PROXY", value: noProxy },
  ];
}

/**
 * The FluxInstance's patches of kustomize-controller (the operator appends `spec.kustomize.patches`
 * after its own profile's, Flux Operator v0.58.1 internal/builder): its `manager` container gets
 * that environment, and `--no-remote-bases=true` whatever the operator's multi-tenancy profile
 * does (it sets the flag today, internal/builder/profiles.go; a repeated flag is harmless, the last
 * one wins).
 */
export function kustomizeControllerPatches(egress: FluxConfig["kustomizeEgress"]) {
  const target = { kind: "Deployment", name: "kustomize-controller" };
  return [
    {
      target,
      patch: stringify({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "kustomize-controller" },
        spec: { template: { spec: { containers: [{ name: "manager", env: kustomizeControllerEnv(egress) }] } } },
      }),
    },
    { target, patch: stringify([{ op: "add", path: "/spec/template/spec/containers/0/args/-", value: "--no-remote-bases=true" }]) },
  ];
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
        registry: args.registry,
        // Pinned (fleet:flux.artifact): an untagged artifact floats to the newest operator
        // release's manifests, and the controllers with it (fluxcd/flux2#5965).
        artifact: args.artifact,
      },
      components: [...args.components],
      cluster: {
        type: "kubernetes",
        multitenant: args.multitenant,
        // Every Kustomization and HelmRelease in a tenant namespace that names no account runs as
        // the tenant account of its own namespace, at any nesting depth (never `default`).
        ...(args.multitenant ? { tenantDefaultServiceAccount: TENANT_SERVICE_ACCOUNT } : {}),
        // The same lockdown for cloud identity (Flux Operator v0.58.1 internal/builder/profiles.go and
        // workload_identity.go): source-controller (cloud sources), kustomize-controller (SOPS KMS
        // decryption, remote kubeConfig) and helm-controller take the tenant account of the object's
        // namespace as their default identity, instead of the controller pod's own.
        ...(args.multitenant
          ? {
              objectLevelWorkloadIdentity: true,
              multitenantWorkloadIdentity: true,
              tenantDefaultDecryptionServiceAccount: TENANT_SERVICE_ACCOUNT,
              tenantDefaultKubeConfigServiceAccount: TENANT_SERVICE_ACCOUNT,
            }
          : {}),
        networkPolicy: args.networkPolicy,
        domain: CLUSTER_DOMAIN,
      },
      sync: {
        kind: "GitRepository",
        url: args.url,
        ref: `refs/heads/${args.branch}`,
        path: args.path,
        pullSecret: args.pullSecret,
        ...(args.provider ? { provider: args.provider } : {}),
      },
      kustomize: { patches: kustomizeControllerPatches(args.kustomizeEgress) },
    },
  };
}

/**
 * The keys of a Flux GitHub App secret (fluxcd/pkg auth v0.54.3, githubapp/client.go:40-44, which
 * source-controller v1.9.5 reads for `provider: github`, internal/controller/gitrepository_controller.go:746-794).
 */
export const GITHUB_APP_SECRET_KEYS = {
  appId: "githubAppID",
  installationId: "githubAppInstallationID",
  privateKey: "githubAppPrivateKey",
  baseUrl: "githubAppBaseURL",
} as const;

/**
 * The fleet pull secret when the sync authenticates as a GitHub App, as `flux create secret
 * githubapp` makes it. source-controller mints an installation token with the key for each
 * fetch (cached until shortly before it expires) and clones over HTTPS as `x-access-token`.
 */
export function githubAppSecret(args: { readonly name: string; readonly namespace: string; readonly app: GitHubAppConfig; readonly privateKey: pulumi.Input<string> }) {
  return {
    apiVersion: "v1" as const,
    kind: "Secret" as const,
    metadata: metadata(args.name, args.namespace),
    type: "Opaque",
    stringData: {
      [GITHUB_APP_SECRET_KEYS.appId]: String(args.app.appId),
      [GITHUB_APP_SECRET_KEYS.installationId]: String(args.app.installationId),
      [GITHUB_APP_SECRET_KEYS.privateKey]: args.privateKey,
      ...(args.app.apiUrl ? { [GITHUB_APP_SECRET_KEYS.baseUrl]: args.app.apiUrl } : {}),
    },
  };
}

/**
 * The fleet repository's HTTPS clone URL for a GitHub App sync: github.com's, or that of the
 * GitHub Enterprise host whose API is `apiUrl`. As fluxcd/pkg auth v0.54.3 reads `apiUrl`
 * (githubapp/client.go, githubEnterpriseBaseURL): a path ending in `/api/v3` is a GitHub
 * Enterprise Server's API on its own host, whatever the host is called; an `api.` host with no such
 * path is GitHub Enterprise Cloud with data residency (`api.<sub>.ghe.com`), which clones from `<sub>.ghe.com`.
 */
export function githubAppUrl(owner: string, repository: string, apiUrl?: string): string {
  if (!apiUrl) return `https://github.com/${owner}/${repository}.git`;
  const u = new URL(apiUrl);
  const path = u.pathname.replace(/\/+$/, "");
  const server = path.endsWith("/api/v3");
  const host = !server && u.host.startsWith("api.") ? u.host.slice("api.".length) : u.host;
  return `${u.protocol}//${host}${server ? path.slice(0, -"/api/v3".length) : path}/${owner}/${repository}.git`;
}

/** The host (no port) the fleet sync's clone URL reaches with `apiUrl`, to compare with `sshHost`. */
export function githubAppGitHost(apiUrl?: string): string {
  return new URL(githubAppUrl("o", "r", apiUrl)).hostname;
}

/**
 * The scaffold that makes `clusters/<stack>` reconcile on the first sync: a kustomization.yaml
 * listing an `infrastructure` Flux Kustomization, which applies `infrastructure/<environment>` (where
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
Flux on each cluster syncs its own \`clusters/<stack>\` path from this repository with a read-only
deploy key (one per cluster, titled \`flux-<stack>\`). The files here were scaffolded once by the
fleet Pulumi program; they are yours to edit, and the program never reverts them.

| Path | What goes there |
|---|---|
| \`clusters/<stack>/kustomization.yaml\` | What Flux applies on cluster \`<stack>\`: add entries here |
| \`clusters/<stack>/infrastructure.yaml\` | The \`infrastructure\` Flux Kustomization, applying \`infrastructure/<environment>\` |
| \`infrastructure/<environment>/\` | Cluster-wide components of every cluster of one environment (ingress controllers, cert-manager, policies) |

Tenants are not registered here: each tenant is listed in the fleet program's stack config
(\`Pulumi.<stack>.yaml\`, key \`fleet:tenants\`), which creates its namespaces, RBAC, deploy key
and the Flux objects that sync the tenant's own deployment repository.
`,
  };
}
