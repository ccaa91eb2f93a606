/**
 * Stack configuration: the schema of every `fleet:*` key (and `github:owner`), its defaults, and
 * the rules that span keys. `parseFleetConfig` is pure: it takes the raw config strings and the
 * stack name, and returns a fully defaulted `FleetConfig` or throws one `ConfigError` listing
 * every problem by key path. Nothing here registers a resource, so a bad config registers nothing.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import {
  FLUX_COMPONENTS,
  FluxComponent,
  PROJECT,
  RESERVED_NAMESPACES,
  RESERVED_NAMESPACE_PREFIX,
} from "./constants";

// ---------------------------------------------------------------------------------------------
// Defaults: the only place a default lives.
// ---------------------------------------------------------------------------------------------

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
  /** The Flux Operator's status web UI: unauthenticated, so off unless asked for. */
  web: false,
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

// ---------------------------------------------------------------------------------------------
// Resolved configuration: what components receive. Every field is set.
// ---------------------------------------------------------------------------------------------

export type Visibility = "private" | "internal" | "public";
export const KEY_ALGORITHMS = ["ed25519", "ecdsa-p256", "ecdsa-p384"] as const;
/** Deploy key algorithms; the tls provider's ECDSA default (P-224) is deliberately not offered. */
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

export interface KindClusterConfig {
  readonly type: "kind";
  /** kind cluster name. @default `fleet-<stack>` */
  readonly name: string;
  /** kind node image, e.g. `kindest/node:v1.35.0`. @default kind's own default image */
  readonly nodeImage?: string;
  /** Worker nodes besides the single control-plane node. @default 0 */
  readonly workers: number;
}

export interface KubeconfigClusterConfig {
  readonly type: "kubeconfig";
  /** Context to use from the kubeconfig in the secret `fleet:kubeconfig`. @default its current-context */
  readonly context?: string;
}

export type ClusterConfig = KindClusterConfig | KubeconfigClusterConfig;

export interface FluxConfig {
  /** Flux distribution version, exact or a range such as `2.9.x`. */
  readonly version: string;
  /** flux-operator Helm chart version, exact. */
  readonly operatorVersion: string;
  readonly components: readonly FluxComponent[];
  readonly multitenant: boolean;
  readonly networkPolicy: boolean;
  /** Turn on the Flux Operator's status web UI (no authentication). @default false */
  readonly web: boolean;
}

export interface RepositoryConfig {
  readonly name: string;
  /** true: this stack creates and owns the repository; false: it must already exist. */
  readonly create: boolean;
  readonly visibility: Visibility;
  readonly branch: string;
  /** Path in the fleet repository this cluster syncs. @default `clusters/<stack>` */
  readonly path: string;
  /** Algorithm of every deploy key this stack makes (fleet and tenants). @default ed25519 */
  readonly keyAlgorithm: KeyAlgorithm;
  /** known_hosts for the Git host; set for GitHub Enterprise. @default GitHub's published host keys */
  readonly knownHosts?: string;
  /** Writable fleet deploy key (image automation pushes to the fleet repository). @default false */
  readonly readWrite: boolean;
  /** GitHub team (slug) given `maintain` on the fleet repository by the owning stack. @default none */
  readonly team?: string;
  /** Generation of every deploy key of this stack: bump it to rotate them all. @default 1 */
  readonly keyGeneration: number;
  /**
   * Template repository every created tenant repository is generated from; created with the
   * seed's layout by the stack that creates the fleet repository. @default `<name>-tenant-template`
   */
  readonly tenantTemplate: string;
}

export interface TenantQuota {
  readonly cpu?: string;
  readonly memory?: string;
  readonly pods?: string;
}

export const POD_SECURITY_LEVELS = ["baseline", "restricted", "privileged"] as const;
/** Pod Security Standards levels (https://kubernetes.io/docs/concepts/security/pod-security-standards/). */
export type PodSecurityLevel = (typeof POD_SECURITY_LEVELS)[number];

