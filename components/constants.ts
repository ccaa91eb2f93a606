/**
 * Well-known names shared by every component. Each one lives here and only here.
 */

/** The Pulumi project name, and the config namespace of every program key. */
export const PROJECT = "fleet";

/** Namespace where the Flux controllers, the FluxInstance and the fleet pull secret live. */
export const FLUX_NAMESPACE = "flux-system";

/** Label Flux's `flux create tenant` puts on every tenant object. */
export const TENANT_LABEL = "toolkit.fluxcd.io/tenant";

/**
 * Prefix of the tenant namespace annotations that hold a tenant's values for the admission
 * policies (its sources, Service types, ...: manifests/policy.ts, `policyAnnotation`).
 */
export const POLICY_ANNOTATION_PREFIX = "admission.fleet/";

/**
 * The tenant account: a ServiceAccount of this name in every tenant namespace. The FluxInstance
 * makes it the default (`cluster.tenantDefaultServiceAccount`) and the Flux Operator's
 * multitenancy makes it the ResourceSet default, so every Flux object in a tenant namespace, at
 * any depth, runs as `<namespace>:flux` unless it names another account of that namespace.
 */
export const TENANT_SERVICE_ACCOUNT = "flux";

/** Pod Security Admission namespace labels (https://kubernetes.io/docs/concepts/security/pod-security-admission/). */
export const POD_SECURITY_LABELS = {
  enforce: "pod-security.kubernetes.io/enforce",
  warn: "pod-security.kubernetes.io/warn",
  audit: "pod-security.kubernetes.io/audit",
} as const;

/** Keys of a Flux SSH source secret (see Flux's `pkg/manifestgen/sourcesecret`). */
export const SSH_SECRET_KEYS = {
  identity: "identity",
  identityPub: "identity.pub",
  knownHosts: "known_hosts",
} as const;

/** Namespaces no tenant may claim: they belong to Kubernetes or Flux. */
export const RESERVED_NAMESPACES: readonly string[] = ["default", FLUX_NAMESPACE];
export const RESERVED_NAMESPACE_PREFIX = "kube-";

/** Controllers a FluxInstance may install (enum of `spec.components` in the FluxInstance CRD). */
export const FLUX_COMPONENTS = [
  "source-controller",
  "kustomize-controller",
  "helm-controller",
  "notification-controller",
  "image-reflector-controller",
  "image-automation-controller",
  "source-watcher",
] as const;
export type FluxComponent = (typeof FLUX_COMPONENTS)[number];
