/**
 * The tenant admission policy pack: one ValidatingAdmissionPolicy per rule
 * (admissionregistration.k8s.io/v1, GA since Kubernetes 1.30), bound with `validationActions:
 * [Deny]` to every tenant namespace by its tenant label (which a tenant cannot edit: namespaces are
 * cluster-scoped). The pack is the same for every tenant and every fleet size: a rule that differs
 * per tenant reads the tenant's values from the namespace of the object it checks
 * (`namespaceObject`), in annotations this program writes on each of the tenant's namespaces
 * (`tenantPolicyAnnotations`; a tenant can no more edit them than the label). A namespace that
 * carries the tenant label without them allows nothing a value would allow: no source, no Bucket,
 * no Service type but ClusterIP, no image automation, no decryption Secret.
 *
 * It was one policy per tenant and per-tenant rule, its values compiled in as CEL literals: five
 * policies and five bindings per tenant, 47% of a 40-tenant stack's state, rewritten by the
 * engine at every step of an `up` (docs/architecture.md, "Real-engine speed").
 * No policy takes a parameter object: kube-apiserver stops watching a `paramKind` of a built-in
 * type such as ConfigMap for good, until it restarts, once no binding names it for a moment (as
 * when the last tenant goes, or a destroy), and then denies every new tenant ("no params found")
 * or, worse, checks against parameters that no longer exist (kubernetes/kubernetes#130887, open;
 * the fix, #141015, is not merged). A namespace is no parameter object: the admission plugin reads
 * it through the namespace matcher every binding's namespaceSelector uses anyway, from its lister,
 * or straight from storage when the cache does not have it yet (k8s.io/apiserver v0.36.3,
 * admission/plugin/policy/validating/dispatcher.go, `GetNamespace`;
 * admission/plugin/webhook/predicates/namespace/matcher.go).
 *
 * The rules (docs/tenancy.md, "Admission policies"), each closing a way out of the tenant's namespaces:
 * - sources: every address a source makes a controller connect to (a GitRepository, OCIRepository
 *   or HelmRepository URL, a Bucket endpoint, an ImageRepository image) is the tenant's own
 *   repository or one its config allows (`sources`), exactly; no proxy, GitHub App address,
 *   submodule or STS endpoint, which no allowlist could check;
 * - only Flux's controllers write a Flux object's status or an ExternalArtifact: kustomize- and
 *   helm-controller download whatever artifact URL a source's status names;
 * - no notification Provider (it posts wherever it or its Secret says) and no generic-oidc Receiver;
 * - no `spec.kubeConfig` on a Kustomization or HelmRelease (syncing into another cluster), and no
 *   `dependsOn` or source reference into another namespace (read with the controller's rights);
 * - no Bucket unless the tenant's config allows it (`buckets: true`);
 * - no Pod running as the tenant account `flux` (its token is what Flux impersonates), with a
 *   system priority class, a fixed node, or tolerating every taint or the control plane's;
 * - no Service with external IPs (CVE-2020-8554), nor of a type the tenant's config does not allow
 *   (`serviceTypes`; ClusterIP always);
 * - no ImageUpdateAutomation unless the tenant's deploy key is writable (`repository.readWrite`);
 * - no Kustomization decrypting with a Secret other than the tenant's own SOPS key (`secrets`).
 *
 * Each rule's CEL is evaluated offline on fixtures (test/policy.spec.ts) and enforced by the
 * rig's real API server (test/real/fleet.spec.ts, 7).
 */
import { FLUX_NAMESPACE, POLICY_ANNOTATION_PREFIX, TENANT_LABEL, TENANT_SERVICE_ACCOUNT } from "../constants";
import { metadata } from "./common";

/** What the policies allow one tenant: its source URLs, Buckets, image automation, Service types, decryption Secrets. */
export interface TenantPolicyParams {
  /** Source URLs the tenant may use, its own repository first; matched exactly. */
  readonly sources: readonly string[];
  readonly buckets: boolean;
  readonly imageAutomation: boolean;
  /** Service types allowed besides ClusterIP (`serviceTypes`). */
  readonly serviceTypes: readonly string[];
  /** Secrets its Kustomizations may decrypt with: `<tenant>-sops`, the name of its key Secret (`secrets`). */
  readonly decryptionSecrets: readonly string[];
}
type TenantValue = keyof TenantPolicyParams;