export interface TenantRepositoryConfig {
  readonly name: string;
  /** true: this stack creates the repository; false: it must exist. */
  readonly create: boolean;
  /** Writable deploy key on this repository only (image automation). @default false */
  readonly readWrite: boolean;
}

export interface TenantConfig {
  readonly name: string;
  /** The tenant's namespaces; its Flux objects live in the first. @default `[name]` */
  readonly namespaces: readonly string[];
  /**
   * Namespace the tenant's Kustomization puts every namespaced object in (Flux's
   * `spec.targetNamespace`); one of `namespaces`. @default the namespace of a single-namespace tenant
   */
  readonly targetNamespace?: string;
  readonly repository: TenantRepositoryConfig;
  /** GitHub team (slug) given `push` on the tenant's repository by the stack that creates it. @default none */
  readonly team?: string;
  readonly branch: string;
  /** Path in the tenant repository that Flux applies. @default `./flux/<environment>` */
  readonly path: string;
  /** ClusterRole bound in each tenant namespace. @default `admin` */
  readonly clusterRole: string;
  readonly quota?: TenantQuota;
  /** Namespace whose pods (an ingress controller) may reach the tenant's pods. @default none */
  readonly ingressNamespace?: string;
  /** Commit scaffold files to the tenant repository. @default true */
  readonly scaffold: boolean;
  /** Pod Security level enforced in every tenant namespace. @default baseline */
  readonly podSecurity: PodSecurityLevel;
  /** true: the tenant may be removed; false: the engine refuses to delete its data. @default false */
  readonly offboard: boolean;
}

export interface FleetConfig {
  /** The stack name: one cluster (`staging`, `production-eu`, …). */
  readonly stack: string;
  /**
   * The environment the stack's cluster belongs to (`fleet:environment`, default the stack name).
   * Clusters of one environment share `./flux/<environment>` and `infrastructure/<environment>`.
   */
  readonly environment: string;
  /** GitHub organisation or user that holds the repositories (`github:owner`). */
  readonly owner: string;
  readonly cluster: ClusterConfig;
  readonly flux: FluxConfig;
  readonly repository: RepositoryConfig;
  readonly tenants: readonly TenantConfig[];
}

// ---------------------------------------------------------------------------------------------
// Field rules
// ---------------------------------------------------------------------------------------------

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_LABEL_HINT =
  "use a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters";
