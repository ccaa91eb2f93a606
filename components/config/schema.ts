/**
 * The raw schema of every `fleet:*` key (and `github:owner`): shapes and field rules only, every
 * key optional, unknown keys rejected. No defaults here (`defaults.ts`), no cross-key rules
 * (`rules.ts`).
 */
import { createPrivateKey } from "crypto";
import { z } from "zod";
import { FLUX_COMPONENTS, PROJECT } from "../constants";
import { DEFAULTS } from "./defaults";
import { KEY_ALGORITHMS, POD_SECURITY_LEVELS, SERVICE_TYPES } from "./types";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS_LABEL_HINT =
  "use a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters";
export const dnsLabel = z
  .string()
  .max(63, { error: `is longer than 63 characters; ${DNS_LABEL_HINT}` })
  .regex(DNS_LABEL, { error: (iss) => `${JSON.stringify(iss.input)} is not valid; ${DNS_LABEL_HINT}` });

const GITHUB_OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const GITHUB_REPO = /^[A-Za-z0-9._-]{1,100}$/;
/** A GitHub team slug: the lowercased, hyphenated form of the team name GitHub uses in URLs. */
const GITHUB_TEAM_SLUG = /^[a-z0-9](?:[a-z0-9_-]{0,98}[a-z0-9])?$/;
const teamSlug = z.string().regex(GITHUB_TEAM_SLUG, {
  error: (iss) =>
    `${JSON.stringify(iss.input)} is not a GitHub team slug; use the slug from the team's URL (github.com/orgs/<org>/teams/<slug>): lowercase letters, digits, '-' and '_'`,
});
export const repoName = z.string().regex(GITHUB_REPO, {
  error: (iss) =>
    `${JSON.stringify(iss.input)} is not a valid GitHub repository name; use letters, digits, '.', '_' and '-'`,
});

/** Kubernetes RBAC names may contain ':' (e.g. `system:aggregate-to-edit`). */
const CLUSTER_ROLE = /^[a-z0-9]([-a-z0-9.:]*[a-z0-9])?$/;

/** A Kubernetes resource quantity (`4`, `500m`, `8Gi`, `1e3`). */
const QUANTITY = /^[+]?(\d+(\.\d*)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+)?$/;
const quantity = z
  .union([z.string(), z.number()])
  .transform((v) => String(v))
  .refine((v) => QUANTITY.test(v), {
    error: (iss) =>
      `${JSON.stringify(iss.input)} is not a Kubernetes quantity; write e.g. "4", "500m" or "8Gi"`,
  });

/** Why `branch` is not a valid git branch name (rules of `git check-ref-format --branch`), or undefined. */
export function gitBranchProblem(branch: string): string | undefined {
  if (branch.length === 0) return "is empty";
  if (branch === "@") return "'@' alone is not a branch name";
  if (branch.startsWith("-")) return "must not start with '-'";
  if (branch.startsWith("/") || branch.endsWith("/")) return "must not start or end with '/'";
  if (branch.endsWith(".")) return "must not end with '.'";
  if (branch.includes("//")) return "must not contain '//'";
  if (branch.includes("..")) return "must not contain '..'";
  if (branch.includes("@{")) return "must not contain '@{'";
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(branch)) {
    return "must not contain spaces, control characters or any of ~ ^ : ? * [ \\";
  }
  for (const part of branch.split("/")) {
    if (part.startsWith(".")) return "no '/'-separated part may start with '.'";
    if (part.endsWith(".lock")) return "no '/'-separated part may end with '.lock'";
  }
  return undefined;
}

/** Why `path` is not a safe relative path inside a repository, or undefined. */
export function repoPathProblem(path: string): string | undefined {
  if (path.trim().length === 0) return "is empty";
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path)) {
    return "must be relative to the repository root, not absolute";
  }
  if (path.includes("\\")) return "must use '/' as separator";
  if (path.split("/").includes("..")) return "must not contain '..' (it would leave the repository)";
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(path)) return "must not contain control characters";
  return undefined;
}

const branch = z.string().superRefine((value, ctx) => {
  const problem = gitBranchProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: `${JSON.stringify(value)} is not a valid git branch: ${problem}` });
});

const repoPath = z.string().superRefine((value, ctx) => {
  const problem = repoPathProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: `${JSON.stringify(value)} ${problem}` });
});

