/**
 * Objects a tenant might apply, each with the admission policy pack's verdict, for one tenant.
 * Shared by the offline CEL tests (test/policy.spec.ts) and the real tier, which applies them as
 * the tenant with `kubectl apply --dry-run=server` (test/real/fleet.spec.ts, 7).
 */
import type { TenantPolicyParams } from "../components/manifests/policy";

export interface PolicyFixture {
  /** What it shows. */
  readonly title: string;
  /** The policy whose rule decides it (components/manifests/policy.ts). */
  readonly policy: string;
  readonly object: Record<string, any>;
  readonly admitted: boolean;
  /** The tenant's values where they differ from its defaults (Buckets, image automation, Service types allowed). */
  readonly params?: Partial<Pick<TenantPolicyParams, "buckets" | "imageAutomation" | "serviceTypes">>;
  /** Who writes it (`request.userInfo.username`). @default the tenant's own account `<namespace>:flux` */
  readonly as?: string;
  /** A write of this subresource of the existing object `metadata.name` (its `status`), not a create. */
  readonly subresource?: "status";
  /**
   * An update of `oldObject` to `object`. Offline only: on the rig the old object would have to
   * exist first, and each of these is an object the rule under test refuses to create (it stands
   * for one made before the rule, or by a controller the rig does not run). @default CREATE
   */
  readonly operation?: "UPDATE";
  readonly oldObject?: Record<string, any>;
  /**
   * Why the object is not validated against `@kubernetes-models/flux-cd`: a field newer than the
   * models, with the upstream file that defines it. Only for that reason.
   */
  readonly newerThanModels?: string;
}

export interface FixtureTenant {
  /** The tenant's home namespace. */
  readonly namespace: string;
  /** Its own repository's sync URL. */
  readonly ownUrl: string;
  /** Another tenant's repository URL. */
  readonly otherUrl: string;
  /** A source its config allows (`sources`). */
  readonly allowedUrl: string;
  /** An image its config allows, as `oci://<image>` in `sources`. */
  readonly allowedImage: string;
}

/** A CEL evaluator (@marcbachmann/cel-js's `evaluate`). */
export interface Cel {
  evaluate(expression: string, context: object): unknown;
}

/**
 * Whether a policy (its `spec`) admits a request, as the API server decides: its variables
 * evaluated on the request's `context` (`object`, `oldObject`, `request`, `namespaceObject`), then
 * a policy whose matchConditions do not all hold does not apply, and one that applies admits when
 * every validation holds.
 */
export function policyAdmits(cel: Cel, spec: { variables?: any[]; matchConditions?: any[]; validations: any[] }, context: object): boolean {
  const variables = Object.fromEntries((spec.variables ?? []).map((v) => [v.name, cel.evaluate(v.expression, context)]));
  const full = { ...context, variables };
  const applies = (spec.matchConditions ?? []).every((c) => cel.evaluate(c.expression, full) === true);
  return !applies || spec.validations.every((v) => cel.evaluate(v.expression, full) === true);
}

/** The username of `account` in `namespace`, as the API server sees a service account. */
export const serviceAccountUser = (namespace: string, account: string) => `system:serviceaccount:${namespace}:${account}`;

const meta = (name: string, namespace: string) => ({ name, namespace });