const dnsLabel = z
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
const repoName = z.string().regex(GITHUB_REPO, {
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

const ClusterSchema = z.strictObject({
  type: z.enum(["kind", "kubeconfig"]).optional(),
  name: dnsLabel.optional(),
  nodeImage: z
    .string()
    .regex(/^[^@\s]+@sha256:[0-9a-f]{64}$/, {
      error: (iss) =>
        `${JSON.stringify(iss.input)} is not pinned by digest; write the image with the @sha256:… digest from the release notes of your kind version (docs/kind.md), e.g. kindest/node:v1.36.1@sha256:3489c767…`,
    })
    .optional(),
  workers: z.number().int().min(0, { error: "must be 0 or more" }).optional(),
  context: z.string().min(1).optional(),
});

const FluxSchema = z.strictObject({
  version: z
    .string()
    .regex(/^[~^]?\d+(\.(\d+|x))?(\.(\d+|x))?$/, {
      error: (iss) => `${JSON.stringify(iss.input)} is not a Flux version; write e.g. "2.9.x" or "2.9.2"`,
    })
    .optional(),
  operatorVersion: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/, {
      error: (iss) =>
        `${JSON.stringify(iss.input)} is not an exact chart version; pin one such as "${DEFAULTS.operatorVersion}"`,
    })
    .optional(),
  components: z.array(z.enum(FLUX_COMPONENTS)).min(1).optional(),
  multitenant: z.boolean().optional(),
  networkPolicy: z.boolean().optional(),
  web: z.boolean().optional(),
});

const RepositorySchema = z.strictObject({
  name: repoName.optional(),
  create: z.boolean().optional(),
  visibility: z.enum(["private", "internal", "public"]).optional(),
  branch: branch.optional(),
  path: repoPath.optional(),
  keyAlgorithm: z.enum(KEY_ALGORITHMS).optional(),
  knownHosts: z
    .string()
    .refine((v) => v.split("\n").some((line) => /^\S+\s+(ssh-ed25519|ecdsa-sha2-nistp\d+|ssh-rsa)\s+\S+/.test(line)), {
      error: "must hold known_hosts lines such as 'github.example.com ssh-ed25519 AAAA…'",
    })
    .optional(),
  readWrite: z.boolean().optional(),
  team: teamSlug.optional(),
  keyGeneration: z.number().int({ error: "must be a whole number" }).min(1, { error: "must be 1 or more" }).optional(),
  tenantTemplate: repoName.optional(),
});

const TenantRepositorySchema = z.strictObject({
  name: repoName.optional(),
  create: z.boolean().optional(),
  readWrite: z.boolean().optional(),
});

const QuotaSchema = z
  .strictObject({ cpu: quantity.optional(), memory: quantity.optional(), pods: quantity.optional() })
  .refine((q) => q.cpu !== undefined || q.memory !== undefined || q.pods !== undefined, {
    error: "set at least one of cpu, memory, pods (or leave quota out)",
  });

const TenantSchema = z.strictObject({
  name: dnsLabel,
  namespaces: z.array(dnsLabel).min(1, { error: "must list at least one namespace (or leave it out)" }).optional(),
  targetNamespace: dnsLabel.optional(),
  repository: TenantRepositorySchema.optional(),
  branch: branch.optional(),
  path: repoPath.optional(),
  clusterRole: z
    .string()
    .regex(CLUSTER_ROLE, { error: (iss) => `${JSON.stringify(iss.input)} is not a valid ClusterRole name` })
    .optional(),
  team: teamSlug.optional(),
  quota: QuotaSchema.optional(),
  ingressNamespace: dnsLabel.optional(),
  scaffold: z.boolean().optional(),
  podSecurity: z.enum(POD_SECURITY_LEVELS).optional(),
  offboard: z.boolean().optional(),
});

/** Config keys the program reads, as Pulumi names them. */
export const CONFIG_KEYS = {
  owner: "github:owner",
  cluster: `${PROJECT}:cluster`,
  flux: `${PROJECT}:flux`,
  repository: `${PROJECT}:repository`,
  tenants: `${PROJECT}:tenants`,
  kubeconfig: `${PROJECT}:kubeconfig`,
  environment: `${PROJECT}:environment`,
} as const;

const StackSchema = z.strictObject({
  [CONFIG_KEYS.owner]: z.string().regex(GITHUB_OWNER, {
    error: (iss) => `${JSON.stringify(iss.input)} is not a GitHub organisation or user name`,
  }),
  [CONFIG_KEYS.cluster]: ClusterSchema.optional(),
  [CONFIG_KEYS.flux]: FluxSchema.optional(),
  [CONFIG_KEYS.repository]: RepositorySchema.optional(),
  [CONFIG_KEYS.tenants]: z.array(TenantSchema).optional(),
  [CONFIG_KEYS.kubeconfig]: z.string().min(1).optional(),
  [CONFIG_KEYS.environment]: dnsLabel.optional(),
});

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/** One error for a whole config: every problem, each prefixed by its key path. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}); ` +
        `nothing was created:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
    this.name = "ConfigError";
  }
}

/** `["fleet:tenants", 1, "namespaces", 0]` → `fleet:tenants[1].namespaces[0]`. */
export function keyPath(path: readonly PropertyKey[]): string {
  return path
    .map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join("");
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  const scored = candidates
    .map((c) => ({ c, d: editDistance(word.toLowerCase(), c.toLowerCase()) }))
    .sort((x, y) => x.d - y.d);
  return scored.length > 0 && scored[0].d <= Math.max(2, Math.floor(word.length / 3)) ? scored[0].c : undefined;
}

/** The keys a strict object schema at `path` allows, for "did you mean" hints. */
const ALLOWED_KEYS: Readonly<Record<string, readonly string[]>> = {
  "": Object.keys(StackSchema.shape),
  [CONFIG_KEYS.cluster]: Object.keys(ClusterSchema.shape),
  [CONFIG_KEYS.flux]: Object.keys(FluxSchema.shape),
  [CONFIG_KEYS.repository]: Object.keys(RepositorySchema.shape),
  tenant: Object.keys(TenantSchema.shape),
  "tenant.repository": Object.keys(TenantRepositorySchema.shape),
  "tenant.quota": Object.keys(QuotaSchema.shape),
};

function allowedKeys(path: readonly PropertyKey[]): readonly string[] {
  if (path.length === 0) return ALLOWED_KEYS[""];
  if (path[0] === CONFIG_KEYS.tenants) {
    const rest = path.slice(2).filter((p) => typeof p === "string");
    return ALLOWED_KEYS[["tenant", ...rest].join(".")] ?? [];
  }
  return ALLOWED_KEYS[String(path[0])] ?? [];
}

const REQUIRED_HINTS: Record<string, string> = {
  [CONFIG_KEYS.owner]:
    "set it to the GitHub organisation or user that holds the repositories: pulumi config set github:owner acme-org",
};

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : `${typeof value} ${JSON.stringify(value)}`;
}

