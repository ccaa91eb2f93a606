/**
 * Defaults: the only place a default lives, and the functions that fill them into a section of
 * raw config.
 */
import type { z } from "zod";
import type { ClusterSchema, FluxSchema, RepositorySchema, TenantSchema } from "./schema";
import type { ClusterConfig, FluxConfig, RepositoryConfig, TenantConfig } from "./types";
import { FluxComponent } from "../constants";

export const DEFAULTS = {
  clusterType: "kind" as const,
  workers: 0,
  fluxVersion: "2.9.x",
  operatorVersion: "0.58.1",
  components: [
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
  ] as FluxComponent[],
  multitenant: true,
  networkPolicy: true,
  admissionPolicies: true,
  tenantBuckets: false,
  tenantServiceTypes: [] as const,
  /**
   * kustomize-controller's default egress proxy: a closed port on the pod's own loopback, so a
   * remote resource a tenant's kustomization.yaml names is never fetched (docs/tenancy.md).
   */
  kustomizeEgressProxy: "http://127.0.0.1:9",
  /** The Flux Operator's status web UI: unauthenticated, so off unless asked for. */
  web: false,
  /** Where the controller images come from. */
  registry: "ghcr.io/fluxcd",
  /**
   * The operator's manifests artifact, tagged with the operator version: without a tag the
   * controllers would change under a pinned Flux version whenever a new operator ships.
   */
  artifact: (operatorVersion: string) => `oci://ghcr.io/controlplaneio-fluxcd/flux-operator-manifests:v${operatorVersion}`,
  chart: "oci://ghcr.io/controlplaneio-fluxcd/charts/flux-operator",
  /** Install the Flux Operator's Helm chart; false when the cluster already runs the operator. */
  operatorInstall: true,
  /** `flux bootstrap`'s `--branch` default, for a takeover (fluxcd/flux2 v2.9.5 cmd/flux/bootstrap.go:97). */
  bootstrapBranch: "main",
  /** Git host of sync URLs. */
  sshHost: "github.com",
  repositoryName: "flux-fleet",
  /** The template tenant repositories are generated from, beside the fleet repository. */
  tenantTemplate: (fleetRepository: string) => `${fleetRepository}-tenant-template`,
  /** Safe default: a stack only creates repositories when its config says it owns them. */
  repositoryCreate: false,
  visibility: "private" as const,
  branch: "main",
  keyAlgorithm: "ed25519" as const,
  clusterRole: "admin",
  /** Pod Security Admission level enforced in tenant namespaces (warn/audit stay at restricted). */
  podSecurity: "baseline" as const,
  /** Deploy keys are read-only unless a key's config asks for write access (image automation). */
  readWrite: false,
  /** Deploy key generation; bumping it rotates every deploy key of the stack. */
  keyGeneration: 1,
  /** GitHub's secondary limit on content-generating requests (REST API docs, "Rate limits for the REST API"). */
  contentWritesPerHour: 500,
  /** Tenants are protected from removal until they are marked for offboarding. */
  offboard: false,
  /** A single-namespace tenant's Kustomization targets that namespace; a multi-namespace one none. */
  targetNamespace: (namespaces: readonly string[]): string | undefined =>
    namespaces.length === 1 ? namespaces[0] : undefined,
  /** Write the tenant's `<path>/kustomization.yaml` (and, when created, the seed layout). */
  tenantScaffold: true,
  clusterName: (stack: string) => `fleet-${stack}`,
  fleetPath: (stack: string) => `clusters/${stack}`,
  /** The environment a stack's cluster belongs to: its stack name unless set. */
  environment: (stack: string) => stack,
  tenantPath: (environment: string) => `./flux/${environment}`,
  tenantRepository: (tenant: string) => `${tenant}-deploy`,
};

export type RawCluster = z.infer<typeof ClusterSchema>;
export type RawFlux = z.infer<typeof FluxSchema>;
export type RawRepository = z.infer<typeof RepositorySchema>;
export type RawTenant = z.infer<typeof TenantSchema>;

export function clusterWithDefaults(c: RawCluster, stack: string): ClusterConfig {
  return (c.type ?? DEFAULTS.clusterType) === "kind"
    ? {
        type: "kind",
        name: c.name ?? DEFAULTS.clusterName(stack),
        ...(c.nodeImage !== undefined ? { nodeImage: c.nodeImage } : {}),
        workers: c.workers ?? DEFAULTS.workers,
      }
    : { type: "kubeconfig", ...(c.context !== undefined ? { context: c.context } : {}) };
}

