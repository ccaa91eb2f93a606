/**
 * Stack configuration: the schema of every `fleet:*` key (and `github:owner`), its defaults, and
 * the rules that span keys. `parseFleetConfig` is pure: it takes the raw config strings and the
 * stack name, and returns a fully defaulted `FleetConfig` or throws one `ConfigError` listing
 * every problem by key path. Nothing here registers a resource, so a bad config registers nothing.
 *
 * schema.ts   shapes and field rules          defaults.ts  DEFAULTS: every default, nothing else
 * rules.ts    rules that span keys            errors.ts    ConfigError and issue formatting
 * types.ts    the resolved configuration      resolve.ts   raw sections to types.ts, defaults filled in
 *
 * Imports within: defaults.ts and types.ts import nothing of config/ (the schema reads them, and
 * everyone else may); schema.ts reads them; resolve.ts and rules.ts read the schema; index.ts
 * reads all. This room may import constants.ts and the pure builders of manifests/; nothing else
 * of components/. eslint.config.mjs holds these lines.
 */
import * as pulumi from "@pulumi/pulumi";
// Internal to @pulumi/pulumi (runtime/config.js, not in its typings): whether the engine sent a key
// as a secret (PULUMI_CONFIG_SECRET_KEYS, which the Node.js language host always sets).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { isConfigSecret } = require("@pulumi/pulumi/runtime/config") as { isConfigSecret(key: string): boolean };
import { z } from "zod";
import { PROJECT } from "../constants";
import { DEFAULTS } from "./defaults";
import { ConfigError, formatIssues } from "./errors";
import { clusterWithDefaults, fluxWithDefaults, repositoryWithDefaults, tenantWithDefaults } from "./resolve";
import { IndexedTenant, clusterProblems, fluxProblems, githubAppProblems, sopsProblems, takeOverProblems, tenancyProblems, tenantProblems } from "./rules";
import { CONFIG_KEYS, ClusterSchema, DNS_LABEL_HINT, FluxSchema, RepositorySchema, StackSchema, TenantSchema, dnsLabel, repoPathProblem } from "./schema";
import { FleetConfig, GitHubAppConfig } from "./types";

export * from "./types";
export { DEFAULTS } from "./defaults";
export { ConfigError, keyPath } from "./errors";
export { CONFIG_KEYS, decodeSeed, gitBranchProblem, repoPathProblem } from "./schema";
export { resolvedFluxVersion } from "./rules";


/** The raw stack config: `key → string` as Pulumi stores it (objects and lists as JSON). */
export interface RawStackConfig {
  /** The stack name. */
  readonly stack: string;
  /** Every `fleet:*` key, plus `github:owner`. Other namespaces belong to providers. */
  readonly values: Readonly<Record<string, string>>;
  /** The keys among `values` set as secrets, when known: a seed in plain text is then refused. */
  readonly secretKeys?: readonly string[];
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
  const environment = (decoded[CONFIG_KEYS.environment] as string | undefined) ?? DEFAULTS.environment(stack);
  if (decoded[CONFIG_KEYS.environment] === undefined && !dnsLabel.safeParse(environment).success) {
    problems.push(
      `${CONFIG_KEYS.environment}: the default ${JSON.stringify(environment)} (the stack name) is not a valid environment name; set ${CONFIG_KEYS.environment}, and ${DNS_LABEL_HINT}`,
    );
  }
  const cluster = rawCluster && clusterWithDefaults(rawCluster, stack);
  const flux = rawFlux && fluxWithDefaults(rawFlux);
  const repository = rawRepository && repositoryWithDefaults(rawRepository, stack, environment);
  if (rawRepository?.templateEnvironments !== undefined && repository && !repository.create) {
    problems.push(
      `${CONFIG_KEYS.repository}.templateEnvironments: only the stack that creates the tenant template (${CONFIG_KEYS.repository}.create: true) uses it; ` +
        `remove it here and list this stack's environment in that stack's ${CONFIG_KEYS.repository}.templateEnvironments`,
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
  if (repository && repository.sshHost !== DEFAULTS.sshHost && repository.knownHosts === undefined) {
    problems.push(
      `${CONFIG_KEYS.repository}.sshHost: is ${JSON.stringify(repository.sshHost)}, but ${CONFIG_KEYS.repository}.knownHosts is not set, and GitHub's ` +
        `published host keys cannot match another host; set knownHosts to that host's keys (ssh-keyscan, checked out of band)`,
    );
  }
  if (rawRepository?.path === undefined && repository && repoPathProblem(repository.path)) {
    problems.push(`${CONFIG_KEYS.repository}.path: the default ${JSON.stringify(repository.path)} is not valid; set it`);
  }
  if (repository) problems.push(...githubAppProblems(repository, decoded[CONFIG_KEYS.githubAppPrivateKey] !== undefined));
  if (flux && cluster && repository) problems.push(...takeOverProblems(flux, cluster, repository, rawFlux?.components !== undefined));
  problems.push(...tenantProblems(tenants, repository));
  problems.push(...sopsProblems(tenants, environment, decoded[CONFIG_KEYS.sopsSeed] !== undefined, input.secretKeys));

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
  /** `fleet:repository.githubApp`, with its private key, the secret `fleet:githubAppPrivateKey`. */
  readonly githubApp?: { readonly app: GitHubAppConfig; readonly privateKey: pulumi.Output<string> };
  /** The secret `fleet:sopsSeed`, when a tenant sets `secrets` (components/sops.ts derives the keys). */
  readonly sopsSeed?: string;
}

/** Reads this stack's config from the Pulumi runtime and validates it before anything is registered. */
export function loadStackConfig(): StackConfig {
  const values = programKeys(pulumi.runtime.allConfig());
  const config = parseFleetConfig({ stack: pulumi.getStack(), values, secretKeys: Object.keys(values).filter(isConfigSecret) });
  const secrets = new pulumi.Config(PROJECT);
  return {
    config,
    ...(config.cluster.type === "kubeconfig" ? { kubeconfig: secrets.requireSecret("kubeconfig") } : {}),
    ...(config.repository.githubApp ? { githubApp: { app: config.repository.githubApp, privateKey: secrets.requireSecret("githubAppPrivateKey") } } : {}),
    // Read as the string it is: the keys are derived here, and each identity is wrapped as a secret
    // where it is made (SopsKeys.identity). Only recipients, public, leave it unwrapped.
    ...(config.tenants.some((t) => t.secrets) ? { sopsSeed: values[CONFIG_KEYS.sopsSeed] } : {}),
  };
}