export function policyFixtures(t: FixtureTenant): PolicyFixture[] {
  const git = (name: string, url: string, extra: object = {}) => ({
    apiVersion: "source.toolkit.fluxcd.io/v1", kind: "GitRepository", metadata: meta(name, t.namespace),
    spec: { interval: "5m", url, ref: { branch: "main" }, ...extra },
  });
  const kustomization = (name: string, extra: object = {}) => ({
    apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", metadata: meta(name, t.namespace),
    spec: { interval: "5m", path: "./", prune: true, sourceRef: { kind: "GitRepository", name: "own" }, ...extra },
  });
  const pod = (name: string, spec: object) => ({
    apiVersion: "v1", kind: "Pod", metadata: meta(name, t.namespace),
    spec: { containers: [{ name: "app", image: "registry.example.com/app:1" }], ...spec },
  });
  const bucket = (endpoint: string, extra: object = {}) => ({
    apiVersion: "source.toolkit.fluxcd.io/v1", kind: "Bucket", metadata: meta("data", t.namespace),
    spec: { interval: "5m", bucketName: "data", endpoint, ...extra },
  });
  const allowedHost = new URL(t.allowedUrl).host;
  const oci = (name: string, url: string, extra: object = {}) => ({
    apiVersion: "source.toolkit.fluxcd.io/v1", kind: "OCIRepository", metadata: meta(name, t.namespace), spec: { interval: "1h", url, ref: { tag: "latest" }, ...extra },
  });
  const imageRepository = (image: string) => ({
    apiVersion: "image.toolkit.fluxcd.io/v1", kind: "ImageRepository", metadata: meta("app", t.namespace), spec: { interval: "5m", image },
  });
  const helmRelease = (name: string, extra: object = {}, sourceRef: object = { kind: "HelmRepository", name: "charts" }) => ({
    apiVersion: "helm.toolkit.fluxcd.io/v2", kind: "HelmRelease", metadata: meta(name, t.namespace),
    spec: { interval: "5m", chart: { spec: { chart: "app", sourceRef } }, ...extra },
  });
  const service = (name: string, spec: object) => ({
    apiVersion: "v1", kind: "Service", metadata: meta(name, t.namespace), spec: { ports: [{ port: 80 }], ...spec },
  });
  /** The tenant's own GitRepository (named after its namespace), with a status claiming an artifact at `url`. */
  const forgedStatus = (url: string) => ({
    ...git(t.namespace, t.ownUrl),
    status: { artifact: { path: "gitrepository/x/x/forged.tar.gz", url, revision: "main@sha1:0000000000000000000000000000000000000000", digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000", lastUpdateTime: "2026-01-01T00:00:00Z" } },
  });
  const receiver = (name: string, spec: object) => ({
    apiVersion: "notification.toolkit.fluxcd.io/v1", kind: "Receiver", metadata: meta(name, t.namespace),
    spec: { secretRef: { name: "token" }, resources: [{ kind: "GitRepository", name: "own" }], ...spec },
  });
  const externalArtifact = {
    apiVersion: "source.toolkit.fluxcd.io/v1", kind: "ExternalArtifact", metadata: meta("forged", t.namespace),
    spec: { sourceRef: { apiVersion: "source.extensions.fluxcd.io/v1beta1", kind: "ArtifactGenerator", name: "gen" } },
  };
  const automation = {
    apiVersion: "image.toolkit.fluxcd.io/v1", kind: "ImageUpdateAutomation", metadata: meta("bump", t.namespace),
    spec: {
      interval: "5m", sourceRef: { kind: "GitRepository", name: "own" },
      git: { commit: { author: { name: "flux", email: "flux@example.com" } } }, update: { strategy: "Setters" },
    },
  };
  /** `object` as it was, with a finalizer its controller is about to lift. */
  const withFinalizer = (o: Record<string, any>) => ({ ...o, metadata: { ...o.metadata, finalizers: ["finalizers.fluxcd.io"] } });
  const scheduledPod = (name: string, image: string) => pod(name, { nodeName: "worker-1", containers: [{ name: "app", image }] });
  const loadBalancer = service("public", { type: "LoadBalancer" });
  return [
    { title: "a GitRepository of its own repository", policy: "fleet-tenant-sources", object: git("own", t.ownUrl), admitted: true },
    {
      title: "source-controller lifting its finalizer from a GitRepository whose URL the allowlist no longer holds (metadata only)", policy: "fleet-tenant-sources", admitted: true,
      object: git("gone", t.otherUrl), oldObject: withFinalizer(git("gone", t.otherUrl)), operation: "UPDATE", as: serviceAccountUser("flux-system", "source-controller"),
    },
    {
      title: "a spec change of that GitRepository", policy: "fleet-tenant-sources", admitted: false,
      object: git("gone", t.otherUrl, { interval: "1m" }), oldObject: git("gone", t.otherUrl), operation: "UPDATE",
    },
    {
      title: "the cloud controller lifting its finalizer from a LoadBalancer Service made before the rule", policy: "fleet-tenant-services", admitted: true,
      object: loadBalancer, oldObject: { ...loadBalancer, metadata: { ...loadBalancer.metadata, finalizers: ["service.kubernetes.io/load-balancer-cleanup"] } }, operation: "UPDATE", as: "system:serviceaccount:kube-system:service-controller",
    },
    {
      title: "a toleration of every taint added to a running Pod", policy: "fleet-tenant-pod-placement", admitted: false,
      object: { ...scheduledPod("running", "registry.example.com/app:1"), spec: { ...scheduledPod("running", "registry.example.com/app:1").spec, tolerations: [{ operator: "Exists" }] } },
      oldObject: scheduledPod("running", "registry.example.com/app:1"), operation: "UPDATE",
    },
    {
      title: "a new image for a Pod the scheduler placed (nodeName set through pods/binding)", policy: "fleet-tenant-pod-placement", admitted: true,
      object: scheduledPod("running", "registry.example.com/app:2"), oldObject: scheduledPod("running", "registry.example.com/app:1"), operation: "UPDATE",
    },
    { title: "a GitRepository of another tenant's repository", policy: "fleet-tenant-sources", object: git("theirs", t.otherUrl), admitted: false },
    { title: "a GitRepository whose URL only starts with its own", policy: "fleet-tenant-sources", object: git("longer", t.ownUrl.replace(/\.git$/, "-evil.git")), admitted: false },
    {
      title: "a HelmRepository its config allows", policy: "fleet-tenant-sources", admitted: true,
      object: { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "HelmRepository", metadata: meta("charts", t.namespace), spec: { interval: "1h", url: t.allowedUrl } },
    },
    {
      title: "a HelmRepository its config does not list", policy: "fleet-tenant-sources", admitted: false,
      object: { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "HelmRepository", metadata: meta("elsewhere", t.namespace), spec: { interval: "1h", url: "https://charts.internal.example" } },
    },
    { title: "an OCIRepository of an unlisted registry", policy: "fleet-tenant-sources", admitted: false, object: oci("oci", "oci://ghcr.io/someone/manifests") },
    { title: "an OCIRepository of an image its config allows", policy: "fleet-tenant-sources", admitted: true, object: oci("oci", `oci://${t.allowedImage}`) },
    { title: "a Bucket whose endpoint its sources allow (https://<endpoint>)", policy: "fleet-tenant-sources", object: bucket(allowedHost), admitted: true, params: { buckets: true } },
    { title: "a Bucket at an endpoint its sources do not list", policy: "fleet-tenant-sources", object: bucket("169.254.169.254"), admitted: false, params: { buckets: true } },
    { title: "a Bucket whose endpoint carries its scheme, as azure's do", policy: "fleet-tenant-sources", object: bucket(t.allowedUrl), admitted: true, params: { buckets: true } },
    { title: "an azure Bucket (tokens from the authorityHost its Secret names)", policy: "fleet-tenant-source-connections", object: bucket(t.allowedUrl, { provider: "azure" }), admitted: false, params: { buckets: true } },
    { title: "an ImageRepository of an image its config allows (oci://<image>)", policy: "fleet-tenant-sources", object: imageRepository(t.allowedImage), admitted: true },
    { title: "an ImageRepository of an unlisted registry", policy: "fleet-tenant-sources", object: imageRepository("registry.internal:5000/anything"), admitted: false },
    { title: "a GitRepository of its own repository through a proxy (proxySecretRef)", policy: "fleet-tenant-source-connections", object: git("proxied", t.ownUrl, { proxySecretRef: { name: "proxy" } }), admitted: false },
    { title: "an OCIRepository of an allowed image through a proxy (proxySecretRef)", policy: "fleet-tenant-source-connections", object: oci("proxied", `oci://${t.allowedImage}`, { proxySecretRef: { name: "proxy" } }), admitted: false },
    { title: "a GitRepository of its own repository as a GitHub App (provider: github)", policy: "fleet-tenant-source-connections", object: git("app", t.ownUrl, { provider: "github", secretRef: { name: "app" } }), admitted: false },
    { title: "a GitRepository of its own repository with provider: generic", policy: "fleet-tenant-source-connections", object: git("generic", t.ownUrl, { provider: "generic" }), admitted: true },
    { title: "a GitRepository of its own repository with its submodules (recurseSubmodules)", policy: "fleet-tenant-source-connections", object: git("subs", t.ownUrl, { recurseSubmodules: true }), admitted: false },
    { title: "a Bucket naming an STS endpoint (spec.sts)", policy: "fleet-tenant-source-connections", object: bucket(allowedHost, { provider: "aws", sts: { provider: "aws", endpoint: "https://169.254.169.254" } }), admitted: false, params: { buckets: true } },
    { title: "the tenant writing its GitRepository's status (an artifact URL of its choosing)", policy: "fleet-tenant-flux-controllers-only", object: forgedStatus("http://169.254.169.254/forged.tar.gz"), subresource: "status", admitted: false },
    { title: "source-controller writing the same status", policy: "fleet-tenant-flux-controllers-only", object: forgedStatus("http://169.254.169.254/forged.tar.gz"), subresource: "status", as: serviceAccountUser("flux-system", "source-controller"), admitted: true },
    { title: "an ExternalArtifact the tenant creates (whose status it would write)", policy: "fleet-tenant-flux-controllers-only", object: externalArtifact, admitted: false },
    {
      title: "a notification Provider (posts wherever it or its Secret says)", policy: "fleet-tenant-notifications", admitted: false,
      object: { apiVersion: "notification.toolkit.fluxcd.io/v1beta3", kind: "Provider", metadata: meta("slack", t.namespace), spec: { type: "slack", address: "https://hooks.slack.com/services/x" } },
    },
    {
      title: "a Provider the platform puts into the tenant namespace from the fleet repository (as a flux-system account)", policy: "fleet-tenant-notifications", admitted: true,
      as: serviceAccountUser("flux-system", "kustomize-controller"),
      object: { apiVersion: "notification.toolkit.fluxcd.io/v1beta3", kind: "Provider", metadata: meta("platform", t.namespace), spec: { type: "generic", address: "https://alerts.internal/hook" } },
    },
    {
      title: "a generic Receiver", policy: "fleet-tenant-notifications", admitted: true,
      object: receiver("hook", { type: "generic" }),
    },
    {
      title: "a generic-oidc Receiver (fetches the issuer it names)", policy: "fleet-tenant-notifications", admitted: false,
      object: { ...receiver("oidc", {}), spec: { type: "generic-oidc", oidcProviders: [{ issuerURL: "https://169.254.169.254", validations: [{ expression: "true", message: "any token" }] }], resources: [{ kind: "GitRepository", name: "own" }] } },
      // validations is required, with at least one item (the CRD's schema; the real API server said so).
      newerThanModels: "type generic-oidc and oidcProviders: notification-controller api v1.9.3 v1/receiver_types.go:34,59,170",
    },
    {
      title: "an Alert on its own namespace's objects", policy: "fleet-tenant-same-namespace", admitted: true,
      object: { apiVersion: "notification.toolkit.fluxcd.io/v1beta3", kind: "Alert", metadata: meta("own", t.namespace), spec: { providerRef: { name: "slack" }, eventSources: [{ kind: "Kustomization", name: "*" }] } },
    },
    {
      title: "an Alert on another tenant's objects", policy: "fleet-tenant-same-namespace", admitted: false,
      object: { apiVersion: "notification.toolkit.fluxcd.io/v1beta3", kind: "Alert", metadata: meta("spy", t.namespace), spec: { providerRef: { name: "slack" }, eventSources: [{ kind: "Kustomization", name: "*", namespace: "payments" }] } },
    },
    {
      title: "a Receiver reconciling another tenant's source", policy: "fleet-tenant-same-namespace", admitted: false,
      object: receiver("poke", { type: "generic", resources: [{ kind: "GitRepository", name: "payments", namespace: "payments" }] }),
    },
    { title: "a Kustomization depending on one in its own namespace", policy: "fleet-tenant-same-namespace", object: kustomization("after", { dependsOn: [{ name: "apps" }, { name: "infra", namespace: t.namespace }] }), admitted: true },
    { title: "a Kustomization depending on another tenant's (dependsOn.namespace)", policy: "fleet-tenant-same-namespace", object: kustomization("probe", { dependsOn: [{ name: "payments", namespace: "payments" }] }), admitted: false },
    { title: "a Kustomization with a readyExpr over another tenant's", policy: "fleet-tenant-same-namespace", object: kustomization("probe-cel", { dependsOn: [{ name: "payments", namespace: "payments", readyExpr: "dep.spec.suspend == true" }] }), admitted: false },
    { title: "a Kustomization of another namespace's source (sourceRef.namespace)", policy: "fleet-tenant-same-namespace", object: kustomization("borrow", { sourceRef: { kind: "GitRepository", name: "payments", namespace: "payments" } }), admitted: false },
    { title: "a HelmRelease depending on another tenant's", policy: "fleet-tenant-same-namespace", object: helmRelease("probe", { dependsOn: [{ name: "db", namespace: "payments" }] }), admitted: false },
    { title: "a HelmRelease of another namespace's chart source", policy: "fleet-tenant-same-namespace", object: helmRelease("borrow", {}, { kind: "HelmRepository", name: "charts", namespace: "payments" }), admitted: false },
    { title: "a Kustomization without kubeConfig", policy: "fleet-tenant-no-kubeconfig", object: kustomization("apps"), admitted: true },
    { title: "a Kustomization syncing into another cluster (spec.kubeConfig)", policy: "fleet-tenant-no-kubeconfig", object: kustomization("remote", { kubeConfig: { secretRef: { name: "other-cluster" } } }), admitted: false },
    {
      title: "a HelmRelease with spec.kubeConfig", policy: "fleet-tenant-no-kubeconfig", admitted: false,
      object: {
        apiVersion: "helm.toolkit.fluxcd.io/v2", kind: "HelmRelease", metadata: meta("remote", t.namespace),
        spec: { interval: "5m", chart: { spec: { chart: "app", sourceRef: { kind: "HelmRepository", name: "charts" } } }, kubeConfig: { secretRef: { name: "other-cluster" } } },
      },
    },
    { title: "a Bucket, not allowed", policy: "fleet-tenant-buckets", object: bucket(allowedHost), admitted: false },
    { title: "a Bucket, allowed (buckets: true)", policy: "fleet-tenant-buckets", object: bucket(allowedHost), admitted: true, params: { buckets: true } },
    { title: "a Pod with the namespace's default account", policy: "fleet-tenant-flux-account-pods", object: pod("default-sa", {}), admitted: true },
    { title: "a Pod with its own account", policy: "fleet-tenant-flux-account-pods", object: pod("own-sa", { serviceAccountName: "app" }), admitted: true },
    { title: "a Pod running as the tenant account flux", policy: "fleet-tenant-flux-account-pods", object: pod("as-flux", { serviceAccountName: "flux" }), admitted: false },
    { title: "a Pod naming flux in the deprecated serviceAccount field", policy: "fleet-tenant-flux-account-pods", object: pod("as-flux-old", { serviceAccount: "flux" }), admitted: false },
    { title: "a Pod tolerating a taint by its key", policy: "fleet-tenant-pod-placement", object: pod("tolerant", { tolerations: [{ key: "dedicated", operator: "Equal", value: "team", effect: "NoSchedule" }] }), admitted: true },
    { title: "a Pod with the system-node-critical priority class", policy: "fleet-tenant-pod-placement", object: pod("critical", { priorityClassName: "system-node-critical" }), admitted: false },
    { title: "a Pod with the system-cluster-critical priority class", policy: "fleet-tenant-pod-placement", object: pod("critical-c", { priorityClassName: "system-cluster-critical" }), admitted: false },
    { title: "a Pod naming its node (spec.nodeName)", policy: "fleet-tenant-pod-placement", object: pod("pinned", { nodeName: "control-plane" }), admitted: false },
    { title: "a Pod tolerating every taint", policy: "fleet-tenant-pod-placement", object: pod("any-node", { tolerations: [{ operator: "Exists" }] }), admitted: false },
    { title: "a Pod tolerating the control plane's taint", policy: "fleet-tenant-pod-placement", object: pod("on-control-plane", { tolerations: [{ key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" }] }), admitted: false },
    { title: "a ClusterIP Service", policy: "fleet-tenant-services", object: service("web", {}), admitted: true },
    { title: "a Service with external IPs (CVE-2020-8554)", policy: "fleet-tenant-services", object: service("intercept", { externalIPs: ["10.0.0.10"] }), admitted: false },
    { title: "a LoadBalancer Service, not allowed", policy: "fleet-tenant-services", object: service("public", { type: "LoadBalancer" }), admitted: false },
    { title: "a NodePort Service, not allowed", policy: "fleet-tenant-services", object: service("node-port", { type: "NodePort" }), admitted: false },
    { title: "an ExternalName Service, not allowed", policy: "fleet-tenant-services", object: service("alias", { type: "ExternalName", externalName: "metadata.google.internal" }), admitted: false },
    { title: "a LoadBalancer Service, allowed (serviceTypes: [LoadBalancer])", policy: "fleet-tenant-services", object: service("public", { type: "LoadBalancer" }), admitted: true, params: { serviceTypes: ["LoadBalancer"] } },
    { title: "an ImageUpdateAutomation with a read-only key", policy: "fleet-tenant-image-automation", object: automation, admitted: false },
    { title: "an ImageUpdateAutomation with a writable key", policy: "fleet-tenant-image-automation", object: automation, admitted: true, params: { imageAutomation: true } },
    // Its own key is admitted in the real tier's 4h, where the tenant has one (secrets: sops).
    { title: "a Kustomization decrypting with a cloud KMS as the tenant account (no secretRef)", policy: "fleet-tenant-decryption", object: kustomization("kms", { decryption: { provider: "sops" } }), admitted: true },
    { title: "a Kustomization decrypting with a Secret that is not the tenant's own key", policy: "fleet-tenant-decryption", object: kustomization("borrowed-key", { decryption: { provider: "sops", secretRef: { name: "other-tenant-sops" } } }), admitted: false },
  ];
}