/**
 * The annotation of a tenant namespace that holds one of the tenant's values, for the policies:
 * `admission.fleet/<value>`. A list is its items joined by single spaces (no item has whitespace:
 * the config's URL pattern and the Service type and Secret name formats exclude it, and
 * `tenantPolicyAnnotations` checks), a flag `true` or `false`.
 */
export const policyAnnotation = (value: TenantValue) => `${POLICY_ANNOTATION_PREFIX}${value}`;

/** What each of a tenant's values is. */
const VALUE_TYPES: { readonly [V in TenantValue]: TenantPolicyParams[V] extends boolean ? "flag" : "list" } = {
  sources: "list", buckets: "flag", imageAutomation: "flag", serviceTypes: "list", decryptionSecrets: "list",
};

/**
 * The annotations every namespace of a tenant carries: each of its values (`policyAnnotation`).
 * A value left out has no annotation, which allows nothing.
 */
export function tenantPolicyAnnotations(params: Partial<TenantPolicyParams>): Record<string, string> {
  return Object.fromEntries((Object.keys(VALUE_TYPES) as TenantValue[]).flatMap((name) => {
    const value = params[name];
    if (value === undefined) return [];
    if (typeof value === "boolean") return [[policyAnnotation(name), String(value)]];
    for (const item of value) if (item === "" || /\s/.test(item)) throw new Error(`admission policy value ${name}: ${JSON.stringify(item)} is empty or has whitespace, which its annotation cannot hold`);
    return [[policyAnnotation(name), value.join(" ")]];
  }));
}

/**
 * A tenant value as the policies read it (`variables.<name>`), from the annotation of the checked
 * object's namespace. A missing annotation reads as an empty list or `false`: it allows nothing.
 */
function valueExpression(name: TenantValue): string {
  const annotations = "namespaceObject.metadata.annotations";
  const present = `has(${annotations}) && '${policyAnnotation(name)}' in ${annotations}`;
  const raw = `${annotations}['${policyAnnotation(name)}']`;
  return VALUE_TYPES[name] === "flag" ? `${present} && ${raw} == 'true'` : `${present} ? ${raw}.split(' ').filter(v, v != '') : []`;
}

/** One check of a rule, with the message the API server answers when it fails. */
interface Validation {
  readonly expression: string;
  readonly message: string;
}

/**
 * A policy's rule: what it matches and what it checks. A rule that differs per tenant reads the
 * tenant's values as `variables.<value>` (`variables.sources`, `variables.buckets`, ...:
 * TenantPolicyParams), from the annotations of the checked object's namespace.
 */
export interface Rule {
  readonly name: string;
  readonly resources: readonly { readonly group: string; readonly resources: readonly string[] }[];
  readonly operations: readonly ("CREATE" | "UPDATE")[];
  /**
   * When the rule applies at all (ValidatingAdmissionPolicy `matchConditions`). @default
   * [SPEC_WRITES]: a create, or an update that changes `spec`.
   */
  readonly matchConditions?: readonly { readonly name: string; readonly expression: string }[];
  readonly validations: readonly Validation[];
}

/**
 * A create, or an update that changes `spec`. An update of metadata alone (a controller lifting
 * its finalizer, the cloud controller's on a LoadBalancer Service, a label) is never refused, so an
 * object that a rule would refuse today (made before the rule, or before its tenant's allowlist
 * shrank) can still be deleted: its finalizers come off and its namespace terminates.
 */
export const SPEC_WRITES = { name: "spec-writes", expression: "request.operation == 'CREATE' || object.spec != oldObject.spec" } as const;

/**
 * A request by one of flux-system's service accounts: Flux's controllers, and the fleet's own
 * Kustomizations. No tenant has rights there, and no tenant object may name those accounts.
 */
