/**
 * The fleet program: read and validate stack config, compose the components, export outputs.
 * Exported as a function so Pulumi runs it once per deployment and tests can run it per case.
 */
import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "./components/cluster";
import { loadStackConfig, StackConfig } from "./components/config";
import { Flux, fleetSync } from "./components/flux";
import { Existing, Repository, TenantTemplate, bootstrapKeyTitle, checkWriteBudget, existingRepository, lookUpExisting, readLastOutputs } from "./components/github";
import { AdmissionPolicies } from "./components/policy";
import { fleetReadme, fleetScaffold } from "./components/manifests";
import { SopsKeys } from "./components/sops";
import { Tenant } from "./components/tenant";
import { skipUnreadDebugStacks, startAfter, withoutDebugStacks } from "./components/perf";
import { importFromEnvironment } from "./components/imports";

export = async () => {
  // The SDK's debug stacks are made only when PULUMI_DEBUG_PROMISE_LEAKS asks for them (components/perf.ts).
  skipUnreadDebugStacks();
  const loaded = loadStackConfig();
  // What this stack would create and already exists is adopted (components/github/adopt.ts); decided
  // before anything is registered, so a repository that cannot be adopted stops the preview.
  // The stack's last outputs, read beside the lookups: none before its first update.
  const lastOutputs = readLastOutputs();
  const existing = await lookUpExisting(loaded.config);
  // A failed read is not a first update: the one thing it decides here is a start gate, for speed.
  const firstUpdate = await lastOutputs.then((outputs) => Object.keys(outputs).length === 0, () => false);
  // A lost state's live objects, found by npm run adopt (components/imports.ts): imported, not created.
  importFromEnvironment();
  // Config is valid here (errors above keep their stacks); building the resources without the
  // SDK's debug stacks takes a fraction of the time (components/perf.ts).
  return withoutDebugStacks(() => compose(loaded, existing, { firstUpdate, lastOutputs }));
};