// ---------------------------------------------------------------------------------------------
// Raw schema: shapes only, every key optional, unknown keys rejected. No defaults here.
// ---------------------------------------------------------------------------------------------

/**
 * Reference documentation of a key, kept beside its schema and rendered into
 * docs/configuration.md by `npm run docs`. Defaults are read from `DEFAULTS`, never restated.
 */
export interface KeyDoc {
  readonly description: string;
  /** The default, as the reference shows it (from `DEFAULTS`). */
  readonly default?: string;
  /** A value to show, as YAML. */
  readonly example?: unknown;
}

const doc = (meta: KeyDoc) => ({ ...meta }) as Record<string, unknown>;
const show = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));

export const ClusterSchema = z.strictObject({
  type: z.enum(["kind", "kubeconfig"]).optional().meta(doc({
    description: "kind: this stack provisions a kind cluster on the machine running pulumi up; kubeconfig: an existing cluster from the secret fleet:kubeconfig.",
    default: DEFAULTS.clusterType,
  })),
  name: dnsLabel.optional().meta(doc({ description: "kind cluster name (type kind only).", default: DEFAULTS.clusterName("<stack>") })),
  nodeImage: z
    .string()
    .regex(/^[^@\s]+@sha256:[0-9a-f]{64}$/, {
      error: (iss) =>
        `${JSON.stringify(iss.input)} is not pinned by digest; write the image with the @sha256:… digest from the release notes of your kind version (docs/kind.md), e.g. kindest/node:v1.36.1@sha256:3489c767…`,
    })
    .optional()
    .meta(doc({
      description: "kind node image, pinned by digest; it must be one built for your kind release (docs/kind.md). Type kind only.",
      default: "kind's own default image",
      example: "kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5",
    })),
  workers: z.number().int().min(0, { error: "must be 0 or more" }).optional()
    .meta(doc({ description: "Worker nodes besides the one control-plane node (type kind only).", default: show(DEFAULTS.workers) })),
  context: z.string().min(1).optional()
    .meta(doc({ description: "Context of fleet:kubeconfig to use (type kubeconfig only).", default: "the kubeconfig's current-context", example: "prod-admin" })),
});

/** The Flux versions the default operator release's manifests hold (DEFAULTS.embeddedFluxVersions). */
const EMBEDDED = DEFAULTS.embeddedFluxVersions[DEFAULTS.operatorVersion];

