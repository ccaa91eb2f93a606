/**
 * The raw schema of every `fleet:*` key (and `github:owner`): shapes and field rules only, every
 * key optional, unknown keys rejected. No defaults here (`defaults.ts`), no cross-key rules
 * (`rules.ts`).
 */
import { z } from "zod";
import { FLUX_COMPONENTS, PROJECT } from "../constants";
import { DEFAULTS } from "./defaults";
import { KEY_ALGORITHMS, POD_SECURITY_LEVELS } from "./types";

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

export const ClusterSchema = z.strictObject({
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

export const FluxSchema = z.strictObject({
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

export const RepositorySchema = z.strictObject({
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

export const TenantRepositorySchema = z.strictObject({
  name: repoName.optional(),
  create: z.boolean().optional(),
  readWrite: z.boolean().optional(),
});

export const QuotaSchema = z
  .strictObject({ cpu: quantity.optional(), memory: quantity.optional(), pods: quantity.optional() })
  .refine((q) => q.cpu !== undefined || q.memory !== undefined || q.pods !== undefined, {
    error: "set at least one of cpu, memory, pods (or leave quota out)",
  });

export const TenantSchema = z.strictObject({
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

export const StackSchema = z.strictObject({
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

