/**
 * Defaults: the only place a default lives. The schema (schema.ts) reads them for its docs, and
 * resolve.ts fills them into raw config; this file imports nothing from the schema, so the two
 * never go round in a circle.
 */
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
  /** A tenant's SOPS key generations (`secrets.generations`). */
  secretsGenerations: [1] as const,
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
  /**
   * The Flux versions each operator release's manifests hold, which is all `distribution.version`
   * can resolve to with its artifact: flux-operator v0.58.1 `config/data/flux/` (v2.8.4 is not
   * among them). A version or range matching none fails the FluxInstance at once (BuildFailed,
   * internal/builder/semver.go), while `pulumi up` waits out its timeout for Ready, so the config
   * check refuses it first. An operator version not listed here is not checked.
   */
  embeddedFluxVersions: {
    "0.58.1": [
      "2.2.3", "2.3.0", "2.4.0", "2.5.0", "2.5.1", "2.6.0", "2.6.1", "2.6.2", "2.6.3", "2.6.4", "2.7.0", "2.7.1", "2.7.2", "2.7.3", "2.7.4", "2.7.5",
      "2.8.0", "2.8.1", "2.8.2", "2.8.3", "2.8.5", "2.8.6", "2.8.7", "2.8.8", "2.9.0", "2.9.1", "2.9.2", "2.9.3", "2.9.4",
    ],
  } as Readonly<Record<string, readonly string[]>>,
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