export const FluxSchema = z.strictObject({
  version: z
    .string()
    // A number never follows an x (2.x.4 would read differently in the operator's semver library).
    .regex(/^[~^]?\d+(\.x(\.x)?|\.\d+(\.(\d+|x))?)?$/, {
      error: (iss) => `${JSON.stringify(iss.input)} is not a Flux version; write e.g. "2.9.x" or "2.9.2"`,
    })
    .optional()
    .meta(doc({ description: `Flux distribution version the FluxInstance installs, exact or a range; a range picks up patch releases. It must match a version the operator's manifests hold (Flux ${EMBEDDED[0]} to ${EMBEDDED[EMBEDDED.length - 1]} for operator ${DEFAULTS.operatorVersion}), and be 2.7.0 or newer under the multi-tenancy lockdown, or the FluxInstance fails: the preview refuses it.`, default: DEFAULTS.fluxVersion })),
  operatorVersion: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/, {
      error: (iss) =>
        `${JSON.stringify(iss.input)} is not an exact chart version; pin one such as "${DEFAULTS.operatorVersion}"`,
    })
    .optional()
    .meta(doc({ description: "flux-operator Helm chart version, exact.", default: DEFAULTS.operatorVersion })),
  components: z.array(z.enum(FLUX_COMPONENTS)).min(1).optional().meta(doc({
    description: "Flux controllers to install; must include source-controller and kustomize-controller, and image-automation-controller needs a readWrite key.",
    default: DEFAULTS.components.join(", "),
    example: [...DEFAULTS.components, "image-reflector-controller", "image-automation-controller"],
  })),
  multitenant: z.boolean().optional().meta(doc({
    description: "Flux's multi-tenancy lockdown (tenantDefaultServiceAccount flux, no cross-namespace references); false is refused while tenants are listed.",
    default: show(DEFAULTS.multitenant),
  })),
  networkPolicy: z.boolean().optional()
    .meta(doc({ description: "The FluxInstance's network policies in flux-system.", default: show(DEFAULTS.networkPolicy) })),
  admissionPolicies: z.boolean().optional().meta(doc({
    description: "The tenant admission policy pack (ValidatingAdmissionPolicies, Kubernetes 1.30 or newer): each tenant's sources limited to its own repository and its sources, no proxies or status writes, no references into other namespaces, no spec.kubeConfig, no Buckets or image automation unless allowed, no Pod as the tenant account or with a system priority class, no Service with external IPs or an unlisted type (docs/tenancy.md).",
    default: show(DEFAULTS.admissionPolicies),
  })),
  kustomizeEgress: z.strictObject({
    proxy: z.string().regex(/^(http|https|socks5):\/\/[^\s/]+\/?$/, { error: (iss) => `${JSON.stringify(iss.input)} is not a proxy URL; write e.g. "http://proxy.internal:3128"` }).optional()
      .meta(doc({ description: "Egress proxy kustomize-controller's HTTP(S) connections go through.", default: `${DEFAULTS.kustomizeEgressProxy} (closed: nothing is fetched)` })),
    direct: z.array(z.string().regex(/^(\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.?|\[[0-9A-Fa-f:.]+\])(:\d{1,5}|\/\d{1,3})?$/, { error: (iss) => `${JSON.stringify(iss.input)} is not a NO_PROXY entry; write a host, .domain, IP or CIDR (never *, which would let a tenant's files fetch from anywhere)` })).optional()
      .meta(doc({ description: "Hosts kustomize-controller reaches without the proxy (NO_PROXY entries), besides the API server and Flux's services: a remote cluster's API server (spec.kubeConfig), a cloud KMS for SOPS.", default: "none", example: "[vault.internal:8200]" })),
  }).optional().meta(doc({
    description: "kustomize-controller's egress. By default it fetches nothing outside the cluster: a remote resource in a kustomization.yaml (which --no-remote-bases does not stop for plain HTTP files) fails instead of connecting (docs/tenancy.md).",
    default: "closed",
  })),
  web: z.boolean().optional().meta(doc({
    description: "The Flux Operator's status web UI; it has no authentication, so it is off unless asked for (docs/tenancy.md).",
    default: show(DEFAULTS.web),
  })),
  registry: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?(\/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*$/, {
      error: (iss) => `${JSON.stringify(iss.input)} is not an image registry and path; write e.g. "ghcr.io/fluxcd" or "registry.acme.internal:5000/fluxcd"`,
    })
    .optional()
    .meta(doc({ description: "Registry (and path) the Flux controller images are pulled from: a mirror for an air-gapped cluster.", default: DEFAULTS.registry })),
  artifact: z
    .string()
    .regex(/^oci:\/\/[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?(\/[a-z0-9._-]+)+(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127}|@sha256:[0-9a-f]{64})$/, {
      error: (iss) => `${JSON.stringify(iss.input)} is not a pinned OCI artifact; write oci://<registry>/<path>:<tag> or @sha256:<digest>, never without a tag`,
    })
    .refine((v) => !/:latest$/.test(v), { error: "must not be :latest: the controllers would change under a pinned Flux version; pin a tag or a digest" })
    .optional()
    .meta(doc({
      description: "The Flux Operator's manifests artifact the FluxInstance installs Flux from, always pinned (a tag or a digest): a mirror for an air-gapped cluster.",
      default: DEFAULTS.artifact("<operatorVersion>"),
    })),
  chart: z
    .string()
    .min(1)
    .refine((v) => /^oci:\/\/\S+$/.test(v) || !/^[a-z][a-z0-9+.-]*:\/\//i.test(v), {
      error: (iss) => `${JSON.stringify(iss.input)} is neither an oci:// chart URL nor a local chart path`,
    })
    .optional()
    .meta(doc({ description: "The flux-operator Helm chart: an oci:// URL (a mirror) or a local chart path; its version is operatorVersion.", default: DEFAULTS.chart })),
  operator: z.strictObject({
    install: z.boolean().optional().meta(doc({
      description: "true: this stack installs the Flux Operator (Helm chart) into flux-system, which it creates; false: the operator is already installed (OperatorHub, a platform add-on) and flux-system exists: no Helm release and no namespace, the FluxInstance is still applied and awaited.",
      default: show(DEFAULTS.operatorInstall),
    })),
  }).optional().meta(doc({ description: "The Flux Operator itself." })),
  takeOverBootstrap: z.strictObject({
    path: repoPath.meta(doc({ description: "The --path flux bootstrap github was run with.", example: "clusters/production" })),
    branch: branch.optional().meta(doc({ description: "The --branch it was run with.", default: `${DEFAULTS.bootstrapBranch} (flux bootstrap's default)` })),
  }).optional().meta(doc({
    description: "This cluster runs Flux as flux bootstrap github set it up: the FluxInstance takes over bootstrap's controllers and its flux-system sync, the stack's own deploy key goes into the Secret flux-system/flux-fleet (bootstrap's flux-system Secret is left alone), flux-system is not created, and once the FluxInstance is Ready the deploy key bootstrap made for this path is revoked (docs/operations.md). Needs fleet:flux.components set to what bootstrap installed. Keep it in the stack for good: it is what says flux-system and its flux-system Secret are not this stack's.",
    default: "none: Flux is new on this cluster",
    example: { path: "clusters/production" },
  })),
});

