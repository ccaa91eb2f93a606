/**
 * One tenant: its deployment repository and read-only deploy key for this cluster, and in the
 * cluster its namespaces, ServiceAccount, RoleBindings, deploy-key Secret, GitRepository,
 * Kustomization, NetworkPolicies and optional quota. What each object looks like comes from
 * `manifests.ts`; this file only wires them, with the ordering that lets Flux finish its
 * finalizers on removal.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { KeyAlgorithm, TenantConfig, Visibility } from "./config";
import {
  namespace,
  sshSecret,
  sshUrl,
  tenantEnvironmentFile,
  tenantGitRepository,
  tenantKustomization,
  tenantLabels,
  tenantLimitRange,
  tenantNames,
  tenantNetworkPolicy,
  tenantRepositoryLayout,
  tenantResourceQuota,
  tenantRoleBinding,
  tenantServiceAccount,
} from "./manifests";
import { Repository } from "./repository";

export interface TenantArgs {
  /** The validated tenant entry of `fleet:tenants`. */
  readonly tenant: TenantConfig;
  /** GitHub organisation or user (`github:owner`). */
  readonly owner: string;
  /** Environment (stack name): titles the deploy key. */
  readonly environment: string;
  /** The cluster's Kubernetes provider. */
  readonly provider: k8s.Provider;
  /** The FluxInstance: every Flux object waits for it, and is deleted before it. */
  readonly fluxInstance: pulumi.Resource;
  /** Visibility of a repository this stack creates. */
  readonly visibility: Visibility;
  readonly keyAlgorithm: KeyAlgorithm;
  /** known_hosts override (GitHub Enterprise). @default GitHub's published keys */
  readonly knownHosts?: string;
}

export class Tenant extends pulumi.ComponentResource {
  /** The tenant's name, from config. */
  readonly tenantName: string;
  readonly namespaces: readonly string[];
  readonly repository: Repository;
  readonly gitRepository: k8s.apiextensions.CustomResource;
  readonly kustomization: k8s.apiextensions.CustomResource;

  constructor(name: string, args: TenantArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fleet:tenant:Tenant", name, {}, opts);
    const t = args.tenant;
    const home = t.namespaces[0];
    const labels = tenantLabels(t.name);
    const k8sOpts = { parent: this, provider: args.provider };
    this.tenantName = t.name;
    this.namespaces = t.namespaces;

    this.repository = new Repository(
      `${name}-repository`,
      {
        owner: args.owner,
        name: t.repository.name,
        create: t.repository.create,
        visibility: args.visibility,
        branch: t.branch,
        description: `Deployment repository of tenant ${t.name}: flux/, kustomize/, helm/`,
        environment: args.environment,
        keyAlgorithm: args.keyAlgorithm,
        files: t.scaffold
          ? [...(t.repository.create ? tenantRepositoryLayout(t.name, t.repository.name) : []), tenantEnvironmentFile(t.path)]
          : [],
      },
      { parent: this },
    );

    const namespaces = t.namespaces.map((ns) => new k8s.core.v1.Namespace(`${name}-ns-${ns}`, namespace(ns, labels), k8sOpts));
    const serviceAccount = new k8s.core.v1.ServiceAccount(`${name}-sa`, tenantServiceAccount(t.name, home), {
      ...k8sOpts,
      dependsOn: [namespaces[0]],
    });
    const rbac = t.namespaces.map(
      (ns, i) =>
        new k8s.rbac.v1.RoleBinding(`${name}-rb-${ns}`, tenantRoleBinding(t.name, ns, home, t.clusterRole), {
          ...k8sOpts,
          dependsOn: [namespaces[i], serviceAccount],
        }),
    );
    const isolation = t.namespaces.map(
      (ns, i) =>
        new k8s.networking.v1.NetworkPolicy(`${name}-netpol-${ns}`, tenantNetworkPolicy(t.name, ns, t.ingressNamespace), {
          ...k8sOpts,
          dependsOn: [namespaces[i]],
        }),
    );
    if (t.quota) {
      const quota = t.quota;
      t.namespaces.forEach((ns, i) => {
        new k8s.core.v1.ResourceQuota(`${name}-quota-${ns}`, tenantResourceQuota(t.name, ns, quota), { ...k8sOpts, dependsOn: [namespaces[i]] });
        new k8s.core.v1.LimitRange(`${name}-limits-${ns}`, tenantLimitRange(t.name, ns), { ...k8sOpts, dependsOn: [namespaces[i]] });
      });
    }
    const secret = new k8s.core.v1.Secret(
      `${name}-git-secret`,
      sshSecret({
        name: tenantNames(t.name).secret,
        namespace: home,
        identity: this.repository.privateKey,
        identityPub: this.repository.publicKey,
        labels,
        ...(args.knownHosts ? { knownHosts: args.knownHosts } : {}),
      }),
      { ...k8sOpts, dependsOn: [namespaces[0]] },
    );

    const sync = { tenant: t.name, namespace: home, url: sshUrl(args.owner, t.repository.name), branch: t.branch, path: t.path };
    this.gitRepository = new k8s.apiextensions.CustomResource(`${name}-gitrepository`, tenantGitRepository(sync), {
      ...k8sOpts,
      dependsOn: [args.fluxInstance, namespaces[0], secret, ...this.repository.ready],
    });
    // Removed first: Flux prunes the tenant's workloads while its service account still has rights.
    this.kustomization = new k8s.apiextensions.CustomResource(`${name}-kustomization`, tenantKustomization(sync), {
      ...k8sOpts,
      dependsOn: [args.fluxInstance, this.gitRepository, secret, serviceAccount, ...rbac, ...isolation],
    });
    this.registerOutputs({ namespaces: this.namespaces, fingerprint: this.repository.fingerprint });
  }
}