const BY_FLUX_SYSTEM = `request.userInfo.username.startsWith('system:serviceaccount:${FLUX_NAMESPACE}:')`;

/** Whoever is not one of flux-system's service accounts. */
const NOT_FLUX_SYSTEM = { name: "not-flux-system", expression: `!${BY_FLUX_SYSTEM}` } as const;


/** Every API group of Flux and the Flux Operator whose objects a tenant namespace may hold. */
export const FLUX_API_GROUPS = [
  "source.toolkit.fluxcd.io",
  "source.extensions.fluxcd.io",
  "kustomize.toolkit.fluxcd.io",
  "helm.toolkit.fluxcd.io",
  "notification.toolkit.fluxcd.io",
  "image.toolkit.fluxcd.io",
  "fluxcd.controlplane.io",
] as const;

/** The sources whose address a tenant chooses: every kind a controller fetches from. */
const SOURCE_RESOURCES = [
  { group: "source.toolkit.fluxcd.io", resources: ["gitrepositories", "ocirepositories", "helmrepositories", "buckets"] },
  { group: "image.toolkit.fluxcd.io", resources: ["imagerepositories"] },
];

/**
 * The address a source makes source-controller (or image-reflector-controller) connect to, in the
 * form the tenant's `sources` list uses: a Bucket's endpoint as `https://<endpoint>`, an
 * ImageRepository's image as `oci://<image>` (the same string an OCIRepository of that image has).
 */
const SOURCE_ADDRESS =
  "object.kind == 'Bucket' ? ((object.spec.endpoint.startsWith('https://') || object.spec.endpoint.startsWith('http://')) ? object.spec.endpoint : 'https://' + object.spec.endpoint) : " +
  "object.kind == 'ImageRepository' ? 'oci://' + object.spec.image : object.spec.url";

/** Reserved taint keys of control-plane nodes (kubeadm, kind): a tenant Pod never tolerates them. */
const CONTROL_PLANE_TAINTS = ["node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"];

/** Whether an optional reference field stays in the request's namespace. */
const sameNamespace = (ref: string) => `(!has(${ref}.namespace) || ${ref}.namespace == request.namespace)`;

/**
 * The rules, by policy name. Expressions use standard CEL (has(), all(), exists() on a map, `in`,
 * startsWith), the admission `request` and `namespaceObject`, and the tenant values' variables
 * cel-go's `split` (the strings extension, which Kubernetes' CEL includes: k8s.io/apiserver
 * v0.36.3, pkg/cel/environment/base.go), so the offline evaluator runs them unchanged.
 */