/** The seed as `fleet:sopsSeed` holds it: base64 of at least 32 bytes. */
export function decodeSeed(value: string): Buffer | undefined {
  const text = value.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, "base64");
  return bytes.length >= 32 ? bytes : undefined;
}

/** Whether `pem` is an RSA private key (what GitHub makes for an App, and Flux's JWT signing needs). */
function isRsaPrivateKey(pem: string): boolean {
  try {
    return createPrivateKey(pem).asymmetricKeyType === "rsa";
  } catch {
    return false;
  }
}

/** Where a GitHub App's REST API is: https, or plain http only on loopback (a test server). */
const apiUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL such as https://github.example.com/api/v3" })
  .refine((v) => { const u = URL.parse(v); return u === null || u.protocol === "https:" || ["127.0.0.1", "localhost", "[::1]"].includes(u.hostname); }, {
    error: "must be https: over plain http the App's installation token would cross the network in the clear (http is accepted on loopback only, for a test server)",
  });
const appNumber = z.number().int({ error: "must be a whole number" }).min(1, { error: "must be 1 or more" });

export const GitHubAppSchema = z.strictObject({
  appId: appNumber.meta(doc({ description: "The GitHub App's ID (its settings page, \"App ID\").", example: 123456 })),
  installationId: appNumber.meta(doc({
    description: "The ID of the App's installation on github:owner (the number its settings URL ends with): install it on the fleet repository only.",
    example: 7890123,
  })),
  apiUrl: apiUrl.optional().meta(doc({
    description: "GitHub's REST API, for GitHub Enterprise Server (https://<host>/api/v3); the sync URL is https://<host>/<owner>/<repository>.git.",
    default: "https://api.github.com (sync URL https://github.com/<owner>/<repository>.git)",
  })),
});

