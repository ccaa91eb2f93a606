/**
 * Errors: one `ConfigError` for a whole config, and the formatting of zod's issues into
 * `key.path: message` lines with "did you mean" hints.
 */
import { z } from "zod";
import { CONFIG_KEYS, ClusterSchema, FluxSchema, GitHubAppSchema, QuotaSchema, RepositorySchema, StackSchema, TenantRepositorySchema, TenantSchema } from "./schema";


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
  [`${CONFIG_KEYS.repository}.githubApp`]: Object.keys(GitHubAppSchema.shape),
  [`${CONFIG_KEYS.flux}.operator`]: Object.keys(FluxSchema.shape.operator.unwrap().shape),
  [`${CONFIG_KEYS.flux}.takeOverBootstrap`]: Object.keys(FluxSchema.shape.takeOverBootstrap.unwrap().shape),
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
  return ALLOWED_KEYS[path.filter((p) => typeof p === "string").join(".")] ?? ALLOWED_KEYS[String(path[0])] ?? [];
}

const REQUIRED_HINTS: Record<string, string> = {
  [CONFIG_KEYS.owner]:
    "set it to the GitHub organisation or user that holds the repositories: pulumi config set github:owner acme-org",
};

function describe(value: unknown): string {
  if (value === null) return "null";
  // A key or certificate pasted under the wrong key is not repeated in the error (nor in CI logs).
  if (typeof value === "string" && (/PRIVATE KEY|BEGIN /.test(value) || value.length > 200)) return `a string of ${value.length} characters`;
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : `${typeof value} ${JSON.stringify(value)}`;
}

/** How an expected type reads in an error. */
const EXPECTED: Readonly<Record<string, string>> = { array: "a list", int: "a whole number (integer)", object: "an object" };

/** Turns zod issues into `key.path: message` lines that say what would be valid. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], raw: Record<string, unknown>): string[] {
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