/** How an expected type reads in an error. */
const EXPECTED: Readonly<Record<string, string>> = { array: "a list", int: "a whole number (integer)", object: "an object" };

/** Turns zod issues into `key.path: message` lines that say what would be valid. */
function formatIssues(issues: readonly z.core.$ZodIssue[], raw: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const issue of issues) {
    const where = keyPath(issue.path);
    if (issue.code === "unrecognized_keys") {
      const allowed = allowedKeys(issue.path);
      for (const key of issue.keys) {
        const full = issue.path.length === 0 ? key : `${where}.${key}`;
        const hint = closest(key, allowed);
        problems.push(
          `${full}: unknown key${hint ? `; did you mean '${hint}'?` : ""} Allowed keys: ${allowed.join(", ")}`,
        );
      }
      continue;
    }
    if (issue.code === "invalid_type") {
      const actual = issue.path.reduce<unknown>(
        (v, k) => (v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined),
        raw,
      );
      problems.push(
        actual === undefined
          ? `${where}: is required${REQUIRED_HINTS[where] ? `; ${REQUIRED_HINTS[where]}` : ""}`
          : `${where}: expected ${EXPECTED[issue.expected] ?? `a ${issue.expected}`}, got ${describe(actual)}`,
      );
      continue;
    }
    if (issue.code === "invalid_value") {
      problems.push(`${where}: must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`);
      continue;
    }
    problems.push(`${where}: ${issue.message}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Parse, default, check
// ---------------------------------------------------------------------------------------------

/** The raw stack config: `key → string` as Pulumi stores it (objects and lists as JSON). */
export interface RawStackConfig {
  /** The stack name. */
  readonly stack: string;
  /** Every `fleet:*` key, plus `github:owner`. Other namespaces belong to providers. */
  readonly values: Readonly<Record<string, string>>;
}

const STRUCTURED_KEYS: readonly string[] = [
  CONFIG_KEYS.cluster,
  CONFIG_KEYS.flux,
  CONFIG_KEYS.repository,
  CONFIG_KEYS.tenants,
];

function decodeValues(values: Readonly<Record<string, string>>, problems: string[]): Record<string, unknown> {
  const decoded: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    if (!STRUCTURED_KEYS.includes(key)) {
      decoded[key] = value;
      continue;
    }
    try {
      decoded[key] = JSON.parse(value);
    } catch {
      const expected = key === CONFIG_KEYS.tenants ? "a list" : "an object";
      problems.push(`${key}: expected ${expected}, got the string ${JSON.stringify(value)}; write it as YAML in Pulumi.<stack>.yaml`);
    }
  }
  return decoded;
}

type RawCluster = z.infer<typeof ClusterSchema>;
type RawFlux = z.infer<typeof FluxSchema>;
type RawRepository = z.infer<typeof RepositorySchema>;
type RawTenant = z.infer<typeof TenantSchema>;

function clusterWithDefaults(c: RawCluster, stack: string): ClusterConfig {
  return (c.type ?? DEFAULTS.clusterType) === "kind"
    ? {
        type: "kind",
        name: c.name ?? DEFAULTS.clusterName(stack),
        ...(c.nodeImage !== undefined ? { nodeImage: c.nodeImage } : {}),
        workers: c.workers ?? DEFAULTS.workers,
      }
    : { type: "kubeconfig", ...(c.context !== undefined ? { context: c.context } : {}) };
}

function fluxWithDefaults(f: RawFlux): FluxConfig {
  return {
    version: f.version ?? DEFAULTS.fluxVersion,
    operatorVersion: f.operatorVersion ?? DEFAULTS.operatorVersion,
    components: f.components ?? DEFAULTS.components,
    multitenant: f.multitenant ?? DEFAULTS.multitenant,
    networkPolicy: f.networkPolicy ?? DEFAULTS.networkPolicy,
    web: f.web ?? DEFAULTS.web,
  };
}

function repositoryWithDefaults(r: RawRepository, stack: string): RepositoryConfig {
  return {
    name: r.name ?? DEFAULTS.repositoryName,
    create: r.create ?? DEFAULTS.repositoryCreate,
    visibility: r.visibility ?? DEFAULTS.visibility,
    branch: r.branch ?? DEFAULTS.branch,
    path: r.path ?? DEFAULTS.fleetPath(stack),
    keyAlgorithm: r.keyAlgorithm ?? DEFAULTS.keyAlgorithm,
    readWrite: r.readWrite ?? DEFAULTS.readWrite,
    ...(r.team !== undefined ? { team: r.team } : {}),
    keyGeneration: r.keyGeneration ?? DEFAULTS.keyGeneration,
    tenantTemplate: r.tenantTemplate ?? DEFAULTS.tenantTemplate(r.name ?? DEFAULTS.repositoryName),
    ...(r.knownHosts !== undefined ? { knownHosts: r.knownHosts.endsWith("\n") ? r.knownHosts : `${r.knownHosts}\n` } : {}),
  };
}

function tenantWithDefaults(t: RawTenant, environment: string, createRepositories: boolean): TenantConfig {
  const namespaces = t.namespaces ?? [t.name];
  const targetNamespace = t.targetNamespace ?? DEFAULTS.targetNamespace(namespaces);
  return {
    name: t.name,
    namespaces,
    ...(targetNamespace !== undefined ? { targetNamespace } : {}),
    repository: {
      name: t.repository?.name ?? DEFAULTS.tenantRepository(t.name),
      create: t.repository?.create ?? createRepositories,
      readWrite: t.repository?.readWrite ?? DEFAULTS.readWrite,
    },
    ...(t.team !== undefined ? { team: t.team } : {}),
    branch: t.branch ?? DEFAULTS.branch,
    path: t.path ?? DEFAULTS.tenantPath(environment),
    clusterRole: t.clusterRole ?? DEFAULTS.clusterRole,
    ...(t.quota !== undefined ? { quota: t.quota } : {}),
    ...(t.ingressNamespace !== undefined ? { ingressNamespace: t.ingressNamespace } : {}),
    scaffold: t.scaffold ?? DEFAULTS.tenantScaffold,
    podSecurity: t.podSecurity ?? DEFAULTS.podSecurity,
    offboard: t.offboard ?? DEFAULTS.offboard,
  };
}

function isReserved(namespace: string): boolean {
  return RESERVED_NAMESPACES.includes(namespace) || namespace.startsWith(RESERVED_NAMESPACE_PREFIX);
}

function clusterProblems(cluster: ClusterConfig, raw: RawCluster, kubeconfigSet: boolean): string[] {
  const problems: string[] = [];
  const at = CONFIG_KEYS.cluster;
  if (cluster.type === "kind") {
    if (raw.context !== undefined) {
      problems.push(`${at}.context: only applies to type kubeconfig; remove it or set type: kubeconfig`);
    }
    if (kubeconfigSet) {
      problems.push(
        `${CONFIG_KEYS.kubeconfig}: is set but ${at}.type is kind; set type: kubeconfig to use it, or remove it (pulumi config rm ${CONFIG_KEYS.kubeconfig})`,
      );
    }
    if (raw.name === undefined && !dnsLabel.safeParse(cluster.name).success) {
      problems.push(
        `${at}.name: the default ${JSON.stringify(cluster.name)} (from the stack name) is not valid; set ${at}.name, and ${DNS_LABEL_HINT}`,
      );
    }
  } else {
    for (const key of ["name", "nodeImage", "workers"] as const) {
      if (raw[key] !== undefined) problems.push(`${at}.${key}: only applies to type kind; remove it for type kubeconfig`);
    }
    if (!kubeconfigSet) {
      problems.push(
        `${CONFIG_KEYS.kubeconfig}: is required when ${at}.type is kubeconfig; set it with: pulumi config set --secret ${CONFIG_KEYS.kubeconfig} < ~/.kube/config`,
      );
    }
  }
  return problems;
}

function fluxProblems(flux: FluxConfig): string[] {
  const problems: string[] = [];
  for (const required of ["source-controller", "kustomize-controller"] as const) {
    if (!flux.components.includes(required)) {
      problems.push(`${CONFIG_KEYS.flux}.components: must include ${required}; Flux needs it to sync the fleet repository`);
    }
  }
  const seen = new Set<string>();
  for (const component of flux.components) {
    if (seen.has(component)) problems.push(`${CONFIG_KEYS.flux}.components: lists ${component} twice`);
    seen.add(component);
  }
  return problems;
}

/**
 * Rules that keep tenants inside their namespaces: Flux's multi-tenancy lockdown must be on when
 * there are tenants, and image automation needs a key it can push with.
 */
function tenancyProblems(flux: FluxConfig, repository: RepositoryConfig | undefined, tenants: readonly TenantConfig[]): string[] {
  const problems: string[] = [];
  const at = CONFIG_KEYS.flux;
  if (!flux.multitenant && tenants.length > 0) {
    problems.push(
      `${at}.multitenant: is false while ${CONFIG_KEYS.tenants} lists tenants; without the lockdown a tenant's nested ` +
        `Kustomization or HelmRelease runs with the controllers' cluster-admin rights. Set it to true (the default)`,
    );
  }
  const writable = (repository?.readWrite ?? false) || tenants.some((t) => t.repository.readWrite);
  if (flux.components.includes("image-automation-controller") && !writable) {
    problems.push(
      `${at}.components: lists image-automation-controller, but every deploy key is read-only, so it could never push; ` +
        `set ${CONFIG_KEYS.repository}.readWrite: true or a tenant's repository.readWrite: true, or remove it`,
    );
  }
  return problems;
}