export const RepositorySchema = z.strictObject({
  name: repoName.optional().meta(doc({ description: "The fleet repository.", default: DEFAULTS.repositoryName })),
  create: z.boolean().optional().meta(doc({
    description: "true: this stack creates and owns the fleet repository (and the tenant template); false: it must exist, and is looked up.",
    default: show(DEFAULTS.repositoryCreate),
  })),
  visibility: z.enum(["private", "internal", "public"]).optional()
    .meta(doc({ description: "Visibility of every repository this stack creates.", default: DEFAULTS.visibility })),
  branch: branch.optional().meta(doc({ description: "Branch Flux reads and the scaffold is committed to.", default: DEFAULTS.branch })),
  path: repoPath.optional().meta(doc({ description: "Path of the fleet repository this cluster syncs.", default: DEFAULTS.fleetPath("<stack>") })),
  keyAlgorithm: z.enum(KEY_ALGORITHMS).optional()
    .meta(doc({ description: "Algorithm of every deploy key this stack makes (fleet and tenants).", default: DEFAULTS.keyAlgorithm })),
  knownHosts: z
    .string()
    .refine((v) => v.split("\n").some((line) => /^\S+\s+(ssh-ed25519|ecdsa-sha2-nistp\d+|ssh-rsa)\s+\S+/.test(line)), {
      error: "must hold known_hosts lines such as 'github.example.com ssh-ed25519 AAAA…'",
    })
    .optional()
    .meta(doc({
      description: "known_hosts for the Git host (GitHub Enterprise).",
      default: "GitHub's published host keys",
      example: "github.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI…\n",
    })),
  sshHost: z
    .string()
    .regex(/^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/, {
      error: (iss) => `${JSON.stringify(iss.input)} is not a host or host:port; write e.g. "github.example.com" or "git.example.com:2222"`,
    })
    .optional()
    .meta(doc({
      description: "Git host, and port, of every Flux sync URL (ssh://git@<sshHost>/<owner>/<repository>.git): GitHub Enterprise, or a test git server. Any other host than github.com needs fleet:repository.knownHosts.",
      default: DEFAULTS.sshHost,
      example: "github.example.com",
    })),
  githubApp: GitHubAppSchema.optional().meta(doc({
    description: "The fleet sync authenticates as this GitHub App (provider: github, its private key in the secret fleet:githubAppPrivateKey) instead of with a deploy key: no fleet deploy key is made for this cluster. Tenants keep their own deploy keys (docs/github.md).",
    default: "none: a read-only deploy key per cluster",
    example: { appId: 123456, installationId: 7890123 },
  })),
  readWrite: z.boolean().optional()
    .meta(doc({ description: "A writable fleet deploy key (image automation pushing to the fleet repository).", default: show(DEFAULTS.readWrite) })),
  team: teamSlug.optional()
    .meta(doc({ description: "GitHub team (slug) given maintain on the fleet repository by the owning stack.", default: "none", example: "platform" })),
  keyGeneration: z.number().int({ error: "must be a whole number" }).min(1, { error: "must be 1 or more" }).optional()
    .meta(doc({ description: "Generation of every deploy key of this stack: bump it to rotate them all, new before old (docs/github.md).", default: show(DEFAULTS.keyGeneration) })),
  tenantTemplate: repoName.optional().meta(doc({
    description: "Template repository created tenant repositories are generated from; created by the stack that creates the fleet repository.",
    default: DEFAULTS.tenantTemplate("<name>"),
  })),
  contentWritesPerHour: z.number().int({ error: "must be a whole number" }).min(1, { error: "must be 1 or more" }).optional()
    .meta(doc({
      description: "GitHub's limit of content-generating requests an hour, which the preview warns an update would pass: 500 on github.com; GitHub Enterprise Server admins may set their own.",
      default: show(DEFAULTS.contentWritesPerHour),
    })),
  templateEnvironments: z.array(dnsLabel).min(1, { error: "must list at least one environment (or leave it out)" })
    .refine((list) => new Set(list).size === list.length, { error: "lists an environment twice" })
    .optional()
    .meta(doc({
      description: "Environments whose flux/<environment>/kustomization.yaml the tenant template holds, besides this stack's own (owning stack only): a tenant repository generated from it already has them, so no stack of those environments writes one. List every environment of the fleet (scripts/stacks.ts checks it).",
      default: "this stack's environment",
      example: ["staging", "production"],
    })),
});

export const TenantRepositorySchema = z.strictObject({
  name: repoName.optional().meta(doc({ description: "The tenant's deployment repository.", default: DEFAULTS.tenantRepository("<tenant>") })),
  create: z.boolean().optional().meta(doc({
    description: "true: this stack creates it, from the tenant template; false: it must exist.",
    default: "the value of fleet:repository.create",
  })),
  readWrite: z.boolean().optional()
    .meta(doc({ description: "A writable deploy key on this repository only (image automation).", default: show(DEFAULTS.readWrite) })),
});

export const QuotaSchema = z
  .strictObject({
    cpu: quantity.optional().meta(doc({ description: "requests.cpu and limits.cpu, per namespace.", example: "4" })),
    memory: quantity.optional().meta(doc({ description: "requests.memory and limits.memory, per namespace.", example: "8Gi" })),
    pods: quantity.optional().meta(doc({ description: "Pods, per namespace.", example: "50" })),
  })
  .refine((q) => q.cpu !== undefined || q.memory !== undefined || q.pods !== undefined, {
    error: "set at least one of cpu, memory, pods (or leave quota out)",
  });

const generation = z.number().int({ error: "must be a whole number" }).min(1, { error: "must be 1 or more" });

/** `secrets`: `sops`, or the object it stands for. */
export const TenantSecretsSchema = z.union([
  z.literal("sops"),
  z.strictObject({
    provider: z.literal("sops").meta(doc({ description: "The only provider: SOPS with age keys." })),
    generations: z.array(generation).min(1, { error: "must list at least one generation (or leave it out)" })
      .refine((g) => g.every((v, i) => i === 0 || v > g[i - 1]), { error: "must be increasing, oldest first: [1, 2] while rotating from 1 to 2" })
      .optional()
      .meta(doc({
        description: "Key generations the tenant's clusters trust, oldest first; files are encrypted to the last. Rotate: [1] → [1, 2] (both trusted; the tenant re-encrypts) → [2].",
        default: "[1]",
        example: [1, 2],
      })),
  }),
], { error: "must be sops, or { provider: sops, generations: [...] }" });