export function fluxWithDefaults(f: RawFlux): FluxConfig {
  return {
    version: f.version ?? DEFAULTS.fluxVersion,
    operatorVersion: f.operatorVersion ?? DEFAULTS.operatorVersion,
    components: f.components ?? DEFAULTS.components,
    multitenant: f.multitenant ?? DEFAULTS.multitenant,
    networkPolicy: f.networkPolicy ?? DEFAULTS.networkPolicy,
    admissionPolicies: f.admissionPolicies ?? DEFAULTS.admissionPolicies,
    web: f.web ?? DEFAULTS.web,
    kustomizeEgress: { proxy: f.kustomizeEgress?.proxy ?? DEFAULTS.kustomizeEgressProxy, direct: [...(f.kustomizeEgress?.direct ?? [])] },
    registry: f.registry ?? DEFAULTS.registry,
    artifact: f.artifact ?? DEFAULTS.artifact(f.operatorVersion ?? DEFAULTS.operatorVersion),
    chart: f.chart ?? DEFAULTS.chart,
    operator: { install: f.operator?.install ?? DEFAULTS.operatorInstall },
    ...(f.takeOverBootstrap !== undefined ? { takeOverBootstrap: { path: f.takeOverBootstrap.path, branch: f.takeOverBootstrap.branch ?? DEFAULTS.bootstrapBranch } } : {}),
  };
}

export function repositoryWithDefaults(r: RawRepository, stack: string, environment: string): RepositoryConfig {
  return {
    name: r.name ?? DEFAULTS.repositoryName,
    create: r.create ?? DEFAULTS.repositoryCreate,
    visibility: r.visibility ?? DEFAULTS.visibility,
    branch: r.branch ?? DEFAULTS.branch,
    path: r.path ?? DEFAULTS.fleetPath(stack),
    keyAlgorithm: r.keyAlgorithm ?? DEFAULTS.keyAlgorithm,
    sshHost: r.sshHost ?? DEFAULTS.sshHost,
    readWrite: r.readWrite ?? DEFAULTS.readWrite,
    ...(r.team !== undefined ? { team: r.team } : {}),
    keyGeneration: r.keyGeneration ?? DEFAULTS.keyGeneration,
    tenantTemplate: r.tenantTemplate ?? DEFAULTS.tenantTemplate(r.name ?? DEFAULTS.repositoryName),
    templateEnvironments: [...new Set([environment, ...(r.templateEnvironments ?? [])])],
    contentWritesPerHour: r.contentWritesPerHour ?? DEFAULTS.contentWritesPerHour,
    ...(r.githubApp !== undefined ? { githubApp: r.githubApp } : {}),
    ...(r.knownHosts !== undefined ? { knownHosts: r.knownHosts.endsWith("\n") ? r.knownHosts : `${r.knownHosts}\n` } : {}),
  };
}

export function tenantWithDefaults(t: RawTenant, environment: string, createRepositories: boolean): TenantConfig {
  const identity = t.renamedFrom ?? t.name;
  const namespaces = t.namespaces ?? [identity];
  const targetNamespace = t.targetNamespace ?? DEFAULTS.targetNamespace(namespaces);
  return {
    name: t.name,
    ...(t.renamedFrom !== undefined ? { renamedFrom: t.renamedFrom } : {}),
    identity,
    namespaces,
    ...(targetNamespace !== undefined ? { targetNamespace } : {}),
    repository: {
      name: t.repository?.name ?? DEFAULTS.tenantRepository(identity),
      create: t.repository?.create ?? createRepositories,
      readWrite: t.repository?.readWrite ?? DEFAULTS.readWrite,
    },
    ...(t.team !== undefined ? { team: t.team } : {}),
    branch: t.branch ?? DEFAULTS.branch,
    path: t.path ?? DEFAULTS.tenantPath(environment),
    clusterRole: t.clusterRole ?? DEFAULTS.clusterRole,
    ...(t.quota !== undefined ? { quota: t.quota } : {}),
    ...(t.ingressNamespace !== undefined ? { ingressNamespace: t.ingressNamespace } : {}),
    scaffold: t.scaffold ?? DEFAULTS.tenantScaffold,
    podSecurity: t.podSecurity ?? DEFAULTS.podSecurity,
    offboard: t.offboard ?? DEFAULTS.offboard,
    sources: [...(t.sources ?? [])],
    buckets: t.buckets ?? DEFAULTS.tenantBuckets,
    serviceTypes: [...(t.serviceTypes ?? DEFAULTS.tenantServiceTypes)],
  };
}

