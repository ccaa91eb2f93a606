/**
 * Flux, installed the Flux Operator way: the flux-system namespace, the operator's Helm chart at a
 * pinned version with multitenancy on and its unauthenticated web UI off, the fleet pull secret (a
 * deploy key's, or a GitHub App's), and one FluxInstance that installs the controllers and
 * CRDs, locks Flux down for multi-tenancy and syncs `clusters/<env>` from the fleet repository.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { InCluster } from "./cluster";
import { FluxConfig, GitHubAppConfig, RepositoryConfig, StackConfig } from "./config";
import { FLUX_NAMESPACE } from "./constants";
import { FLUX_SYNC_NAME, FLUX_TAKEOVER_PULL_SECRET, FLUX_INSTANCE_TIMEOUT_SECONDS, fluxInstance, fluxOperatorValues, fluxSystemAccount, githubAppSecret, githubAppUrl, namespace, sshSecret, sshUrl } from "./manifests";
import { BootstrapKeyRevocation, type Repository } from "./github";

export interface FluxArgs {
  /** The cluster's provider and object options (`Cluster.inCluster`); Flux is installed through it. */
  readonly inCluster: InCluster;
  /** The validated `fleet:flux` config. */
  readonly flux: FluxConfig;
  /** URL of the fleet repository: `ssh://` with a deploy key, `https://` with a GitHub App. */
  readonly url: string;
  readonly branch: string;
  /** Path the cluster syncs (`clusters/<env>`). */
  readonly path: string;
  /** How the sync authenticates: this cluster's deploy key, or a GitHub App. */
  readonly auth: FleetSyncAuth;
  /** What the first sync needs to exist: the deploy key and the scaffold commits. */
  readonly syncDependsOn: pulumi.Input<pulumi.Resource>[];
  /**
   * The cluster runs Flux as `flux bootstrap github` set it up (`fleet:flux.takeOverBootstrap`):
   * bootstrap's deploy key on the fleet repository (its title), revoked once the FluxInstance is Ready.
   */
  readonly takeOver?: { readonly owner: string; readonly repository: string; readonly keyTitle: string };
}

export type FleetSyncAuth =
  | {
      readonly kind: "deploy-key";
      /** Deploy key private half (OpenSSH); kept secret. */
      readonly identity: pulumi.Input<string>;
      readonly identityPub: pulumi.Input<string>;
      /** known_hosts override (GitHub Enterprise). @default GitHub's published keys */
      readonly knownHosts?: string;
    }
  | {
      readonly kind: "github-app";
      readonly app: GitHubAppConfig;
      /** The App's private key (PEM); kept secret. */
      readonly privateKey: pulumi.Input<string>;
    };

export class Flux extends pulumi.ComponentResource {
  /**
   * flux-system, when this stack installs the operator (`fleet:flux.operator.install`): on an
   * existing cluster a NamespacePatch, which takes a namespace that is there already.
   */
  readonly namespace?: k8s.core.v1.Namespace | k8s.core.v1.NamespacePatch;
  /** The Flux Operator's Helm release, when this stack installs it. */
  readonly operator?: k8s.helm.v3.Release;
  readonly pullSecret: k8s.core.v1.Secret;
  /** cluster-admin for `flux-system:flux`, the account flux-system's Flux objects default to. */
  readonly systemAccountBinding: k8s.rbac.v1.ClusterRoleBinding;
  /** The FluxInstance. Every Flux custom resource elsewhere depends on it. */
  readonly instance: k8s.apiextensions.CustomResource;
  /** Revokes `flux bootstrap`'s deploy key, when taking over a bootstrapped cluster. */
  readonly bootstrapKey?: BootstrapKeyRevocation;