export const TenantSchema = z.strictObject({
  name: dnsLabel.meta(doc({ description: "Tenant name: unique; names its Pulumi resources and, by default, its namespace and repository.", example: "team-a" })),
  namespaces: z.array(dnsLabel).min(1, { error: "must list at least one namespace (or leave it out)" }).optional().meta(doc({
    description: "The tenant's namespaces; its Flux objects live in the first. None may be default, kube-* or flux-system, or another tenant's.",
    default: "[<name>]",
    example: ["payments", "payments-jobs"],
  })),
  targetNamespace: dnsLabel.optional().meta(doc({
    description: "Namespace the tenant's Kustomization puts every namespaced object in; one of namespaces.",
    default: "the namespace of a single-namespace tenant; none for several",
    example: "payments",
  })),
  repository: TenantRepositorySchema.optional().meta(doc({ description: "The tenant's deployment repository (see its keys)." })),
  branch: branch.optional().meta(doc({ description: "Branch of the tenant repository Flux reads.", default: DEFAULTS.branch })),
  path: repoPath.optional().meta(doc({ description: "Path of the tenant repository Flux applies.", default: DEFAULTS.tenantPath("<environment>") })),
  clusterRole: z
    .string()
    .regex(CLUSTER_ROLE, { error: (iss) => `${JSON.stringify(iss.input)} is not a valid ClusterRole name` })
    .optional()
    .meta(doc({ description: "ClusterRole bound to the tenant account in each tenant namespace.", default: DEFAULTS.clusterRole })),
  team: teamSlug.optional()
    .meta(doc({ description: "GitHub team (slug) given push on the tenant's repository by the stack that creates it.", default: "none", example: "team-a-devs" })),
  quota: QuotaSchema.optional().meta(doc({ description: "ResourceQuota hard limits (and a LimitRange with container defaults) in each tenant namespace.", default: "none" })),
  ingressNamespace: dnsLabel.optional()
    .meta(doc({ description: "Namespace whose pods (an ingress controller) may reach the tenant's pods.", default: "none", example: "ingress-nginx" })),
  scaffold: z.boolean().optional()
    .meta(doc({ description: "Commit <path>/kustomization.yaml to the tenant repository when absent. A repository generated from the tenant template has the template's files either way.", default: show(DEFAULTS.tenantScaffold) })),
  podSecurity: z.enum(POD_SECURITY_LEVELS).optional()
    .meta(doc({ description: "Pod Security level enforced in every tenant namespace (warn and audit stay at restricted).", default: DEFAULTS.podSecurity })),
  offboard: z.boolean().optional().meta(doc({
    description: "true: the tenant may be removed; until then its cluster objects are protected and removing it fails at preview (docs/tenancy.md).",
    default: show(DEFAULTS.offboard),
  })),
  sources: z.array(z.string().regex(/^(ssh|https|oci):\/\/[^\s/]+(\/\S*)?$/, { error: (iss) => `${JSON.stringify(iss.input)} is not an ssh://, https:// or oci:// URL` })).optional().meta(doc({
    description: "Source URLs (GitRepository, OCIRepository, HelmRepository) the tenant may use besides its own repository, matched exactly by the admission policy pack.",
    default: "none",
    example: "[https://charts.example.com]",
  })),
  buckets: z.boolean().optional().meta(doc({ description: "Allow the tenant Bucket sources (their endpoint, as https://<endpoint>, must be among its sources too).", default: show(DEFAULTS.tenantBuckets) })),
  serviceTypes: z.array(z.enum(SERVICE_TYPES)).optional().meta(doc({
    description: "Service types the tenant may create besides ClusterIP: NodePort and LoadBalancer open ports on every node or an address outside the cluster, ExternalName points a cluster name anywhere (docs/tenancy.md).",
    default: "none: ClusterIP only",
    example: "[LoadBalancer]",
  })),
  secrets: TenantSecretsSchema.optional().meta(doc({
    description: "SOPS decryption for the tenant: an age key per tenant and environment, derived from the secret fleet:sopsSeed, in the Secret <tenant>-sops of its first namespace; its Kustomization decrypts with it, and <path>/.sops.yaml names its recipient when absent (docs/tenancy.md, \"Secrets\"). sops is { provider: sops, generations: [1] }.",
    default: "none",
    example: "sops",
  })),
  renamedFrom: dnsLabel.optional().meta(doc({
    description: "The tenant's former name, after renaming it: Pulumi moves its resources in state (aliases) instead of replacing them, and its namespaces, repository and Kubernetes objects keep the names they have (from the former name). Keep it set (docs/operations.md).",
    default: "none",
    example: "team-a",
  })),
});