function compose({ config, kubeconfig, githubApp, sopsSeed }: StackConfig, existing: Existing, last: { readonly firstUpdate: boolean; readonly lastOutputs: Promise<Record<string, unknown>> }) {
  const found = (create: boolean, name: string) => {
    const repo = create ? existingRepository(existing, name) : undefined;
    return repo ? { existing: repo } : {};
  };
  const { stack, environment, owner, repository } = config;

  const cluster = new Cluster(stack, { cluster: config.cluster, ...(kubeconfig ? { kubeconfig } : {}) });
  const fleet = new Repository("fleet", {
    owner,
    name: repository.name,
    create: repository.create,
    visibility: repository.visibility,
    branch: repository.branch,
    description: "Flux fleet: cluster configuration and cluster-wide infrastructure",
    stack,
    keyAlgorithm: repository.keyAlgorithm,
    readWrite: repository.readWrite,
    keyGeneration: repository.keyGeneration,
    // With a GitHub App (fleet:repository.githubApp), the sync needs no deploy key.
    deployKey: githubApp === undefined,
    createKey: "fleet:repository.create",
    ...(repository.team ? { team: { slug: repository.team, permission: "maintain" as const, configKey: "fleet:repository.team" } } : {}),
    files: [...(repository.create ? [fleetReadme(repository.name)] : []), ...fleetScaffold(environment, repository.path)],
    ...found(repository.create, repository.name),
  });
  const flux = new Flux("flux", {
    inCluster: cluster.inCluster,
    flux: config.flux,
    branch: repository.branch,
    path: repository.path,
    ...fleetSync(fleet, owner, repository, githubApp),
    syncDependsOn: fleet.ready,
    ...(config.flux.takeOverBootstrap
      ? { takeOver: { owner, repository: repository.name, keyTitle: bootstrapKeyTitle(config.flux.takeOverBootstrap.branch, config.flux.takeOverBootstrap.path) } }
      : {}),
  });

  // Tenant repositories are generated from the fleet's template. The owning stack always keeps
  // it (it is retained on GitHub, so dropping it from state would make it impossible to create
  // again); another stack looks it up only when it creates a tenant repository itself.
  const template = repository.create || config.tenants.some((t) => t.repository.create)
    ? new TenantTemplate("tenant-template", {
        owner,
        name: repository.tenantTemplate,
        create: repository.create,
        visibility: repository.visibility,
        stack,
        environments: repository.templateEnvironments,
        ...found(repository.create, repository.tenantTemplate),
      })
    : undefined;

  // The environment's tenant SOPS keys, when a tenant sets secrets (components/sops.ts).
  const sops = sopsSeed !== undefined ? new SopsKeys(sopsSeed, environment) : undefined;
  const policies = config.flux.admissionPolicies ? new AdmissionPolicies("admission-policies", { inCluster: cluster.inCluster }) : undefined;

  // On the stack's first update (it has exported nothing yet), the tenants' cluster objects start
  // once the fleet's scaffold is committed, so the path to the FluxInstance (the scaffold, then
  // Flux's install and first sync) is not queued behind them (components/tenant.ts, `after`). A
  // start gate, not a dependency (components/perf.ts, `startAfter`): after the first update that
  // path is done, and neither a preview nor a later `up` waits, for the dynamic-provider host's
  // start and the scaffold files' diffs, or rewrites the state for dependencies that changed.
  // Their repositories never wait: each tenant's GitHub chain (generate, branch, key, scaffold
  // file) ends the first up of many tenants, and waits for the template's scaffold already.
  const gate = last.firstUpdate && !pulumi.runtime.isDryRun() && config.tenants.length > 0;
  const afterFleet = gate ? startAfter(fleet.files.slice(-1)) : undefined;
  const tenants = config.tenants.map(
    (tenant) =>
      new Tenant(tenant.name, {
        tenant,
        owner,
        stack,
        inCluster: cluster.inCluster,
        fluxInstance: flux.instance,
        ...(afterFleet ? { after: afterFleet } : {}),
        visibility: repository.visibility,
        keyAlgorithm: repository.keyAlgorithm,
        keyGeneration: repository.keyGeneration,
        ...(policies ? { policies } : {}),
        ...(template ? { template: { owner, name: template.repositoryName, branch: template.branch, files: template.files, after: template.ready } } : {}),
        ...(repository.knownHosts ? { knownHosts: repository.knownHosts } : {}),
        sshHost: repository.sshHost,
        ...(sops ? { sops } : {}),
        ...found(tenant.repository.create, tenant.repository.name),
      }),
  );

  // Each part's writes; a deploy key is its own part per generation, so a rotation counts.
  // A tenant's .sops.yaml is a part too, so turning secrets on for a tenant is counted as new.
  const parts = (part: string, writes: Repository["contentWrites"] & { readonly sops?: number }) => ({
    [part]: writes.repository,
    [`${part}/key-gen${repository.keyGeneration}`]: writes.key,
    ...(writes.sops ? { [`${part}/sops`]: writes.sops } : {}),
  });
  const githubContentWrites = checkWriteBudget({
    ...parts("fleet", fleet.contentWrites),
    ...(template ? { "tenant-template": template.contentWrites } : {}),
    // Keyed by what the tenant's objects are named after, so a rename is not a new part.
    ...Object.assign({}, ...tenants.map((t) => parts(`tenant:${t.identity}`, t.contentWrites))),
  }, repository.contentWritesPerHour, last.lastOutputs);

  return {
    stack,
    environment,
    clusterType: config.cluster.type,
    kubeconfig: cluster.kubeconfig,
    endpoint: cluster.endpoint,
    context: cluster.context,
    fleetRepository: {
      url: fleet.htmlUrl,
      ...(fleet.key ? { deployKeyFingerprint: fleet.key.fingerprint } : {}),
      ...(githubApp ? { githubApp: { appId: githubApp.app.appId, installationId: githubApp.app.installationId } } : {}),
      team: fleet.teamAccess,
    },
    fluxInstance: flux.instance.metadata.name,
    // Taking over a bootstrapped cluster: which of bootstrap's keys went (none means its title did not match).
    ...(flux.bootstrapKey ? { bootstrapKeyRevoked: flux.bootstrapKey.revoked } : {}),
    tenants: Object.fromEntries(
      [...tenants]
        .sort((a, b) => a.tenantName.localeCompare(b.tenantName))
        .map((t) => [
          t.tenantName,
          {
            namespaces: t.namespaces,
            repository: t.repository.htmlUrl,
            deployKeyFingerprint: t.key.fingerprint,
            team: t.repository.teamAccess,
            // What the tenant encrypts its files for this environment to (secrets): public.
            ...(t.recipient !== undefined ? { sopsRecipient: t.recipient } : {}),
          },
        ]),
    ),
    githubContentWrites,
  };
}
