/**
 * Raw config sections (as the schema parses them) to the resolved configuration (types.ts): every
 * default filled in from DEFAULTS.
 */
import type { z } from "zod";
import { DEFAULTS } from "./defaults";
import type { ClusterSchema, FluxSchema, RepositorySchema, TenantSchema } from "./schema";
import type { ClusterConfig, FluxConfig, RepositoryConfig, TenantConfig } from "./types";

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
    ...(t.secrets !== undefined
      ? { secrets: { provider: "sops" as const, generations: [...(t.secrets === "sops" ? DEFAULTS.secretsGenerations : (t.secrets.generations ?? DEFAULTS.secretsGenerations))] } }
      : {}),
  };
}