/** Config keys the program reads, as Pulumi names them. */
export const CONFIG_KEYS = {
  owner: "github:owner",
  cluster: `${PROJECT}:cluster`,
  flux: `${PROJECT}:flux`,
  repository: `${PROJECT}:repository`,
  tenants: `${PROJECT}:tenants`,
  kubeconfig: `${PROJECT}:kubeconfig`,
  githubAppPrivateKey: `${PROJECT}:githubAppPrivateKey`,
  sopsSeed: `${PROJECT}:sopsSeed`,
  environment: `${PROJECT}:environment`,
} as const;

export const StackSchema = z.strictObject({
  [CONFIG_KEYS.owner]: z
    .string()
    .regex(GITHUB_OWNER, { error: (iss) => `${JSON.stringify(iss.input)} is not a GitHub organisation or user name` })
    .meta(doc({ description: "GitHub organisation or user that holds the repositories; required. The token comes from GITHUB_TOKEN.", example: "acme-org" })),
  [CONFIG_KEYS.environment]: dnsLabel.optional().meta(doc({
    description: "Environment this stack's cluster belongs to: clusters of one environment share ./flux/<environment> and infrastructure/<environment>; clusters/<stack>, deploy key titles and the kind name stay per stack.",
    default: DEFAULTS.environment("<stack>"),
  })),
  [CONFIG_KEYS.cluster]: ClusterSchema.optional().meta(doc({ description: "The cluster: a kind cluster this stack provisions, or an existing one." })),
  [CONFIG_KEYS.kubeconfig]: z.string().min(1).optional()
    .meta(doc({
      description: "Kubeconfig of an existing cluster (type kubeconfig), set as a secret: pulumi config set --secret fleet:kubeconfig < kubeconfig.yaml.",
      example: { secure: "v1:…" },
    })),
  [CONFIG_KEYS.githubAppPrivateKey]: z.string()
    // Never echo the value: the message is fixed.
    .refine(isRsaPrivateKey, { error: "must be the App's RSA private key as GitHub downloads it (a .pem file, -----BEGIN RSA PRIVATE KEY-----)" })
    .optional()
    .meta(doc({
      description: "Private key of fleet:repository.githubApp, set as a secret: pulumi config set --secret fleet:githubAppPrivateKey < app.private-key.pem.",
      example: { secure: "v1:…" },
    })),
  [CONFIG_KEYS.sopsSeed]: z.string()
    // Never echo the value: the message is fixed.
    .refine((v) => decodeSeed(v) !== undefined, { error: "must be at least 32 random bytes, base64-encoded: openssl rand -base64 32" })
    .optional()
    .meta(doc({
      description: "The environment's seed of its tenants' SOPS age keys (fleet:tenants[].secrets), set as a secret, the same in every stack of the environment: openssl rand -base64 32 | pulumi config set --secret fleet:sopsSeed. Changing it changes every key (docs/tenancy.md, \"Secrets\").",
      default: "none; required when a tenant sets secrets",
      example: { secure: "v1:…" },
    })),
  [CONFIG_KEYS.flux]: FluxSchema.optional().meta(doc({ description: "Flux, installed through the Flux Operator." })),
  [CONFIG_KEYS.repository]: RepositorySchema.optional().meta(doc({ description: "The flux-fleet repository, and what applies to every repository and deploy key of the stack." })),
  [CONFIG_KEYS.tenants]: z.array(TenantSchema).optional().meta(doc({
    description: "The tenants; names, not list positions, identify them.",
    default: "no tenants",
    example: [{ name: "team-a" }, { name: "payments", namespaces: ["payments", "payments-jobs"], team: "payments-devs", quota: { cpu: "4", memory: "8Gi" } }],
  })),
});