export const POLICY_RULES: readonly Rule[] = [
  {
    name: "fleet-tenant-sources",
    resources: SOURCE_RESOURCES,
    operations: ["CREATE", "UPDATE"],
    validations: [{
      expression: `(${SOURCE_ADDRESS}) in variables.sources`,
      message: "this tenant may only use its own repository and the sources its config allows (fleet:tenants[].sources; a Bucket's endpoint as https://<endpoint>, an ImageRepository's image as oci://<image>)",
    }],
  },
  {
    name: "fleet-tenant-source-connections",
    resources: SOURCE_RESOURCES,
    operations: ["CREATE", "UPDATE"],
    validations: [
      {
        expression: "!has(object.spec.proxySecretRef)",
        message: "a tenant's source may not name a proxy (spec.proxySecretRef): the controller would connect to the proxy's address, which no allowlist checks",
      },
      {
        expression: "object.kind != 'GitRepository' || !has(object.spec.provider) || object.spec.provider == 'generic'",
        message: "a tenant's GitRepository authenticates with its deploy key (spec.provider generic): a github provider reads its API address from the tenant's Secret (githubAppBaseURL)",
      },
      {
        expression: "object.kind != 'GitRepository' || !has(object.spec.recurseSubmodules) || !object.spec.recurseSubmodules",
        message: "a tenant's GitRepository may not fetch submodules (spec.recurseSubmodules): .gitmodules names addresses no allowlist checks",
      },
      {
        expression: "object.kind != 'Bucket' || !has(object.spec.sts)",
        message: "a tenant's Bucket may not name a security token service (spec.sts): the controller would connect to its endpoint",
      },
      {
        // source-controller v1.9.5: an azure Bucket asks for tokens at its Secret's authorityHost,
        // a gcp one posts to the token_uri of its service-account JSON.
        expression: "object.kind != 'Bucket' || !has(object.spec.provider) || object.spec.provider in ['generic', 'aws']",
        message: "a tenant's Bucket is generic or aws: an azure or gcp Bucket asks for tokens at an address its Secret names",
      },
    ],
  },
  {
    name: "fleet-tenant-flux-controllers-only",
    resources: [
      ...FLUX_API_GROUPS.map((group) => ({ group, resources: ["*/status"] })),
      { group: "source.toolkit.fluxcd.io", resources: ["externalartifacts"] },
      { group: "source.extensions.fluxcd.io", resources: ["artifactgenerators"] },
    ],
    operations: ["CREATE", "UPDATE"],
    // Every write: a status update leaves spec as it is.
    matchConditions: [],
    validations: [{
      // Flux's controllers write statuses and ExternalArtifacts; they run as flux-system accounts.
      expression: BY_FLUX_SYSTEM,
      message: "only Flux's controllers may write a Flux object's status, an ExternalArtifact or an ArtifactGenerator in a tenant namespace: controllers download the artifact URL a status names",
    }],
  },
  {
    name: "fleet-tenant-notifications",
    resources: [{ group: "notification.toolkit.fluxcd.io", resources: ["providers", "receivers"] }],
    operations: ["CREATE", "UPDATE"],
    // The platform may put a Provider into a tenant namespace from the fleet repository (applied
    // as a flux-system account), for the tenant's Alerts: under the lockdown an Alert only sees
    // events of its own namespace. Without a secretRef, which the tenant could rewrite.
    matchConditions: [SPEC_WRITES, NOT_FLUX_SYSTEM],
    validations: [
      {
        // notification-controller v1.9.3 internal/server/event_handlers.go:443-551: the address,
        // the proxy and the headers come from spec or from the Provider's Secret (whose `address`
        // overrides spec.address), so no check of the object can bound where it posts.
        expression: "object.kind != 'Provider'",
        message: "a tenant may not create a notification Provider: notification-controller would post to any address it or its Secret names; the platform provides one from the fleet repository",
      },
      {
        // receiver_oidc.go:51-69: discovery and keys are fetched from the issuer the Receiver names.
        expression: "object.kind != 'Receiver' || !has(object.spec.type) || object.spec.type != 'generic-oidc'",
        message: "a tenant's Receiver may not be of type generic-oidc: notification-controller would fetch the issuer URL it names",
      },
    ],
  },
  {
    name: "fleet-tenant-no-kubeconfig",
    resources: [
      { group: "kustomize.toolkit.fluxcd.io", resources: ["kustomizations"] },
      { group: "helm.toolkit.fluxcd.io", resources: ["helmreleases"] },
    ],
    operations: ["CREATE", "UPDATE"],
    validations: [{ expression: "!has(object.spec.kubeConfig)", message: "a tenant's Kustomization or HelmRelease may not set spec.kubeConfig: it syncs this cluster only" }],
  },
  {
    name: "fleet-tenant-same-namespace",
    resources: [
      { group: "kustomize.toolkit.fluxcd.io", resources: ["kustomizations"] },
      { group: "helm.toolkit.fluxcd.io", resources: ["helmreleases"] },
      { group: "notification.toolkit.fluxcd.io", resources: ["alerts", "receivers"] },
      { group: "image.toolkit.fluxcd.io", resources: ["imageupdateautomations", "imagepolicies"] },
    ],
    operations: ["CREATE", "UPDATE"],
    validations: [
      {
        expression: `!has(object.spec.dependsOn) || object.spec.dependsOn.all(d, ${sameNamespace("d")})`,
        // kustomize-controller v1.9.5 and helm-controller v1.6.4 honour a cross-namespace dependsOn
        // whatever --no-cross-namespace-refs says, and read it with their own client; a readyExpr
        // error even echoes the dependency's field values into the tenant's status.
        message: "a tenant's dependsOn may only name objects in the same namespace: the controller reads a dependency with its own rights, so another namespace's would answer questions about another tenant",
      },
      {
        expression:
          `(!has(object.spec.sourceRef) || ${sameNamespace("object.spec.sourceRef")}) && (!has(object.spec.chartRef) || ${sameNamespace("object.spec.chartRef")}) && ` +
          `(!has(object.spec.chart) || !has(object.spec.chart.spec) || !has(object.spec.chart.spec.sourceRef) || ${sameNamespace("object.spec.chart.spec.sourceRef")}) && ` +
          `(!has(object.spec.imageRepositoryRef) || ${sameNamespace("object.spec.imageRepositoryRef")})`,
        message: "a tenant's sourceRef, chartRef, chart source and imageRepositoryRef may only name objects in the same namespace",
      },
      {
        expression:
          `(object.kind != 'Alert' || !has(object.spec.eventSources) || object.spec.eventSources.all(s, ${sameNamespace("s")})) && ` +
          `(object.kind != 'Receiver' || !has(object.spec.resources) || object.spec.resources.all(s, ${sameNamespace("s")}))`,
        message: "a tenant's Alert and Receiver may only name objects in the same namespace: notification-controller reads them with its own rights",
      },
    ],
  },
  {
    name: "fleet-tenant-buckets",
    resources: [{ group: "source.toolkit.fluxcd.io", resources: ["buckets"] }],
    operations: ["CREATE", "UPDATE"],
    validations: [{ expression: "variables.buckets", message: "Bucket sources are not allowed for this tenant (fleet:tenants[].buckets)" }],
  },
  {
    name: "fleet-tenant-flux-account-pods",
    resources: [{ group: "", resources: ["pods"] }],
    operations: ["CREATE"],
    validations: [{
      expression:
        `(!has(object.spec.serviceAccountName) || object.spec.serviceAccountName != '${TENANT_SERVICE_ACCOUNT}') && ` +
        `(!has(object.spec.serviceAccount) || object.spec.serviceAccount != '${TENANT_SERVICE_ACCOUNT}')`,
      message: `no Pod may run as the tenant account '${TENANT_SERVICE_ACCOUNT}': Flux acts as it; give workloads their own account`,
    }],
  },
  {
    name: "fleet-tenant-pod-placement",
    resources: [{ group: "", resources: ["pods"] }],
    // Tolerations may be added to a running Pod; the scheduler sets nodeName through pods/binding.
    operations: ["CREATE", "UPDATE"],
    validations: [
      {
        expression: "!has(object.spec.priorityClassName) || !object.spec.priorityClassName.startsWith('system-')",
        message: "a tenant Pod may not take a system priority class (system-node-critical, system-cluster-critical): it would preempt other tenants' and the platform's Pods",
      },
      {
        expression: "request.operation != 'CREATE' || !has(object.spec.nodeName) || object.spec.nodeName == ''",
        message: "a tenant Pod may not name its node (spec.nodeName): that skips the scheduler and every taint",
      },
      {
        expression: `!has(object.spec.tolerations) || object.spec.tolerations.all(t, has(t.key) && t.key != '' && !(t.key in ${JSON.stringify(CONTROL_PLANE_TAINTS).replace(/"/g, "'")}))`,
        message: "a tenant Pod may not tolerate every taint (a toleration without a key) or the control plane's",
      },
    ],
  },
  {
    name: "fleet-tenant-services",
    resources: [{ group: "", resources: ["services"] }],
    operations: ["CREATE", "UPDATE"],
    validations: [
      {
        expression: "!has(object.spec.externalIPs) || size(object.spec.externalIPs) == 0",
        message: "a tenant Service may not set spec.externalIPs: it would take that address's traffic cluster-wide (CVE-2020-8554)",
      },
      {
        expression: "!has(object.spec.type) || object.spec.type == 'ClusterIP' || object.spec.type in variables.serviceTypes",
        message: "this Service type is not allowed for this tenant (fleet:tenants[].serviceTypes); ClusterIP always is",
      },
    ],
  },
  {
    name: "fleet-tenant-image-automation",
    resources: [{ group: "image.toolkit.fluxcd.io", resources: ["imageupdateautomations"] }],
    operations: ["CREATE", "UPDATE"],
    validations: [{ expression: "variables.imageAutomation", message: "image automation needs a writable deploy key (fleet:tenants[].repository.readWrite: true)" }],
  },
  {
    // kustomize-controller reads the decryption Secret with its own client, in the Kustomization's
    // namespace (a LocalObjectReference). That namespace is the tenant's, so this is about which of
    // its Secrets: the one named for the key the fleet makes it (`secrets`), whose rotation the
    // fleet drives; no wall between tenants, which secretRef already is. Without secretRef, the
    // tenant account authenticates to a cloud KMS (tenantDefaultDecryptionServiceAccount).
    name: "fleet-tenant-decryption",
    resources: [{ group: "kustomize.toolkit.fluxcd.io", resources: ["kustomizations"] }],
    operations: ["CREATE", "UPDATE"],
    validations: [{
      expression: "!has(object.spec.decryption) || !has(object.spec.decryption.secretRef) || object.spec.decryption.secretRef.name in variables.decryptionSecrets",
      message: "a tenant's Kustomization may only decrypt with the tenant's own SOPS key, the Secret <tenant>-sops that fleet:tenants[].secrets makes",
    }],
  },
];

