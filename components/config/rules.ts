/**
 * Rules that span keys: checked on sections that are valid on their own, so one run reports
 * every problem.
 */
import * as semver from "semver";
import { RESERVED_NAMESPACES, RESERVED_NAMESPACE_PREFIX } from "../constants";
import { DEFAULTS } from "./defaults";
import type { RawCluster, RawTenant } from "./resolve";
import { flattenedPath } from "../manifests/common";
import { githubAppGitHost } from "../manifests/flux";
import { CONFIG_KEYS, DNS_LABEL_HINT, dnsLabel, repoName } from "./schema";
import type { ClusterConfig, FluxConfig, RepositoryConfig, TenantConfig } from "./types";

function isReserved(namespace: string): boolean {
  return RESERVED_NAMESPACES.includes(namespace) || namespace.startsWith(RESERVED_NAMESPACE_PREFIX);
}

export function clusterProblems(cluster: ClusterConfig, raw: RawCluster, kubeconfigSet: boolean): string[] {
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

export function fluxProblems(flux: FluxConfig): string[] {
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
  problems.push(...fluxVersionProblems(flux));
  return problems;
}

/**
 * `fleet:flux.version` must resolve to a Flux version the operator's manifests artifact holds
 * (DEFAULTS.embeddedFluxVersions), checked where the artifact is the operator's own at a listed
 * release, and, under the multi-tenancy lockdown, to 2.7.0 or newer: the lockdown sets
 * objectLevelWorkloadIdentity and multitenantWorkloadIdentity, which the operator refuses below
 * Flux 2.7 (internal/builder/workload_identity.go, v0.58.1). The operator resolves to the highest
 * match first (internal/builder/semver.go), as maxSatisfying does; the schema allows only forms
 * (`2.9.x`, `~2.8`, `2.9.4`) that node-semver reads as its Masterminds/semver does.
 */
function fluxVersionProblems(flux: FluxConfig): string[] {
  const embedded = DEFAULTS.embeddedFluxVersions[flux.operatorVersion];
  if (!embedded || flux.artifact !== DEFAULTS.artifact(flux.operatorVersion)) return [];
  const at = `${CONFIG_KEYS.flux}.version`;
  const resolved = resolvedFluxVersion(flux);
  if (resolved === null) {
    return [
      `${at}: ${JSON.stringify(flux.version)} matches no Flux version the Flux Operator v${flux.operatorVersion} can install ` +
        `(${embedded[0]} to ${embedded[embedded.length - 1]}); the FluxInstance would fail and up would wait out its timeout. ` +
        `Use one of those (for example "${DEFAULTS.fluxVersion}"), or a newer ${CONFIG_KEYS.flux}.operatorVersion`,
    ];
  }
  if (flux.multitenant && semver.lt(resolved, MULTITENANT_MIN_FLUX)) {
    return [
      `${at}: ${JSON.stringify(flux.version)} resolves to Flux ${resolved}, but the multi-tenancy lockdown (${CONFIG_KEYS.flux}.multitenant) needs ` +
        `${MULTITENANT_MIN_FLUX} or newer: it gives tenants their own cloud identity, which the operator refuses below Flux 2.7, so the FluxInstance ` +
        `would fail and up would wait out its timeout. Use "${DEFAULTS.fluxVersion}" or another version from ${MULTITENANT_MIN_FLUX}`,
    ];
  }
  return [];
}

/**
 * The Flux version the operator installs for `fleet:flux.version`: the highest match among the
 * versions its manifests hold (as above); the version as written when the operator release is not
 * one DEFAULTS.embeddedFluxVersions knows; null when nothing matches.
 */
export function resolvedFluxVersion(flux: Pick<FluxConfig, "version" | "operatorVersion">): string | null {
  const embedded = DEFAULTS.embeddedFluxVersions[flux.operatorVersion];
  return embedded ? semver.maxSatisfying([...embedded], flux.version) : flux.version;
}

/** The oldest Flux the lockdown's workload-identity settings work on (operator v0.58.1 workload_identity.go). */
const MULTITENANT_MIN_FLUX = "2.7.0";

/**
 * Rules that keep tenants inside their namespaces: Flux's multi-tenancy lockdown must be on when
 * there are tenants, and image automation needs a key it can push with.
 */
export function tenancyProblems(flux: FluxConfig, repository: RepositoryConfig | undefined, tenants: readonly TenantConfig[]): string[] {
  const problems: string[] = [];
  const at = CONFIG_KEYS.flux;
  if (!flux.multitenant && tenants.length > 0) {
    problems.push(
      `${at}.multitenant: is false while ${CONFIG_KEYS.tenants} lists tenants; without the lockdown a tenant's nested ` +
        `Kustomization or HelmRelease runs with the controllers' cluster-admin rights. Set it to true (the default)`,
    );
  }
  if (!flux.networkPolicy && tenants.length > 0) {
    problems.push(
      `${at}.networkPolicy: is false while ${CONFIG_KEYS.tenants} lists tenants; the FluxInstance's network policies are all that keep ` +
        `tenant pods away from source-controller's unauthenticated artifact server and the controllers' metrics. Set it to true (the default)`,
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

/**
 * `fleet:repository.githubApp` and its private key go together; with the App the fleet has no
 * deploy key, so there is none to make writable.
 */
export function githubAppProblems(repository: RepositoryConfig, privateKeySet: boolean): string[] {
  const at = `${CONFIG_KEYS.repository}.githubApp`;
  const problems: string[] = [];
  if (repository.githubApp && !privateKeySet) {
    problems.push(
      `${CONFIG_KEYS.githubAppPrivateKey}: is required with ${at}; set the App's private key with: ` +
        `pulumi config set --secret ${CONFIG_KEYS.githubAppPrivateKey} < app.private-key.pem`,
    );
  }
  if (!repository.githubApp && privateKeySet) {
    problems.push(`${CONFIG_KEYS.githubAppPrivateKey}: is set but ${at} is not; set ${at} ({appId, installationId}), or remove the key (pulumi config rm ${CONFIG_KEYS.githubAppPrivateKey})`);
  }
  // The App's host and the tenants' Git host are one GitHub: an App sync to github.com from a
  // stack whose repositories are on GitHub Enterprise would ask the wrong GitHub for its token.
  const sshHostname = repository.sshHost.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
  const appHost = repository.githubApp && githubAppGitHost(repository.githubApp.apiUrl);
  if (appHost && appHost.replace(/^\[(.*)\]$/, "$1") !== sshHostname) {
    problems.push(
      `${at}.apiUrl: the App's GitHub is ${appHost}, but ${CONFIG_KEYS.repository}.sshHost is ${repository.sshHost}; ` +
        (repository.githubApp?.apiUrl ? "make them the same host" : `set apiUrl to that host's API (https://${sshHostname}/api/v3 for GitHub Enterprise Server)`),
    );
  }
  if (repository.githubApp && repository.readWrite) {
    problems.push(
      `${CONFIG_KEYS.repository}.readWrite: the fleet sync authenticates as ${at}, so this cluster has no fleet deploy key to make writable; ` +
        `remove readWrite (image automation can push with a tenant's writable key), or remove githubApp`,
    );
  }
  return problems;
}

/**
 * Taking over a `flux bootstrap` cluster: only an existing cluster can have been bootstrapped, and
 * bootstrap's directory (with its `flux-system/`) is not one this stack can sync from.
 */
export function takeOverProblems(flux: FluxConfig, cluster: ClusterConfig, repository: RepositoryConfig, componentsSet: boolean): string[] {
  const takeOver = flux.takeOverBootstrap;
  if (!takeOver) return [];
  const at = `${CONFIG_KEYS.flux}.takeOverBootstrap`;
  const problems: string[] = [];
  if (cluster.type !== "kubeconfig") {
    problems.push(`${at}: only an existing cluster (${CONFIG_KEYS.cluster}.type: kubeconfig) can have been set up by flux bootstrap; remove it for a kind cluster this stack makes`);
  }
  // What bootstrap installed and the FluxInstance does not list, its Kustomization prunes once the
  // operator has taken it over (CRDs too, and with them every object of those kinds).
  if (!componentsSet) {
    problems.push(
      `${at}: needs ${CONFIG_KEYS.flux}.components set to every controller flux bootstrap installed (its four defaults and each --components-extra): ` +
        `one left out is pruned after the takeover, with its CRDs and every object of their kinds`,
    );
  }
  const [old, next] = [flattenedPath(takeOver.path), flattenedPath(repository.path)];
  if (next === old || next.startsWith(`${old}/`)) {
    problems.push(
      `${at}.path: ${CONFIG_KEYS.repository}.path is bootstrap's directory or inside it, which holds bootstrap's flux-system/; this program scaffolds no ` +
        `kustomization.yaml there (Flux would build only what it lists). Set ${CONFIG_KEYS.repository}.path to a new directory (e.g. ${old}-operator) and ` +
        `copy there what the cluster keeps syncing (docs/operations.md, "Taking over a bootstrapped cluster")`,
    );
  }
  return problems;
}

export interface IndexedTenant {
  readonly index: number;
  readonly raw: RawTenant;
  readonly tenant: TenantConfig;
}

export function tenantProblems(tenants: readonly IndexedTenant[], fleet: RepositoryConfig | undefined): string[] {
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
    if (tenant.renamedFrom !== undefined) {
      // The former name is an identity too: Pulumi aliases from it, and the objects carry it.
      const other = tenants.find((o) => o.index !== index && (o.tenant.name === tenant.renamedFrom || o.tenant.renamedFrom === tenant.renamedFrom));
      if (tenant.renamedFrom === tenant.name) {
        problems.push(`${at}.renamedFrom: is the tenant's own name; leave it out, or set it to the name the tenant had before`);
      } else if (other !== undefined) {
        problems.push(
          `${at}.renamedFrom: ${JSON.stringify(tenant.renamedFrom)} is also the name or former name of ${CONFIG_KEYS.tenants}[${other.index}]; ` +
            `a former name belongs to one tenant`,
        );
      }
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


/**
 * Tenant secrets (`secrets`): the environment's seed is set, and set as a secret. A plain seed in
 * Pulumi.<stack>.yaml would publish every tenant's key to whoever reads the repository.
 */
export function sopsProblems(tenants: readonly IndexedTenant[], environment: string, seedSet: boolean, secretKeys: readonly string[] | undefined): string[] {
  const problems: string[] = [];
  const fix = `openssl rand -base64 32 | pulumi config set --secret ${CONFIG_KEYS.sopsSeed}, with the same value in every stack of environment ${environment}`;
  if (!seedSet) {
    for (const { index, tenant } of tenants) {
      if (tenant.secrets) problems.push(`${CONFIG_KEYS.tenants}[${index}].secrets: needs the environment's seed, the secret ${CONFIG_KEYS.sopsSeed}; set it: ${fix}`);
    }
  } else if (secretKeys !== undefined && !secretKeys.includes(CONFIG_KEYS.sopsSeed)) {
    problems.push(
      `${CONFIG_KEYS.sopsSeed}: is set in plain text, so Pulumi.<stack>.yaml publishes every tenant's key; remove it (pulumi config rm ${CONFIG_KEYS.sopsSeed}), ` +
        `then set a new one as a secret: ${fix}`,
    );
  }
  return problems;
}
