/**
 * The cluster every environment starts from: a kind cluster this stack provisions, or an existing
 * cluster adopted from the secret `fleet:kubeconfig`. Either way the component exposes one
 * `k8s.Provider`, and every Kubernetes resource in the program is created through it.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ClusterConfig } from "../config";
import { CommandRunner, KindCluster } from "./kind";

export interface ClusterArgs {
  /** The validated `fleet:cluster` config. */
  readonly cluster: ClusterConfig;
  /** The kubeconfig for `type: kubeconfig` (the secret `fleet:kubeconfig`). */
  readonly kubeconfig?: pulumi.Input<string>;
  /** Runs the `kind` CLI; tests inject a fake. @default the real `child_process` runner */
  readonly runner?: CommandRunner;
}

/** The context kind writes for a cluster. */
export function kindContext(name: string): string {
  return `kind-${name}`;
}

/** What identifies a kind cluster: everything whose change makes kind create it anew. */
export function kindClusterIdentifier(cluster: { readonly name: string; readonly nodeImage?: string; readonly workers: number }): string {
  return `kind/${cluster.name}/${cluster.nodeImage ?? "default-image"}/${cluster.workers}-workers`;
}

/**
 * The options every Kubernetes object in the cluster takes: its provider, and on a kind stack
 * `deletedWith` the KindCluster, so a destroy deletes the cluster and skips each object's own
 * delete (and the wait for Flux's finalizers): nothing in a deleted cluster outlives it anyway.
 */
export interface InCluster {
  readonly provider: k8s.Provider;
  readonly deletedWith?: pulumi.Resource;
}

export class Cluster extends pulumi.ComponentResource {
  /** The only Kubernetes provider resources in this program may use. */
  readonly provider: k8s.Provider;
  /** What every Kubernetes object in this cluster is registered with. */
  readonly inCluster: InCluster;
  /** Kubeconfig of the cluster; always a secret. */
  readonly kubeconfig: pulumi.Output<string>;
  /** API server URL (kind clusters only; empty for kubeconfig clusters). */
  readonly endpoint: pulumi.Output<string>;
  /** Kube context the provider uses: `kind-<name>`, or the configured/current context of a kubeconfig. */
  readonly context: pulumi.Output<string>;
  /** The kind cluster, when this stack provisions one. */
  readonly kind?: KindCluster;

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fleet:cluster:Cluster", name, {}, opts);
    const { cluster } = args;
    let context: pulumi.Input<string> | undefined;
    let clusterIdentifier: string | undefined;
    if (cluster.type === "kind") {
      this.kind = new KindCluster(
        `${name}-kind`,
        { name: cluster.name, workers: cluster.workers, ...(cluster.nodeImage ? { nodeImage: cluster.nodeImage } : {}) },
        { parent: this },
        args.runner,
      );
      this.kubeconfig = pulumi.secret(this.kind.kubeconfig);
      this.endpoint = this.kind.endpoint;
      // Both known from config, even in a preview where the KindCluster takes an in-place update
      // (new provider code) and its outputs are unknown: pulumi-kubernetes' DiffConfig replaces the
      // provider, and with it every object in the cluster, when the kubeconfig or context is
      // unknown, unless a `clusterIdentifier` is set and unchanged (provider.go, DiffConfig). The
      // identifier changes exactly when the kind cluster is recreated (name, image, workers).
      context = kindContext(cluster.name);
      clusterIdentifier = kindClusterIdentifier(cluster);
    } else {
      if (args.kubeconfig === undefined) {
        throw new pulumi.ResourceError("fleet:kubeconfig is required for fleet:cluster.type kubeconfig", this);
      }
      this.kubeconfig = pulumi.secret(args.kubeconfig);
      this.endpoint = pulumi.output("");
      context = cluster.context;
    }
    this.context = pulumi.output(context ?? "");
    this.provider = new k8s.Provider(
      `${name}-k8s`,
      // No `deleteUnreachable`: with it, the provider's Read answers "deleted" whenever the
      // cluster cannot be reached (pulumi-kubernetes provider.go, Read), so a refresh while Docker
      // is stopped would drop every object from state. For a cluster that is really gone, run
      // once with PULUMI_K8S_DELETE_UNREACHABLE=true (docs/kind.md).
      // enableSecretMutable: without it a Secret's data is replace-only (forceNewProperties in
      // pulumi-kubernetes provider/pkg/provider/diff.go), and a named Secret is replaced
      // delete-first, so a key rotation would leave Flux without its deploy-key Secret until the
      // new one exists. With it, the new key is written into the same Secret in one update.
      {
        kubeconfig: this.kubeconfig,
        enableSecretMutable: true,
        ...(context !== undefined ? { context } : {}),
        ...(clusterIdentifier ? { clusterIdentifier } : {}),
      },
      { parent: this },
    );
    this.inCluster = { provider: this.provider, ...(this.kind ? { deletedWith: this.kind } : {}) };
    this.registerOutputs({ kubeconfig: this.kubeconfig, endpoint: this.endpoint, context: this.context });
  }
}
