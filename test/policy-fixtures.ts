/**
 * Objects a tenant might apply, each with the admission policy pack's verdict, for one tenant.
 * Shared by the offline CEL tests (test/policy.spec.ts) and the real tier, which applies them as
 * the tenant with `kubectl apply --dry-run=server` (test/real/fleet.spec.ts, 7).
 */

export interface PolicyFixture {
  /** What it shows. */
  readonly title: string;
  /** The policy whose rule decides it (components/manifests/policy.ts). */
  readonly policy: string;
  readonly object: Record<string, any>;
  readonly admitted: boolean;
  /** Parameters that differ from the tenant's defaults (buckets, image automation allowed). */
  readonly params?: Readonly<Record<string, string>>;
  /** Kinds the rig does not serve (no helm- or image-automation-controller CRDs): offline only. */
  readonly offlineOnly?: boolean;
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
}

const meta = (name: string, namespace: string) => ({ name, namespace });

export function policyFixtures(t: FixtureTenant): PolicyFixture[] {
  const git = (name: string, url: string) => ({
    apiVersion: "source.toolkit.fluxcd.io/v1", kind: "GitRepository", metadata: meta(name, t.namespace),
    spec: { interval: "5m", url, ref: { branch: "main" } },
  });
  const kustomization = (name: string, extra: object = {}) => ({
    apiVersion: "kustomize.toolkit.fluxcd.io/v1", kind: "Kustomization", metadata: meta(name, t.namespace),
    spec: { interval: "5m", path: "./", prune: true, sourceRef: { kind: "GitRepository", name: "own" }, ...extra },
  });
  const pod = (name: string, spec: object) => ({
    apiVersion: "v1", kind: "Pod", metadata: meta(name, t.namespace),
    spec: { containers: [{ name: "app", image: "registry.example.com/app:1" }], ...spec },
  });
  const bucket = {
    apiVersion: "source.toolkit.fluxcd.io/v1", kind: "Bucket", metadata: meta("data", t.namespace),
    spec: { interval: "5m", bucketName: "data", endpoint: "s3.example.com" },
  };
  const automation = {
    apiVersion: "image.toolkit.fluxcd.io/v1", kind: "ImageUpdateAutomation", metadata: meta("bump", t.namespace),
    spec: {
      interval: "5m", sourceRef: { kind: "GitRepository", name: "own" },
      git: { commit: { author: { name: "flux", email: "flux@example.com" } } }, update: { strategy: "Setters" },
    },
  };
  return [
    { title: "a GitRepository of its own repository", policy: "fleet-tenant-sources", object: git("own", t.ownUrl), admitted: true },
    { title: "a GitRepository of another tenant's repository", policy: "fleet-tenant-sources", object: git("theirs", t.otherUrl), admitted: false },
    { title: "a GitRepository whose URL only starts with its own", policy: "fleet-tenant-sources", object: git("longer", t.ownUrl.replace(/\.git$/, "-evil.git")), admitted: false },
    {
      title: "a HelmRepository its config allows", policy: "fleet-tenant-sources", admitted: true,
      object: { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "HelmRepository", metadata: meta("charts", t.namespace), spec: { interval: "1h", url: t.allowedUrl } },
    },
    {
      title: "an OCIRepository of an unlisted registry", policy: "fleet-tenant-sources", admitted: false,
      object: { apiVersion: "source.toolkit.fluxcd.io/v1", kind: "OCIRepository", metadata: meta("oci", t.namespace), spec: { interval: "1h", url: "oci://ghcr.io/someone/manifests", ref: { tag: "latest" } } },
    },
    { title: "a Kustomization without kubeConfig", policy: "fleet-tenant-no-kubeconfig", object: kustomization("apps"), admitted: true },
    { title: "a Kustomization syncing into another cluster (spec.kubeConfig)", policy: "fleet-tenant-no-kubeconfig", object: kustomization("remote", { kubeConfig: { secretRef: { name: "other-cluster" } } }), admitted: false },
    {
      title: "a HelmRelease with spec.kubeConfig", policy: "fleet-tenant-no-kubeconfig", admitted: false, offlineOnly: true,
      object: {
        apiVersion: "helm.toolkit.fluxcd.io/v2", kind: "HelmRelease", metadata: meta("remote", t.namespace),
        spec: { interval: "5m", chart: { spec: { chart: "app", sourceRef: { kind: "HelmRepository", name: "charts" } } }, kubeConfig: { secretRef: { name: "other-cluster" } } },
      },
    },
    { title: "a Bucket, not allowed", policy: "fleet-tenant-buckets", object: bucket, admitted: false },
    { title: "a Bucket, allowed (buckets: true)", policy: "fleet-tenant-buckets", object: bucket, admitted: true, params: { buckets: "true" }, offlineOnly: true },
    { title: "a Pod with the namespace's default account", policy: "fleet-tenant-flux-account-pods", object: pod("default-sa", {}), admitted: true },
    { title: "a Pod with its own account", policy: "fleet-tenant-flux-account-pods", object: pod("own-sa", { serviceAccountName: "app" }), admitted: true },
    { title: "a Pod running as the tenant account flux", policy: "fleet-tenant-flux-account-pods", object: pod("as-flux", { serviceAccountName: "flux" }), admitted: false },
    { title: "a Pod naming flux in the deprecated serviceAccount field", policy: "fleet-tenant-flux-account-pods", object: pod("as-flux-old", { serviceAccount: "flux" }), admitted: false },
    { title: "an ImageUpdateAutomation with a read-only key", policy: "fleet-tenant-image-automation", object: automation, admitted: false, offlineOnly: true },
    { title: "an ImageUpdateAutomation with a writable key", policy: "fleet-tenant-image-automation", object: automation, admitted: true, params: { imageAutomation: "true" }, offlineOnly: true },
  ];
}