interface IndexedTenant {
  readonly index: number;
  readonly raw: RawTenant;
  readonly tenant: TenantConfig;
}

function tenantProblems(tenants: readonly IndexedTenant[], fleet: RepositoryConfig | undefined): string[] {
  const problems: string[] = [];
  const tenantByName = new Map<string, number>();
  const namespaceOwner = new Map<string, string>();
  const repositoryOwner = new Map<string, string>();
  if (fleet !== undefined) {
    repositoryOwner.set(fleet.name.toLowerCase(), "the fleet repository");
    repositoryOwner.set(fleet.tenantTemplate.toLowerCase(), "the tenant template repository");
  }
  for (const { index, raw, tenant } of tenants) {
    const at = `${CONFIG_KEYS.tenants}[${index}]`;
    const first = tenantByName.get(tenant.name);
    if (first !== undefined) {
      problems.push(
        `${at}.name: ${JSON.stringify(tenant.name)} is already used by ${CONFIG_KEYS.tenants}[${first}]; tenant names must be unique`,
      );
    } else {
      tenantByName.set(tenant.name, index);
    }
    const defaulted = raw.namespaces === undefined;
    tenant.namespaces.forEach((ns, j) => {
      const nsAt = defaulted ? `${at}.name` : `${at}.namespaces[${j}]`;
      const via = defaulted ? " (a tenant's namespace defaults to its name; set namespaces to choose others)" : "";
      if (isReserved(ns)) {
        problems.push(
          `${nsAt}: namespace ${JSON.stringify(ns)} is reserved for Kubernetes or Flux (default, kube-*, flux-system)${via}`,
        );
        return;
      }
      const owner = namespaceOwner.get(ns);
      if (owner !== undefined) {
        problems.push(`${nsAt}: namespace ${JSON.stringify(ns)} is already claimed by ${owner}; each namespace belongs to one tenant`);
      } else {
        namespaceOwner.set(ns, `tenant ${JSON.stringify(tenant.name)}`);
      }
    });
    if (tenant.targetNamespace !== undefined && !tenant.namespaces.includes(tenant.targetNamespace)) {
      problems.push(
        `${at}.targetNamespace: ${JSON.stringify(tenant.targetNamespace)} is not one of the tenant's namespaces ` +
          `(${tenant.namespaces.join(", ")}); set it to one of them, or leave it out`,
      );
    }
    const repoOwner = repositoryOwner.get(tenant.repository.name.toLowerCase());
    if (repoOwner !== undefined) {
      problems.push(
        `${at}.repository.name: ${JSON.stringify(tenant.repository.name)} is already used by ${repoOwner}; each tenant needs its own deployment repository`,
      );
    } else {
      repositoryOwner.set(tenant.repository.name.toLowerCase(), `tenant ${JSON.stringify(tenant.name)}`);
    }
    if (raw.repository?.name === undefined && !repoName.safeParse(tenant.repository.name).success) {
      problems.push(`${at}.repository.name: the default ${JSON.stringify(tenant.repository.name)} is not valid; set it`);
    }
  }
  return problems;
}