/** The tenant values a rule reads (`variables.<name>` in its expressions), in order of first use. */
export function ruleVariables(rule: Rule): TenantValue[] {
  const names = rule.validations.flatMap((v) => [...v.expression.matchAll(/\bvariables\.(\w+)/g)].map((m) => m[1]));
  return [...new Set(names)].map((name) => {
    if (!(name in VALUE_TYPES)) throw new Error(`${rule.name}: variables.${name} is no tenant value`);
    return name as TenantValue;
  });
}

/** A rule's policy: the tenant values it reads as `spec.variables`, from the namespace's annotations. */
export function admissionPolicy(rule: Rule) {
  const conditions = rule.matchConditions ?? [SPEC_WRITES];
  const variables = ruleVariables(rule);
  return {
    apiVersion: "admissionregistration.k8s.io/v1" as const,
    kind: "ValidatingAdmissionPolicy" as const,
    metadata: metadata(rule.name),
    spec: {
      failurePolicy: "Fail",
      // Written out with the API server's defaults (k8s.io/kubernetes v1.36.3,
      // pkg/apis/admissionregistration/v1/defaults.go: SetDefaults_MatchResources, SetDefaults_Rule),
      // so the live object is exactly the declared one and drift sees any change.
      matchConstraints: {
        resourceRules: rule.resources.map((r) => ({ apiGroups: [r.group], apiVersions: ["*"], operations: [...rule.operations], resources: [...r.resources], scope: "*" })),
        matchPolicy: "Equivalent",
        namespaceSelector: {},
        objectSelector: {},
      },
      // Left out when empty: the API server stores no empty list, and drift would see one.
      ...(conditions.length ? { matchConditions: conditions.map((c) => ({ ...c })) } : {}),
      ...(variables.length ? { variables: variables.map((name) => ({ name, expression: valueExpression(name) })) } : {}),
      validations: rule.validations.map((v) => ({ expression: v.expression, message: v.message, reason: "Forbidden" })),
    },
  };
}

/** A rule's binding, Deny, of its policy to every tenant namespace. */
export function policyBinding(rule: Rule) {
  return {
    apiVersion: "admissionregistration.k8s.io/v1" as const,
    kind: "ValidatingAdmissionPolicyBinding" as const,
    metadata: metadata(rule.name),
    spec: {
      policyName: rule.name,
      validationActions: ["Deny"],
      matchResources: {
        namespaceSelector: { matchExpressions: [{ key: TENANT_LABEL, operator: "Exists" }] },
        objectSelector: {},
        matchPolicy: "Equivalent",
      },
    },
  };
}
