/**
 * Validates Kubernetes objects against upstream schemas: core and RBAC/networking types from
 * `kubernetes-models`, Flux's toolkit types from `@kubernetes-models/flux-cd`, and the Flux
 * Operator's FluxInstance against its CRD in `../shared/schemas` (read, not copied). An object
 * of a kind with no schema here fails, so nothing passes unchecked.
 */
import * as fs from "fs";
import * as path from "path";
import Ajv from "ajv";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { REPO_ROOT, Registered } from "./harness";

/** A real dynamic import: the model packages are ESM-only, and ts-node would turn `import()` into `require`. */
export const esmImport = new Function("specifier", "return import(specifier)") as (specifier: string) => Promise<any>;

const MODELS: Record<string, readonly [string, string]> = {
  "v1/Namespace": ["kubernetes-models/v1", "Namespace"],
  "v1/Secret": ["kubernetes-models/v1", "Secret"],
  "v1/ServiceAccount": ["kubernetes-models/v1", "ServiceAccount"],
  "v1/ResourceQuota": ["kubernetes-models/v1", "ResourceQuota"],
  "v1/LimitRange": ["kubernetes-models/v1", "LimitRange"],
  "rbac.authorization.k8s.io/v1/RoleBinding": ["kubernetes-models/rbac.authorization.k8s.io/v1", "RoleBinding"],
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": ["kubernetes-models/rbac.authorization.k8s.io/v1", "ClusterRoleBinding"],
  "networking.k8s.io/v1/NetworkPolicy": ["kubernetes-models/networking.k8s.io/v1", "NetworkPolicy"],
  "source.toolkit.fluxcd.io/v1/GitRepository": ["@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1", "GitRepository"],
  "kustomize.toolkit.fluxcd.io/v1/Kustomization": ["@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1", "Kustomization"],
  "v1/ConfigMap": ["kubernetes-models/v1", "ConfigMap"],
  "v1/Pod": ["kubernetes-models/v1", "Pod"],
  "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy": ["kubernetes-models/admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"],
  "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding": ["kubernetes-models/admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"],
  "source.toolkit.fluxcd.io/v1/OCIRepository": ["@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1", "OCIRepository"],
  "source.toolkit.fluxcd.io/v1/HelmRepository": ["@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1", "HelmRepository"],
  "source.toolkit.fluxcd.io/v1/Bucket": ["@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1", "Bucket"],
  "helm.toolkit.fluxcd.io/v2/HelmRelease": ["@kubernetes-models/flux-cd/helm.toolkit.fluxcd.io/v2", "HelmRelease"],
  "image.toolkit.fluxcd.io/v1/ImageUpdateAutomation": ["@kubernetes-models/flux-cd/image.toolkit.fluxcd.io/v1", "ImageUpdateAutomation"],
  "image.toolkit.fluxcd.io/v1/ImageRepository": ["@kubernetes-models/flux-cd/image.toolkit.fluxcd.io/v1", "ImageRepository"],
  "source.toolkit.fluxcd.io/v1/ExternalArtifact": ["@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1", "ExternalArtifact"],
  "v1/Service": ["kubernetes-models/v1", "Service"],
  "notification.toolkit.fluxcd.io/v1beta3/Provider": ["@kubernetes-models/flux-cd/notification.toolkit.fluxcd.io/v1beta3", "Provider"],
  "notification.toolkit.fluxcd.io/v1beta3/Alert": ["@kubernetes-models/flux-cd/notification.toolkit.fluxcd.io/v1beta3", "Alert"],
  "notification.toolkit.fluxcd.io/v1/Receiver": ["@kubernetes-models/flux-cd/notification.toolkit.fluxcd.io/v1", "Receiver"],
};

/**
 * Where the FluxInstance CRD is read from: `$FLUX_INSTANCE_CRD` (CI sets it, and a missing file
 * then fails), else `../shared/schemas/` beside the checkout when present, else undefined.
 */
export function fluxInstanceCrd(): string | undefined {
  if (process.env.FLUX_INSTANCE_CRD) return process.env.FLUX_INSTANCE_CRD;
  const beside = path.resolve(REPO_ROOT, "../shared/schemas/fluxcd.controlplane.io_fluxinstances.yaml");
  return fs.existsSync(beside) ? beside : undefined;
}

let fluxInstanceValidator: ((o: unknown) => string | undefined) | undefined;
/** The FluxInstance CRD's `v1` OpenAPI schema; throws when the CRD is not found. */
export function fluxInstanceSchema(): any {
  const file = fluxInstanceCrd();
  if (!file) throw new Error("FluxInstance CRD not found: set FLUX_INSTANCE_CRD to fluxcd.controlplane.io_fluxinstances.yaml");
  const crd = parseYaml(fs.readFileSync(file, "utf8"));
  return crd.spec.versions.find((v: any) => v.name === "v1").schema.openAPIV3Schema;
}

function validateFluxInstance(object: any): string | undefined {
  if (!fluxInstanceValidator) {
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    const validate = ajv.compile(fluxInstanceSchema());
    fluxInstanceValidator = (o) => (validate(o) ? undefined : ajv.errorsText(validate.errors));
  }
  return fluxInstanceValidator(object);
}

/** Throws when `object` does not validate against its upstream schema (or has none here). */
export async function validateObject(object: any): Promise<void> {
  const id = `${object.apiVersion}/${object.kind}`;
  const label = `${id} ${object.metadata?.namespace ? `${object.metadata.namespace}/` : ""}${object.metadata?.name}`;
  if (id === "fluxcd.controlplane.io/v1/FluxInstance") {
    const error = validateFluxInstance(object);
    if (error) throw new Error(`${label} is invalid: ${error}`);
    return;
  }
  const model = MODELS[id];
  if (!model) throw new Error(`no upstream schema known for ${id}; add it to test/schemas.ts`);
  const module = await esmImport(model[0]);
  try {
    new module[model[1]](object).validate();
  } catch (e) {
    throw new Error(`${label} is invalid: ${(e as Error).message}`, { cause: e });
  }
}

/** The Kubernetes object a registered `kubernetes:*` resource will apply (Helm releases excluded). */
export function kubernetesObjects(resources: readonly Registered[]): any[] {
  return resources
    .filter((r) => r.type.startsWith("kubernetes:") && r.type !== "kubernetes:helm.sh/v3:Release")
    .map((r) => r.inputs);
}

/** Every Kubernetes object in a repository file's YAML documents (kustomize's own files excluded). */
export function objectsInFile(content: string): any[] {
  return parseAllDocuments(content)
    .map((doc) => doc.toJS())
    .filter((o) => o && typeof o === "object" && !String(o.apiVersion).startsWith("kustomize.config.k8s.io/"));
}