function startsWith(path: readonly PropertyKey[], prefix: readonly PropertyKey[]): boolean {
  return prefix.every((p, i) => path[i] === p);
}

/**
 * Validates and defaults a stack's configuration. Pure: no Pulumi calls, input untouched.
 * Sections that are valid on their own are still checked against each other when another
 * section is broken, so one run reports every problem.
 * @throws ConfigError listing every problem, each with its key path.
 */
export function parseFleetConfig(input: RawStackConfig): FleetConfig {
  const { stack } = input;
  const problems: string[] = [];
  const decoded = decodeValues(input.values, problems);
  const result = StackSchema.safeParse(decoded);
  const issues = result.success ? [] : result.error.issues;
  problems.push(...formatIssues(issues, decoded));

  /** A section's parsed value when it has no issue of its own, else undefined. */
  const section = <S extends z.ZodType>(path: readonly PropertyKey[], schema: S, value: unknown) =>
    issues.some((issue) => startsWith(issue.path, path)) ? undefined : (schema.parse(value) as z.output<S>);

  const rawCluster = section([CONFIG_KEYS.cluster], ClusterSchema, decoded[CONFIG_KEYS.cluster] ?? {});
  const rawFlux = section([CONFIG_KEYS.flux], FluxSchema, decoded[CONFIG_KEYS.flux] ?? {});
  const rawRepository = section([CONFIG_KEYS.repository], RepositorySchema, decoded[CONFIG_KEYS.repository] ?? {});
  const cluster = rawCluster && clusterWithDefaults(rawCluster, stack);
  const flux = rawFlux && fluxWithDefaults(rawFlux);
  const repository = rawRepository && repositoryWithDefaults(rawRepository, stack);

  const environment = (decoded[CONFIG_KEYS.environment] as string | undefined) ?? DEFAULTS.environment(stack);
  if (decoded[CONFIG_KEYS.environment] === undefined && !dnsLabel.safeParse(environment).success) {
    problems.push(
      `${CONFIG_KEYS.environment}: the default ${JSON.stringify(environment)} (the stack name) is not a valid environment name; set ${CONFIG_KEYS.environment}, and ${DNS_LABEL_HINT}`,
    );
  }

  const tenantList = decoded[CONFIG_KEYS.tenants];
  const tenants: IndexedTenant[] = (Array.isArray(tenantList) ? tenantList : []).flatMap((value: unknown, index) => {
    const raw = section([CONFIG_KEYS.tenants, index], TenantSchema, value);
    return raw
      ? [{ index, raw, tenant: tenantWithDefaults(raw, environment, repository?.create ?? DEFAULTS.repositoryCreate) }]
      : [];
  });

  if (cluster && rawCluster) {
    problems.push(...clusterProblems(cluster, rawCluster, decoded[CONFIG_KEYS.kubeconfig] !== undefined));
  }
  if (flux) problems.push(...fluxProblems(flux), ...tenancyProblems(flux, repository, tenants.map((t) => t.tenant)));
  if (repository && repository.tenantTemplate.toLowerCase() === repository.name.toLowerCase()) {
    problems.push(`${CONFIG_KEYS.repository}.tenantTemplate: must differ from the fleet repository's name ${JSON.stringify(repository.name)}`);
  }
  if (rawRepository?.path === undefined && repository && repoPathProblem(repository.path)) {
    problems.push(`${CONFIG_KEYS.repository}.path: the default ${JSON.stringify(repository.path)} is not valid; set it`);
  }
  problems.push(...tenantProblems(tenants, repository));

  if (problems.length > 0 || !result.success || !cluster || !flux || !repository) throw new ConfigError(problems);
  return {
    stack,
    environment,
    owner: result.data[CONFIG_KEYS.owner],
    cluster,
    flux,
    repository,
    tenants: tenants.map((t) => t.tenant),
  };
}

/** The keys this program owns (`fleet:*` and `github:owner`); other namespaces belong to providers. */
export function programKeys<T>(all: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(
    Object.entries(all).filter(([key]) => key.startsWith(`${PROJECT}:`) || key === CONFIG_KEYS.owner),
  );
}

/** What `loadStackConfig` reads from the running Pulumi stack. */
export interface StackConfig {
  readonly config: FleetConfig;
  /** The secret `fleet:kubeconfig`, for `cluster.type: kubeconfig`. */
  readonly kubeconfig?: pulumi.Output<string>;
}

/** Reads this stack's config from the Pulumi runtime and validates it before anything is registered. */
export function loadStackConfig(): StackConfig {
  const values = programKeys(pulumi.runtime.allConfig());
  const config = parseFleetConfig({ stack: pulumi.getStack(), values });
  const kubeconfig =
    config.cluster.type === "kubeconfig" ? new pulumi.Config(PROJECT).requireSecret("kubeconfig") : undefined;
  return kubeconfig ? { config, kubeconfig } : { config };
}
