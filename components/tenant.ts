/**
 * One tenant: its deployment repository and deploy key for this cluster, and in the cluster its
 * namespaces (with Pod Security labels), the tenant account `flux` and a RoleBinding in each,
 * deploy-key Secret, GitRepository, Kustomization, NetworkPolicies, optional quota, and with
 * `secrets` its SOPS key Secret and `.sops.yaml`. What each
 * object looks like comes from `manifests/`; this file only wires them, with the ordering that lets Flux finish its
 * finalizers on removal.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { InCluster } from "./cluster";
import { KeyAlgorithm, TenantConfig, Visibility } from "./config";
import {
  sopsConfigFile,
  sopsKeySecret,
  sopsSecretName,
  sshSecret,
  sshUrl,
  tenantEnvironmentFile,
  tenantGitRepository,
  tenantKustomization,
  tenantLabels,
  tenantLimitRange,
  tenantNames,
  tenantNetworkPolicy,
  tenantResourceQuota,
  tenantRoleBinding,
  tenantNamespace,
  tenantServiceAccount,
} from "./manifests";
import { ExistingRepository } from "./github";
import { AdmissionPolicies } from "./policy";
import { CreateRepositoryArgs, DeployKeyPair, RepositoryParts, repositoryResources } from "./github";
import { SopsKeys } from "./sops";

export interface TenantArgs {
  /** The validated tenant entry of `fleet:tenants`. */
  readonly tenant: TenantConfig;
  /** GitHub organisation or user (`github:owner`). */
  readonly owner: string;
  /** The stack (one cluster): titles the deploy key. */
  readonly stack: string;
  /** The cluster's Kubernetes provider and object options (`Cluster.inCluster`). */
  readonly inCluster: InCluster;
  /** The FluxInstance: every Flux object waits for it, and is deleted before it. */
  readonly fluxInstance: pulumi.Resource;
  /**
   * When the tenant's cluster objects (not its repository) start: a start gate (`startAfter` in
   * perf.ts), not a dependency. index.ts gives the fleet repository's last scaffold file on the
   * stack's first update: the CLI saves the whole state twice per step, one save at a time,
   * so a step waits behind every save queued before it; started after the fleet's scaffold, the
   * tenants' objects no longer hold back the FluxInstance, whose install and first sync then
   * overlap them (docs/architecture.md, "Real-engine speed").
   */
  readonly after?: Promise<pulumi.Resource[]>;
  /** Visibility of a repository this stack creates. */
  readonly visibility: Visibility;
  readonly keyAlgorithm: KeyAlgorithm;
  /** The tenant template a repository this stack creates is generated from. */
  readonly template?: NonNullable<CreateRepositoryArgs["template"]> & {
    /** Paths a generated repository starts with (`TenantTemplate.files`). */
    readonly files: ReadonlySet<string>;
  };
  /** The tenant's repository as found on GitHub, when this stack would create it and it exists (adopt.ts). */
  readonly existing?: ExistingRepository;
  /**
   * The admission policy pack, when on (`fleet:flux.admissionPolicies`): the tenant's namespaces
   * carry its values for it, and its first Flux object waits for it.
   */
  readonly policies?: AdmissionPolicies;
  /** Deploy key generation (`fleet:repository.keyGeneration`). */
  readonly keyGeneration: number;
  /** known_hosts override (GitHub Enterprise). @default GitHub's published keys */
  readonly knownHosts?: string;
  /** Git host (and port) of the sync URL (`fleet:repository.sshHost`). @default github.com */
  readonly sshHost?: string;
  /** The environment's SOPS keys, when a tenant sets `secrets` (`fleet:sopsSeed`). */
  readonly sops?: SopsKeys;
}

/**
 * Where a tenant's repository resources were in state until they became the tenant's own
 * children: under a component of their own, `fleet:repository:Repository` `<tenant>-repository`,
 * a child of the tenant. One component per tenant, not two: a component is three whole-state
 * saves of a first `up` (docs/architecture.md, "Real-engine speed", which also says they did not
 * show beside the run-to-run variance).
 * The aliases move each child instead of replacing it (a repository's deploy key, a tenant's
 * repository, which `retainOnDelete` would otherwise leave behind as a new one was made).
 * With `renamedFrom` in the same update, the former place is under the former name too: the
 * engine's inherited aliases keep the child's type and name but drop the component between
 * (pulumi v3.274.1, pkg/resource/deploy/step_generator.go, `generateAliases`,
 * `inheritedChildAlias`), so that URN is given here. test/rename.spec.ts checks both.
 */
export function formerRepositoryPlace(tenant: string, renamedFrom?: string): (child: string) => pulumi.Alias[] {
  const under = (t: string) => `urn:pulumi:${pulumi.getStack()}::${pulumi.getProject()}::fleet:tenant:Tenant$fleet:repository:Repository::${t}-repository`;
  return (child) => {
    if (!child.startsWith(tenant)) throw new Error(`${child}: a tenant's repository resources are named after the tenant (${tenant})`);
    return [{ parent: under(tenant) }, ...(renamedFrom ? [{ name: renamedFrom + child.slice(tenant.length), parent: under(renamedFrom) }] : [])];
  };
}

