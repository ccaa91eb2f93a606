/**
 * The cluster room: where every Kubernetes object goes. The `Cluster` component (a kind cluster
 * this stack provisions, or an existing cluster from `fleet:kubeconfig`, either way one
 * `k8s.Provider`) and the `KindCluster` dynamic resource that drives the `kind` CLI.
 *
 * cluster.ts  Cluster component, InCluster (the options every Kubernetes object takes)
 * kind.ts     KindCluster dynamic resource and its provider
 *
 * May import: config/, constants.ts, manifests/ (pure builders), perf.ts, and @pulumi/*. Never the
 * composing components (flux.ts, tenant.ts, policy.ts) nor github/; they import this room, through
 * this file. eslint.config.mjs holds these lines (import-x/no-restricted-paths, no-cycle).
 */
export * from "./cluster";
export * from "./kind";
