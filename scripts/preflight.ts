/**
 * npm run preflight -- <stack> [--config-file FILE] [--kubeconfig FILE] [--context NAME] [--target VERSION]
 *
 * The upgrade preflight. Before a change of the Flux minor version reaches a cluster, it reads:
 * - the cluster's Flux CRDs' `status.storedVersions`, and the version it runs (the FluxInstance's
 *   `status.lastAppliedRevision`, or `flux bootstrap`'s `app.kubernetes.io/version` CRD label);
 * - the apiVersion each field manager last applied every live Flux object at (`managedFields`);
 * - the Flux objects in each tenant's synced path, from its repository on GitHub at its branch
 *   (GITHUB_TOKEN; the tenants, repositories, branches and paths are the stack's own, from the
 *   program evaluated offline as `npm run render` does);
 * and refuses the upgrade when any of them uses an API version the target minor no longer serves
 * (scripts/lib/flux-api-versions.json, made from Flux's modules: scripts/flux-apis.ts), naming each
 * object, tenant and file with its fix (scripts/lib/preflight.ts). It changes nothing.
 *
 * The target is `fleet:flux.version` as the operator resolves it, or --target. The cluster is
 * --kubeconfig/--context, else the stack's `kubeconfig` and `context` outputs (never KUBECONFIG's:
 * it may be another cluster); a stack with no cluster yet has nothing stored, and its tenants'
 * files are still read. With no change of minor
 * (and no --target) there is nothing to check.
 *
 * Exit status: 0 nothing to refuse; 1 refused (each use printed); 2 the check could not run (a
 * cluster or GitHub that does not answer, bad config): nothing is judged safe that was not read.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseAllDocuments } from "yaml";
import { resolvedFluxVersion } from "../components/config";
import { TENANT_LABEL } from "../components/constants";
import { fetchGitHub, GitHubRequest, repositoryExists, repositoryOf } from "../components/github/client";
import { commandArgs, flagValue } from "./lib/args";
import { REPO_ROOT, runProgram, stackConfigFile } from "./lib/evaluate";
import { fluxApis, fluxGroups } from "./lib/flux-apis";
import { kubectlJson } from "./lib/kubectl";
import { fleetConfigOf } from "./lib/stacks";
import { changesMinor, Crd, LiveObject, preflight, renderFindings, targetMinor, TenantFile } from "./lib/preflight";
import { exportedDeployment, stackCluster, withBackend } from "./lib/state";

/** A tenant's sync, as the stack declares it: where its files are. */
export interface TenantSource {
  readonly tenant: string;
  readonly namespaces: readonly string[];
  readonly owner: string;
  readonly repo: string;
  readonly branch: string;
  /** The Kustomization's path, without `./`. */
  readonly path: string;
  /** Whether this stack creates the repository (so it may not exist yet). */
  readonly create?: boolean;
}

/** The version a cluster runs: the FluxInstance's last applied revision (`v2.9.4@sha256:…`), else the CRDs' label. */
export function currentVersion(crds: readonly any[], instances: readonly any[]): string | undefined {
  const applied = instances.map((i) => i?.status?.lastAppliedRevision).find((r) => typeof r === "string" && r);
  if (applied) return applied.replace(/^v/, "").replace(/@.*$/, "");
  const labelled = crds.map((c) => c?.metadata?.labels?.["app.kubernetes.io/version"]).find((v) => typeof v === "string" && /^v?\d+\.\d+/.test(v));
  return labelled?.replace(/^v/, "");
}

