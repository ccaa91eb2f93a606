/**
 * The resolved stack configuration: what components receive, every field set. Produced by
 * `parseFleetConfig` from the raw schema (`schema.ts`) and the defaults (`defaults.ts`).
 */
import { FluxComponent } from "../constants";

export type Visibility = "private" | "internal" | "public";
export const KEY_ALGORITHMS = ["ed25519", "ecdsa-p256", "ecdsa-p384"] as const;
/** Deploy key algorithms; the tls provider's ECDSA default (P-224) is deliberately not offered. */
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

export interface KindClusterConfig {
  readonly type: "kind";
  /** kind cluster name. @default `fleet-<stack>` */
  readonly name: string;
  /** kind node image, e.g. `kindest/node:v1.35.0`. @default kind's own default image */
  readonly nodeImage?: string;
  /** Worker nodes besides the single control-plane node. @default 0 */
  readonly workers: number;
}

export interface KubeconfigClusterConfig {
  readonly type: "kubeconfig";
  /** Context to use from the kubeconfig in the secret `fleet:kubeconfig`. @default its current-context */
  readonly context?: string;
}

export type ClusterConfig = KindClusterConfig | KubeconfigClusterConfig;

export interface FluxConfig {
  /** Flux distribution version, exact or a range such as `2.9.x`. */
  readonly version: string;
  /** flux-operator Helm chart version, exact. */
  readonly operatorVersion: string;
  readonly components: readonly FluxComponent[];
  readonly multitenant: boolean;
  readonly networkPolicy: boolean;
  /** The tenant admission policy pack (components/manifests/policy.ts). @default true */
  readonly admissionPolicies: boolean;
  /** Turn on the Flux Operator's status web UI (no authentication). @default false */
  readonly web: boolean;
  /** Registry (and path) of the controller images. @default ghcr.io/fluxcd */
  readonly registry: string;
  /** The manifests artifact, pinned by tag or digest. @default the operator's, tagged v<operatorVersion> */
  readonly artifact: string;
  /** The flux-operator chart: an oci:// URL or a local path. */
  readonly chart: string;
  /** The Flux Operator: `install: false` when the cluster already runs it. @default install true */
  readonly operator: { readonly install: boolean };
  /**
   * kustomize-controller's egress: every HTTP(S) connection it makes goes through `proxy`, except to
   * the cluster's API server, Flux's own services and `direct` (NO_PROXY entries). @default proxy
   * a closed address, direct []
   */
  readonly kustomizeEgress: { readonly proxy: string; readonly direct: readonly string[] };
  /** The cluster was set up by `flux bootstrap github` with this path and branch (@default main): take it over. @default none */
  readonly takeOverBootstrap?: { readonly path: string; readonly branch: string };
}

export interface RepositoryConfig {
  readonly name: string;
  /** true: this stack creates and owns the repository; false: it must already exist. */
  readonly create: boolean;
  readonly visibility: Visibility;
  readonly branch: string;
  /** Path in the fleet repository this cluster syncs. @default `clusters/<stack>` */
  readonly path: string;
  /** Algorithm of every deploy key this stack makes (fleet and tenants). @default ed25519 */
  readonly keyAlgorithm: KeyAlgorithm;
  /** known_hosts for the Git host; set for GitHub Enterprise. @default GitHub's published host keys */
  readonly knownHosts?: string;
  /** Git host (and port) of Flux sync URLs. @default github.com */
  readonly sshHost: string;
  /** Writable fleet deploy key (image automation pushes to the fleet repository). @default false */
  readonly readWrite: boolean;
  /** GitHub team (slug) given `maintain` on the fleet repository by the owning stack. @default none */
  readonly team?: string;
  /** Generation of every deploy key of this stack: bump it to rotate them all. @default 1 */
  readonly keyGeneration: number;
  /**
   * Template repository every created tenant repository is generated from; created with the
   * seed's layout by the stack that creates the fleet repository. @default `<name>-tenant-template`
   */
  readonly tenantTemplate: string;
  /**
   * Environments whose `flux/<environment>/kustomization.yaml` the tenant template holds: this
   * stack's own and those of `templateEnvironments`, in that order, once each.
   */
  readonly templateEnvironments: readonly string[];
  /** GitHub's content-generating requests per hour, for the preview's warning. @default 500 */
  readonly contentWritesPerHour: number;
  /** The fleet sync authenticates as this GitHub App instead of with a deploy key. @default none */
  readonly githubApp?: GitHubAppConfig;
}