export class Tenant extends pulumi.ComponentResource {
  /** The tenant's name, from config. */
  readonly tenantName: string;
  /** What its objects are named after (`TenantConfig.identity`). */
  readonly identity: string;
  readonly namespaces: readonly string[];
  /** Its deployment repository's resources, children of the tenant itself (`formerRepositoryPlace`). */
  readonly repository: RepositoryParts;
  /** The tenant's own deploy key: every tenant has one, whatever the fleet sync uses. */
  readonly key: DeployKeyPair;
  readonly gitRepository: k8s.apiextensions.CustomResource;
  readonly kustomization: k8s.apiextensions.CustomResource;
  /** What the tenant encrypts its files to in this environment (`secrets`): public. */
  readonly recipient?: string;
  /**
   * GitHub content writes its creation makes at most (components/github/write-budget.ts): its
   * repository and scaffold files, its key, and apart from them its `.sops.yaml` (`secrets`), so
   * that turning secrets on for a tenant that exists is counted as new work.
   */
  readonly contentWrites: { readonly repository: number; readonly key: number; readonly sops: number };

  constructor(name: string, args: TenantArgs, opts?: pulumi.ComponentResourceOptions) {
    const t = args.tenant;
    // A renamed tenant (renamedFrom) is moved in state, not replaced: the alias is the component's
    // old name, and every child named after the component (its repository, keys, grant, files)
    // inherits it (Pulumi's child aliases by name prefix). The Kubernetes children are named by
    // their Kubernetes identities, which a rename does not change, so their URNs stay as they are.
    super("fleet:tenant:Tenant", name, {}, { ...opts, ...(t.renamedFrom ? { aliases: [...(opts?.aliases ?? []), { name: t.renamedFrom }] } : {}) });
    // What the tenant's objects are named after: its former name, after a rename.
    const id = t.identity;
    const home = t.namespaces[0];
    const labels = tenantLabels(id);
    this.tenantName = t.name;
    this.identity = id;
    this.namespaces = t.namespaces;
    const template = t.repository.create ? args.template : undefined;
    // The environment's file, written when absent. A repository generated from the template
    // starts with it when the template lists the environment (then it is only read, not written);
    // an adopted one may lack it. Listed either way, so adopting a repository and creating one
    // register the same resources.
    // With `secrets`, `<path>/.sops.yaml` names the environment's recipient; committed after the
    // environment's kustomization.yaml, which is only written into an empty directory.
    const sops = t.secrets ? args.sops : undefined;
    if (t.secrets && !sops) throw new Error(`tenant ${t.name}: secrets is set, but no SOPS keys were given (fleet:sopsSeed)`);
    // Every trusted generation's key, oldest first: files are encrypted to the last.
    const sopsKeys = sops && t.secrets ? t.secrets.generations.map((generation) => ({ generation, ...sops.key(id, generation) })) : undefined;
    this.recipient = sopsKeys?.[sopsKeys.length - 1].recipient;
    const sopsFile = t.scaffold && sops && this.recipient !== undefined ? sopsConfigFile(t.path, sops.environment, this.recipient) : undefined;
    const files = t.scaffold ? [tenantEnvironmentFile(t.path), ...(sopsFile ? [sopsFile] : [])] : [];

    this.repository = repositoryResources(
      { parent: this, formerly: formerRepositoryPlace(name, t.renamedFrom) },
      `${name}-repository`,
      {
        owner: args.owner,
        name: t.repository.name,
        create: t.repository.create,
        visibility: args.visibility,
        branch: t.branch,
        description: `Deployment repository of tenant ${id}: flux/, kustomize/, helm/`,
        stack: args.stack,
        keyAlgorithm: args.keyAlgorithm,
        readWrite: t.repository.readWrite,
        keyGeneration: args.keyGeneration,
        createKey: `the repository.create of tenant ${t.name}`,
        // Only the stack that creates the repository grants the team; a tenant's team never gets
        // the fleet repository or another tenant's.
        // An offboarded tenant's repository is kept, and so is its team's access to it.
        ...(t.team ? { team: { slug: t.team, permission: "push" as const, configKey: `the team of tenant ${t.name}`, retain: t.offboard } } : {}),
        // A created repository is generated from the fleet's template (the seed's layout and each
        // listed environment's file in one request); this stack adds only a path it lacks.
        ...(template ? { template, templateFiles: template.files } : {}),
        ...(args.existing ? { existing: args.existing } : {}),
        files,
      },
    );
    if (!this.repository.key) throw new Error(`tenant ${t.name}: its repository was made without a deploy key`);
    const sopsWrites = sopsFile ? 1 : 0;
    this.contentWrites = { repository: this.repository.contentWrites.repository - sopsWrites, key: this.repository.contentWrites.key, sops: sopsWrites };
    this.key = this.repository.key;

    // Pulumi names are the Kubernetes identities (`<namespace>` or `<namespace>/<name>`): a
    // namespace belongs to one tenant, so no two tenants' resources can share a URN.
    // What holds the tenant's data is protected until the tenant is marked `offboard: true`: its
    // namespaces (deleting one deletes everything in it) and its Kustomization (deleting it prunes
    // the workloads). Removing or renaming the entry then fails at preview. The rest (accounts,
    // role bindings, quotas, the Secret, the GitRepository) stays editable.
    const k8sOpts = { parent: this, ...args.inCluster };
    const holdsData = { ...k8sOpts, protect: !t.offboard };
    const at = (ns: string, object: string) => `${ns}/${object}`;
    const names = tenantNames(id);
    const after = args.after ?? [];
    const url = sshUrl(args.owner, t.repository.name, args.sshHost);
    // What the admission policies allow the tenant, on each of its namespaces: its own repository
    // and its config's sources.
    const policy = args.policies
      ? {
        sources: [url, ...t.sources],
        buckets: t.buckets,
        imageAutomation: t.repository.readWrite,
        serviceTypes: t.serviceTypes,
        // Fixed, with or without secrets: turning them on never races the namespace's own update.
        decryptionSecrets: [sopsSecretName(id)],
      }
      : undefined;
    const namespaces = t.namespaces.map((ns) => new k8s.core.v1.Namespace(ns, tenantNamespace(id, ns, t.podSecurity, policy), { ...holdsData, dependsOn: after }));
    const accounts = t.namespaces.map(
      (ns, i) =>
        new k8s.core.v1.ServiceAccount(at(ns, names.serviceAccount), tenantServiceAccount(id, ns), {
          ...k8sOpts,
          dependsOn: [namespaces[i]],
        }),
    );
    const rbac = t.namespaces.map(
      (ns, i) =>
        new k8s.rbac.v1.RoleBinding(at(ns, names.roleBinding), tenantRoleBinding(id, ns, t.namespaces, t.clusterRole), {
          ...k8sOpts,
          dependsOn: [namespaces[i], ...accounts],
        }),
    );
    const isolation = t.namespaces.map(
      (ns, i) =>
        new k8s.networking.v1.NetworkPolicy(at(ns, names.networkPolicy), tenantNetworkPolicy(id, ns, t.ingressNamespace), {
          ...k8sOpts,
          dependsOn: [namespaces[i]],
        }),
    );
    const limits: pulumi.Resource[] = [];
    if (t.quota) {
      const quota = t.quota;
      t.namespaces.forEach((ns, i) => {
        const inNamespace = { ...k8sOpts, dependsOn: [namespaces[i]] };
        limits.push(
          new k8s.core.v1.ResourceQuota(at(ns, names.quota), tenantResourceQuota(id, ns, quota), inNamespace),
          new k8s.core.v1.LimitRange(at(ns, names.limitRange), tenantLimitRange(id, ns), inNamespace),
        );
      });
    }
    const secret = new k8s.core.v1.Secret(
      at(home, names.secret),
      sshSecret({
        name: names.secret,
        namespace: home,
        identity: this.key.privateKey,
        identityPub: this.key.publicKey,
        labels,
        ...(args.knownHosts ? { knownHosts: args.knownHosts } : {}),
      }),
      { ...k8sOpts, dependsOn: [namespaces[0]] },
    );

    // The tenant's SOPS identities, every trusted generation, in its first namespace: what its
    // Kustomizations there decrypt with. Secret inputs only; no output names them.
    const sopsKey = sopsKeys
      ? new k8s.core.v1.Secret(at(home, sopsSecretName(id)), sopsKeySecret({ tenant: id, namespace: home, labels, identities: sopsKeys }), { ...k8sOpts, dependsOn: [namespaces[0]] })
      : undefined;

    const sync = {
      tenant: id,
      namespace: home,
      url,
      branch: t.branch,
      path: t.path,
      ...(t.targetNamespace !== undefined ? { targetNamespace: t.targetNamespace } : {}),
      decrypt: sopsKey !== undefined,
    };
    this.gitRepository = new k8s.apiextensions.CustomResource(at(home, names.source), tenantGitRepository(sync), {
      ...k8sOpts,
      dependsOn: [args.fluxInstance, namespaces[0], secret, ...this.repository.ready, ...(args.policies?.ready ?? [])],
    });
    // Removed first: Flux prunes the tenant's workloads while its accounts still have rights.
    // It depends on everything else of the tenant, quotas and the team grant included, so the
    // engine deletes none of them before it; while it is protected, the engine stops at it. A
    // tenant dropped without `offboard: true` loses nothing, even with `up --skip-preview`, and a
    // team grant still changes team by an ordinary replacement (protecting the grant would refuse it).
    this.kustomization = new k8s.apiextensions.CustomResource(at(home, names.kustomization), tenantKustomization(sync), {
      ...holdsData,
      dependsOn: [
        args.fluxInstance, this.gitRepository, secret, ...(sopsKey ? [sopsKey] : []), ...accounts, ...rbac, ...isolation, ...limits,
        ...(this.repository.team ? [this.repository.team] : []),
      ],
    });
    this.registerOutputs({ namespaces: this.namespaces, fingerprint: this.key.fingerprint, ...(this.recipient ? { recipient: this.recipient } : {}) });
  }
}
