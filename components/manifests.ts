/**
 * Pure builders: what each Kubernetes object and repository file looks like. No Pulumi resources
 * here; components wire these into resources. Values that come from other resources (keys) are
 * passed in as `pulumi.Input`s and placed as they are. Files are typed objects serialised by the
 * `yaml` library, so output is byte-stable across runs.
 */
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { FLUX_NAMESPACE, FluxComponent, SSH_SECRET_KEYS } from "./constants";

/** GitHub's published SSH host keys (https://api.github.com/meta, "ssh_keys"), in known_hosts form. */
export const GITHUB_KNOWN_HOSTS = [
  "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
  "github.com ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg=",
  "github.com ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQCj7ndNxQowgcQnjshcLrqPEiiphnt+VTTvDP6mHBL9j1aNUkY4Ue1gvwnGLVlOhGeYrnZaMgRK6+PKCUXaDbC7qtbW8gIkhL7aGCsOr/C56SJMy/BCZfxd1nWzAOxSDPgVsmerOBYfNqltV9/hWCqBywINIR+5dIg6JTJ72pcEpEjcYgXkE2YEFXV1JHnsKgbLWNlhScqb2UmyRkQyytRLtL+38TGxkxCflmO+5Z8CSSNY7GidjMIZ7Q4zMjA2n1nGrlTDkzwDCsw+wqFPGQA179cnfGWOWRVruj16z6XyvxvjJwbz0wQZ75XK5tKSb7FNyeIEs4TT4jk+S4dhPeAUC5y+bDYirYgM4GC7uEnztnZyaVWQ7B381AK4Qdrwt51ZqExKbQpTUNn+EjqoTwvqNj4kqx5QUCI0ThS/YkOxJCXmPUWZbhjpCg56i+2aB6CmK2JGhn57K5mj0MNdBXA4/WnwH6XoPWJzK5Nyu2zB3nAZp+S5hpQs+p1vN1/wsjk=",
].join("\n") + "\n";

/** The Flux Operator Helm chart (OCI). */
export const FLUX_OPERATOR_CHART = "oci://ghcr.io/controlplaneio-fluxcd/charts/flux-operator";
/** Name of the FluxInstance, its sync objects and the fleet pull secret, as `flux bootstrap` names them. */
export const FLUX_INSTANCE_NAME = "flux";
export const FLUX_SYNC_NAME = "flux-system";
/** ServiceAccount Kustomizations without `serviceAccountName` run as under the multi-tenancy lockdown. */
export const TENANT_DEFAULT_SERVICE_ACCOUNT = "default";

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
      annotations: { "pulumi.com/waitFor": "condition=Ready" },
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
        ...(args.multitenant ? { tenantDefaultServiceAccount: TENANT_DEFAULT_SERVICE_ACCOUNT } : {}),
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