/** A GitHub App the fleet sync authenticates as; its private key is the secret `fleet:githubAppPrivateKey`. */
export interface GitHubAppConfig {
  readonly appId: number;
  readonly installationId: number;
  /** GitHub Enterprise Server's REST API. @default none: github.com */
  readonly apiUrl?: string;
}

export interface TenantQuota {
  readonly cpu?: string;
  readonly memory?: string;
  readonly pods?: string;
}

/** Service types a tenant's config may allow besides ClusterIP (`serviceTypes`). */
export const SERVICE_TYPES = ["NodePort", "LoadBalancer", "ExternalName"] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

export const POD_SECURITY_LEVELS = ["baseline", "restricted", "privileged"] as const;
/** Pod Security Standards levels (https://kubernetes.io/docs/concepts/security/pod-security-standards/). */
export type PodSecurityLevel = (typeof POD_SECURITY_LEVELS)[number];

export interface TenantRepositoryConfig {
  readonly name: string;
  /** true: this stack creates the repository; false: it must exist. */
  readonly create: boolean;
  /** Writable deploy key on this repository only (image automation). @default false */
  readonly readWrite: boolean;
}

/** A tenant's SOPS decryption (`secrets`). */
export interface TenantSecretsConfig {
  readonly provider: "sops";
  /** Key generations the tenant's clusters trust, oldest first; files are encrypted to the last. @default [1] */
  readonly generations: readonly number[];
}

export interface TenantConfig {
  readonly name: string;
  /** The tenant's former name, after a rename (`renamedFrom`): its Pulumi resources are aliased from it. */
  readonly renamedFrom?: string;
  /**
   * What the tenant's objects are named after, on GitHub and in the cluster: `renamedFrom` when
   * set (a rename moves the tenant in Pulumi's state and leaves every live object as it is), else `name`.
   */
  readonly identity: string;
  /** Source URLs the tenant may use besides its own repository (admission policy pack). @default [] */
  readonly sources: readonly string[];
  /** Bucket sources allowed. @default false */
  readonly buckets: boolean;
  /** Service types allowed besides ClusterIP (admission policy pack). @default [] */
  readonly serviceTypes: readonly ServiceType[];
  /** The tenant's namespaces; its Flux objects live in the first. @default `[name]` */
  readonly namespaces: readonly string[];
  /**
   * Namespace the tenant's Kustomization puts every namespaced object in (Flux's
   * `spec.targetNamespace`); one of `namespaces`. @default the namespace of a single-namespace tenant
   */
  readonly targetNamespace?: string;
  readonly repository: TenantRepositoryConfig;
  /** GitHub team (slug) given `push` on the tenant's repository by the stack that creates it. @default none */
  readonly team?: string;
  readonly branch: string;
  /** Path in the tenant repository that Flux applies. @default `./flux/<environment>` */
  readonly path: string;
  /** ClusterRole bound in each tenant namespace. @default `admin` */
  readonly clusterRole: string;
  readonly quota?: TenantQuota;
  /** Namespace whose pods (an ingress controller) may reach the tenant's pods. @default none */
  readonly ingressNamespace?: string;
  /** Commit scaffold files to the tenant repository. @default true */
  readonly scaffold: boolean;
  /** Pod Security level enforced in every tenant namespace. @default baseline */
  readonly podSecurity: PodSecurityLevel;
  /** true: the tenant may be removed; false: the engine refuses to delete its data. @default false */
  readonly offboard: boolean;
  /** SOPS decryption with the tenant's own age keys. @default none */
  readonly secrets?: TenantSecretsConfig;
}

export interface FleetConfig {
  /** The stack name: one cluster (`staging`, `production-eu`, …). */
  readonly stack: string;
  /**
   * The environment the stack's cluster belongs to (`fleet:environment`, default the stack name).
   * Clusters of one environment share `./flux/<environment>` and `infrastructure/<environment>`.
   */
  readonly environment: string;
  /** GitHub organisation or user that holds the repositories (`github:owner`). */
  readonly owner: string;
  readonly cluster: ClusterConfig;
  readonly flux: FluxConfig;
  readonly repository: RepositoryConfig;
  readonly tenants: readonly TenantConfig[];
}