/** The tenants' syncs in the program's registrations: each tenant's GitRepository and its Kustomization. */
export function tenantSources(resources: readonly { type: string; inputs: Record<string, any> }[]): TenantSource[] {
  const byType = (suffix: string) => resources.filter((r) => r.type.endsWith(suffix)).map((r) => r.inputs);
  const namespaces = byType(":core/v1:Namespace");
  const repos = byType(":source.toolkit.fluxcd.io/v1:GitRepository");
  return byType(":kustomize.toolkit.fluxcd.io/v1:Kustomization")
    .filter((k) => k.metadata?.labels?.[TENANT_LABEL] && k.metadata.labels[TENANT_LABEL] === k.metadata.name)
    .flatMap((k) => {
      const tenant: string = k.metadata.name;
      const source = repos.find((g) => g.metadata?.namespace === k.metadata.namespace && g.metadata?.name === k.spec?.sourceRef?.name);
      const repo = typeof source?.spec?.url === "string" ? repositoryOf(source.spec.url) : undefined;
      if (!repo) return [];
      return [{
        tenant,
        namespaces: namespaces.filter((n) => n.metadata?.labels?.[TENANT_LABEL] === tenant).map((n) => n.metadata.name as string),
        owner: repo.owner,
        repo: repo.name,
        branch: source!.spec.ref?.branch ?? "main",
        path: String(k.spec?.path ?? "").replace(/^\.\//, "").replace(/\/+$/, ""),
      }];
    });
}

/** Whether the stack's state holds a FluxInstance (`pulumi stack export`). */
function stateHasFluxInstance(stack: string, env: NodeJS.ProcessEnv): boolean {
  return (exportedDeployment(stack, undefined, env).resources ?? []).some((r) => r.type === "kubernetes:fluxcd.controlplane.io/v1:FluxInstance");
}

/** The limit of files read per tenant: a synced path is a handful of manifests, not a monorepo. */
const MAX_FILES = 500;

/**
 * Every YAML file under the tenant's path at its branch, through GitHub's contents API (a directory
 * lists its entries; a file comes base64-encoded). A path or branch the repository lacks is a note,
 * and so is a missing repository this stack creates (a repository it has yet to generate holds only
 * the template's files); a missing repository it looks up is an error, since GitHub answers 404 for
 * a private repository the token cannot see, and an unread repository is not judged safe.
 * Every YAML file under the path is read, listed in a kustomization.yaml or not; files outside it
 * (`../` bases) are not.
 */
export async function tenantFiles(source: TenantSource, request: GitHubRequest): Promise<{ files: TenantFile[]; notes: string[] }> {
  const files: TenantFile[] = [];
  const notes: string[] = [];
  const at = `${source.owner}/${source.repo}@${source.branch}`;
  const base = `/repos/${encodeURIComponent(source.owner)}/${encodeURIComponent(source.repo)}/contents`;
  const ref = `?ref=${encodeURIComponent(source.branch)}`;
  const enc = (p: string) => p.split("/").map(encodeURIComponent).join("/");
  let read = 0;
  const walk = async (dir: string): Promise<void> => {
    const answer = await request("GET", `${base}${dir ? `/${enc(dir)}` : ""}${ref}`);
    if (answer.status === 404) {
      const exists = await repositoryExists(source.owner, source.repo, request);
      if (!exists && !source.create) {
        throw new Error(`tenant ${source.tenant}: GitHub answers 404 for ${source.owner}/${source.repo}, which this stack looks up: the token cannot see it (GITHUB_TOKEN needs read access to every tenant repository)`);
      }
      notes.push(`tenant ${source.tenant}: ${exists ? `${at} has no ${dir || "files"}` : `${source.owner}/${source.repo} does not exist yet (this stack makes it from the template)`}: nothing to read`);
      return;
    }
    if (answer.status !== 200) throw new Error(`GitHub answered ${answer.status} for ${at}:${dir}: ${JSON.stringify(answer.body).slice(0, 200)}`);
    const entries: any[] = Array.isArray(answer.body) ? answer.body : [answer.body];
    for (const e of entries) {
      if (e.type === "dir") await walk(e.path);
      else if (e.type === "file" && /\.ya?ml$/.test(e.path)) {
        if (++read > MAX_FILES) throw new Error(`tenant ${source.tenant}: ${at}:${source.path} holds more than ${MAX_FILES} YAML files; read them with flux migrate -f --dry-run instead`);
        const file = await request("GET", `${base}/${enc(e.path)}${ref}`);
        if (file.status !== 200 || typeof file.body?.content !== "string") throw new Error(`GitHub answered ${file.status} for ${at}:${e.path}`);
        const text = Buffer.from(file.body.content, "base64").toString("utf8");
        const documents: TenantFile["documents"][number][] = [];
        for (const doc of parseAllDocuments(text)) {
          if (doc.errors.length) {
            notes.push(`tenant ${source.tenant}: ${at}:${e.path} is not valid YAML (${doc.errors[0].message.split("\n")[0]}); kustomize-controller fails on it as well`);
            continue;
          }
          const o = doc.toJS() as any;
          if (o && typeof o.apiVersion === "string" && typeof o.kind === "string") documents.push({ apiVersion: o.apiVersion, kind: o.kind, ...(typeof o.metadata?.name === "string" ? { name: o.metadata.name } : {}) });
        }
        files.push({ tenant: source.tenant, source: at, path: e.path, documents });
      }
    }
  };
  await walk(source.path);
  return { files, notes };
}

/**
 * The Flux objects of a `kubectl get … -A --show-managed-fields` list, each with its managedFields
 * entries: the manager (with the operation, and the subresource if any) and the apiVersion.
 */
export function liveObjects(items: readonly any[], tenantOf: (namespace: string) => string | undefined): LiveObject[] {
  return items.map((o) => ({
    kind: o.kind,
    name: o.metadata.name,
    ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
    ...(o.metadata.namespace && tenantOf(o.metadata.namespace) ? { tenant: tenantOf(o.metadata.namespace) } : {}),
    managers: (o.metadata.managedFields ?? [])
      .filter((m: any) => typeof m.apiVersion === "string")
      .map((m: any) => ({ manager: `${m.manager ?? "(unnamed)"} (${m.operation ?? "?"}${m.subresource ? ` ${m.subresource}` : ""})`, apiVersion: m.apiVersion })),
  }));
}

async function main(argv: readonly string[]): Promise<number> {
  const usage = "usage: npm run preflight -- <stack> [--config-file FILE] [--kubeconfig FILE] [--context NAME] [--target VERSION]";
  const { positional: stack, problem } = commandArgs(argv, usage, ["--config-file", "--kubeconfig", "--context", "--target"]);
  if (!stack || problem) {
    console.error(problem);
    return 2;
  }
  const { config, secretKeys } = stackConfigFile(flagValue(argv, "--config-file", usage) ?? path.join(REPO_ROOT, `Pulumi.${stack}.yaml`));
  const fleet = fleetConfigOf(stack, config);
  const wanted = flagValue(argv, "--target", usage);
  const target = wanted ?? resolvedFluxVersion(fleet.flux);
  if (!target) throw new Error(`fleet:flux.version ${JSON.stringify(fleet.flux.version)} matches no Flux version operator ${fleet.flux.operatorVersion} installs (the preview says the same)`);
  const table = fluxApis();
  targetMinor(table, target); // a target the table lacks is refused before the cluster is asked

  const env = withBackend(process.env);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-preflight-"));
  try {
    const kubeconfig = flagValue(argv, "--kubeconfig", usage);
    const context = flagValue(argv, "--context", usage);
    const cluster = stackCluster(stack, env, dir, { kubeconfig, context });
    const groups = fluxGroups(table);
    let crdItems: any[] = [];
    let instances: any[] = [];
    // Only the stack's own cluster (its outputs) or the one the flags name: never whatever
    // KUBECONFIG happens to point at.
    let reachable = cluster.length > 0;
    if (cluster.length) {
      try {
        crdItems = (kubectlJson([...cluster, "get", "customresourcedefinitions"], env).items ?? []) as any[];
      } catch (e) {
        // A cluster that does not answer may be one that is gone: a kind cluster deleted by hand,
        // whose objects a refresh has dropped from the state (docs/operations.md, "Recovering").
        // Then nothing of Flux is stored anywhere this stack knows of; while the state still holds
        // a FluxInstance, what the cluster stores cannot be judged, and the check fails.
        if (!kubeconfig && !stateHasFluxInstance(stack, env)) {
          console.log(`preflight ${stack}: the stack's cluster does not answer (${(e as Error).message.split("\n")[0]}), and its state holds no FluxInstance: nothing stored to judge; the tenants' files are still read`);
          reachable = false;
        } else {
          throw e;
        }
      }
      if (reachable && crdItems.some((c) => c.metadata?.name === "fluxinstances.fluxcd.controlplane.io")) {
        instances = kubectlJson([...cluster, "get", "fluxinstances.fluxcd.controlplane.io", "-A"], env).items ?? [];
      }
    } else {
      console.log(`preflight ${stack}: the stack has no cluster yet (no kubeconfig output; --kubeconfig names one): nothing is stored; the tenants' files are still read`);
    }
    const fluxCrds = crdItems.filter((c) => groups.has(c.spec?.group));
    const current = currentVersion(fluxCrds, instances);
    if (!wanted && !changesMinor(current, target)) {
      console.log(`preflight ${stack}: Flux ${current} -> ${target}: the minor version does not change; nothing to check`);
      return 0;
    }
    const evaluated = await runProgram({ stack, config, secretKeys, preview: true, computed: false });
    if (evaluated.error) throw new Error(`the program fails for stack ${stack}: ${evaluated.error.message}`);
    const sources = tenantSources(evaluated.resources).map((s) => ({ ...s, create: fleet.tenants.find((t) => t.identity === s.tenant)?.repository.create ?? false }));
    const tenantOf = (ns: string) => sources.find((s) => s.namespaces.includes(ns))?.tenant;
    const crds: Crd[] = fluxCrds.map((c) => ({ name: c.metadata.name, group: c.spec.group, kind: c.spec.names.kind, storedVersions: c.status?.storedVersions ?? [] }));
    const live = reachable && fluxCrds.length
      ? liveObjects(kubectlJson([...cluster, "get", fluxCrds.map((c) => c.metadata.name).join(","), "-A", "--show-managed-fields"], env).items ?? [], tenantOf)
      : [];
    const files: TenantFile[] = [];
    const notes: string[] = [];
    if (sources.length && !process.env.GITHUB_TOKEN) throw new Error("GITHUB_TOKEN is not set: the tenants' files are read from GitHub (a read-only token will do)");
    for (const s of sources) {
      const got = await tenantFiles(s, fetchGitHub);
      files.push(...got.files);
      notes.push(...got.notes);
    }
    const findings = preflight({ table, target, ...(current ? { current } : {}), crds, live, files });
    for (const n of notes) console.log(`note: ${n}`);
    console.log(`preflight ${stack}: read ${crds.length} Flux CRDs, ${live.length} live Flux objects, ${files.length} files of ${sources.length} tenants`);
    process.stdout.write(renderFindings(stack, current, target, findings));
    return findings.length ? 1 : 0;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`preflight: ${(e as Error).message}; nothing was judged safe`);
      process.exit(2);
    },
  );
}