  constructor(name: string, args: FluxArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fleet:flux:Flux", name, {}, opts);
    const k8sOpts = { parent: this, ...args.inCluster };

    // With `operator.install: false` the cluster already runs the operator (OperatorHub, a platform
    // add-on), which owns flux-system: neither the namespace nor a Helm release is this stack's.
    if (args.flux.operator.install) {
      // On a kind cluster flux-system is new, and goes with the cluster (deletedWith). On an
      // existing cluster it may be there already (kept by an earlier destroy, made by a platform
      // team), which a Namespace would meet with AlreadyExists on pulumi-kubernetes 4.34 (a
      // create is client-side since pulumi-kubernetes#4278): a NamespacePatch is a server-side
      // apply, which creates the namespace when it is missing and takes it when it is there
      // (pulumi-kubernetes await.go, Creation, for Patch resources). Destroy keeps it, with
      // whatever SREs keep there by hand (SOPS keys, registry credentials), as Terraform's Flux
      // provider does. A bootstrapped cluster's is bootstrap's: not registered at all.
      const existingCluster = args.inCluster.deletedWith === undefined;
      if (!args.takeOver) {
        this.namespace = existingCluster
          ? new k8s.core.v1.NamespacePatch(`${name}-namespace`, namespace(FLUX_NAMESPACE), { ...k8sOpts, retainOnDelete: true })
          : new k8s.core.v1.Namespace(`${name}-namespace`, namespace(FLUX_NAMESPACE), k8sOpts);
      }
      this.operator = new k8s.helm.v3.Release(
        `${name}-operator`,
        {
          name: "flux-operator",
          chart: args.flux.chart,
          version: args.flux.operatorVersion,
          namespace: FLUX_NAMESPACE,
          createNamespace: false,
          values: fluxOperatorValues({ web: args.flux.web }),
          // The first install pulls the operator's image over whatever link the cluster has: the
          // same wait as the FluxInstance's, not Helm's default 300 s.
          timeout: FLUX_INSTANCE_TIMEOUT_SECONDS,
        },
        { ...k8sOpts, dependsOn: this.namespace ? [this.namespace] : [] },
      );
    }
    // What lives in flux-system waits for the namespace when this stack creates it.
    const inFluxSystem = { ...k8sOpts, dependsOn: this.namespace ? [this.namespace] : [] };
    const auth = args.auth;
    // bootstrap's own flux-system Secret holds its key: pulumi-kubernetes 4.34 will not create over
    // an object that exists (AlreadyExists), and adopting it would take its data as it is. The
    // stack's credentials get a Secret of their own, and the FluxInstance syncs with that.
    const pullSecretName = args.takeOver ? FLUX_TAKEOVER_PULL_SECRET : FLUX_SYNC_NAME;
    this.pullSecret = new k8s.core.v1.Secret(
      `${name}-pull-secret`,
      auth.kind === "github-app"
        ? githubAppSecret({ name: pullSecretName, namespace: FLUX_NAMESPACE, app: auth.app, privateKey: pulumi.secret(auth.privateKey) })
        : sshSecret({
            name: pullSecretName,
            namespace: FLUX_NAMESPACE,
            identity: pulumi.secret(auth.identity),
            identityPub: auth.identityPub,
            ...(auth.knownHosts ? { knownHosts: auth.knownHosts } : {}),
          }),
      inFluxSystem,
    );
    // flux-system's own default account under the lockdown (fluxSystemAccount explains why).
    const account = fluxSystemAccount();
    const fluxSystemSa = new k8s.core.v1.ServiceAccount(`${name}-system-account`, account.serviceAccount, inFluxSystem);
    this.systemAccountBinding = new k8s.rbac.v1.ClusterRoleBinding(`${name}-system-account-binding`, account.binding, {
      ...k8sOpts,
      dependsOn: [fluxSystemSa],
    });
    this.instance = new k8s.apiextensions.CustomResource(
      `${name}-instance`,
      fluxInstance({
        version: args.flux.version,
        registry: args.flux.registry,
        artifact: args.flux.artifact,
        components: args.flux.components,
        multitenant: args.flux.multitenant,
        networkPolicy: args.flux.networkPolicy,
        url: args.url,
        branch: args.branch,
        path: args.path,
        pullSecret: pullSecretName,
        ...(auth.kind === "github-app" ? { provider: "github" as const } : {}),
        kustomizeEgress: args.flux.kustomizeEgress,
      }),
      { ...k8sOpts, dependsOn: [...(this.operator ? [this.operator] : []), this.pullSecret, this.systemAccountBinding, ...args.syncDependsOn] },
    );
    if (args.takeOver) {
      // Revoked only once the FluxInstance is Ready: the operator's sync then reads with this
      // stack's key, so nothing still needs bootstrap's.
      this.bootstrapKey = new BootstrapKeyRevocation(
        `${name}-bootstrap-key`,
        { owner: args.takeOver.owner, repository: args.takeOver.repository, title: args.takeOver.keyTitle },
        { parent: this, dependsOn: [this.instance] },
      );
    }
    this.registerOutputs({});
  }
}

/**
 * How the fleet sync reaches the fleet repository: over HTTPS as the GitHub App when one is
 * configured (the fleet then has no deploy key), else over SSH with this cluster's deploy key.
 */
export function fleetSync(
  fleet: Repository,
  owner: string,
  repository: RepositoryConfig,
  githubApp: StackConfig["githubApp"],
): { url: string; auth: FleetSyncAuth } {
  if (githubApp) {
    return { url: githubAppUrl(owner, repository.name, githubApp.app.apiUrl), auth: { kind: "github-app", ...githubApp } };
  }
  if (!fleet.key) throw new Error("the fleet repository was made without a deploy key, and no GitHub App is configured");
  return {
    url: sshUrl(owner, repository.name, repository.sshHost),
    auth: { kind: "deploy-key", identity: fleet.key.privateKey, identityPub: fleet.key.publicKey, ...(repository.knownHosts ? { knownHosts: repository.knownHosts } : {}) },
  };
}
