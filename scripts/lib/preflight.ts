/**
 * The upgrade preflight's judgement, pure: given the Flux version a stack moves to, what the cluster
 * stores and runs, and the files each tenant syncs, every API version the target no longer serves
 * that is still stored or used, each named with where it is and the fix. `scripts/preflight.ts`
 * gathers the inputs; the tests feed fixtures.
 *
 * What breaks, and why each input is read:
 * - A CRD's `status.storedVersions` lists each version objects may still be stored at in etcd. The
 *   API server refuses a CRD update whose `spec.versions` leaves one of them out (apiextensions
 *   validation: "must appear in spec.versions"), so the upgrade's CRDs fail to apply and the
 *   install stops half-way. `flux migrate` (flux2 v2.9.4 cmd/flux/migrate.go, cluster mode) rewrites
 *   every object at the storage version and trims storedVersions.
 * - A live object with a `managedFields` entry at a removed version. Flux's own `flux migrate`
 *   (cluster mode, flux2 v2.9.4 cmd/flux/migrate.go, migrateCR) rewrites every entry of every Flux
 *   object at the storage version before a minor upgrade (fluxcd/pkg/ssa v0.76.1 patch.go,
 *   PatchMigrateToVersion: all entries, whatever their operation or subresource), as the API server
 *   must convert an entry's fields to apply over them. Fixing the file is not enough: an object
 *   whose content did not change is not applied again by kustomize-controller (its dry run finds no
 *   change), so the entry keeps the old version; the real tier saw exactly that (6e).
 * - A tenant's synced files: kustomize-controller applies them as written, so a removed apiVersion
 *   fails the tenant's Kustomization at its first reconcile after the upgrade. `flux migrate -f`
 *   rewrites files.
 */
import { FluxApiTable, KindVersions, minorOf } from "./flux-apis";

export interface Crd {
  readonly name: string;
  readonly group: string;
  readonly kind: string;
  readonly storedVersions: readonly string[];
}

export interface LiveObject {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  /** The tenant whose namespace it is in, if any. */
  readonly tenant?: string;
  /** Its `managedFields` entries: each manager (with its operation and subresource) and the apiVersion of its fields. */
  readonly managers: readonly { readonly manager: string; readonly apiVersion: string }[];
}

export interface TenantFile {
  readonly tenant: string;
  /** `owner/name@branch`. */
  readonly source: string;
  readonly path: string;
  /** The file's YAML documents that have an apiVersion and kind. */
  readonly documents: readonly { readonly apiVersion: string; readonly kind: string; readonly name?: string }[];
}

export interface Finding {
  /** What and where: `CRD …`, `HelmRelease ns/name`, `tenant t: owner/repo@main:flux/staging/x.yaml`. */
  readonly where: string;
  readonly problem: string;
  readonly fix: string;
}

export interface PreflightInput {
  readonly table: FluxApiTable;
  /** The version the stack moves to (exact, e.g. 2.9.4). */
  readonly target: string;
  /** The version the cluster runs, if it runs Flux. */
  readonly current?: string;
  readonly crds: readonly Crd[];
  readonly live: readonly LiveObject[];
  readonly files: readonly TenantFile[];
}

const groupOf = (apiVersion: string) => (apiVersion.includes("/") ? apiVersion.split("/")[0] : "");
const versionOf = (apiVersion: string) => apiVersion.split("/").pop()!;


/** Whether the preflight has anything to judge: the Flux minor changes, or the cluster runs no Flux it can tell. */
export function changesMinor(current: string | undefined, target: string): boolean {
  return current === undefined || minorOf(current) !== minorOf(target);
}

/**
 * The target's minor, when the table has it. Throws otherwise: an unchecked upgrade is refused, not
 * waved through.
 */
export function targetMinor(table: FluxApiTable, target: string): string {
  const minor = minorOf(target);
  if (!minor || !table.minors[minor]) {
    throw new Error(
      `Flux ${target}: its API versions are not in scripts/lib/flux-api-versions.json (it has ${Object.keys(table.minors).join(", ")}); ` +
        `add its flux2 release to FLUX_RELEASES in scripts/flux-apis.ts and run npm run flux-apis -- --write`,
    );
  }
  return minor;
}

/** Every use of an API version the target does not serve (targetMinor throws for a target the table lacks). */
export function preflight(input: PreflightInput): Finding[] {
  const minor = targetMinor(input.table, input.target);
  const known = new Set(Object.values(input.table.minors).flatMap((m) => Object.keys(m.kinds)));
  const findings: Finding[] = [];
  const at = `Flux ${minor}`;
  /**
   * Whether `version` of group/Kind is a use the target drops: undefined when it is still served,
   * or not judged (only kinds some Flux minor had are); else the target's versions of the kind,
   * null when the target has no such kind.
   */
  const drops = (group: string, kind: string, version: string): KindVersions | null | undefined => {
    if (!known.has(`${group}/${kind}`)) return undefined;
    const target = input.table.minors[minor].kinds[`${group}/${kind}`] ?? null;
    return target && target.served.includes(version) ? undefined : target;
  };

  for (const crd of input.crds) {
    for (const v of crd.storedVersions) {
      const target = drops(crd.group, crd.kind, v);
      if (target === undefined) continue;
      findings.push({
        where: `CRD ${crd.name}`,
        problem: target
          ? `status.storedVersions still holds ${v}, which ${at} no longer serves: the API server refuses the new CRD, and the upgrade stops half-way`
          : `${at} has no ${crd.kind} any more, and objects are stored at ${v}`,
        fix: target
          ? `run \`flux migrate\` with the Flux CLI of the version the cluster runs${input.current ? ` (${input.current})` : ""}, against this cluster: it rewrites every ${crd.kind} at ${target.storage} and leaves storedVersions [${target.storage}]`
          : `delete the ${crd.kind} objects, or stay on the version the cluster runs`,
      });
    }
  }

  for (const o of input.live) {
    const stale = o.managers.filter((m) => drops(groupOf(m.apiVersion), o.kind, versionOf(m.apiVersion)) !== undefined);
    if (!stale.length) continue;
    const group = groupOf(stale[0].apiVersion);
    const target = drops(group, o.kind, versionOf(stale[0].apiVersion));
    const name = `${o.kind} ${o.namespace ? `${o.namespace}/` : ""}${o.name}`;
    findings.push({
      where: `${name}${o.tenant ? ` (tenant ${o.tenant})` : ""}`,
      problem: `${stale.map((m) => `${m.manager} holds fields at ${m.apiVersion}`).join("; ")}, which ${at} no longer serves`,
      fix: target
        ? `run \`flux migrate\` against this cluster: it rewrites every managedFields entry at ${group}/${target.storage}` +
          (stale.some((m) => m.manager.startsWith("kustomize-controller")) ? `; the file it comes from must say ${group}/${target.storage} too (kustomize-controller does not apply an unchanged object again, so fixing the file alone leaves the entry)` : "")
        : `remove it: ${at} has no ${o.kind}`,
    });
  }

  for (const f of input.files) {
    for (const d of f.documents) {
      const group = groupOf(d.apiVersion);
      const target = drops(group, d.kind, versionOf(d.apiVersion));
      if (target === undefined) continue;
      findings.push({
        where: `tenant ${f.tenant}: ${f.source}:${f.path}`,
        problem: `${d.kind}${d.name ? ` ${d.name}` : ""} is ${d.apiVersion}, which ${at} no longer serves: the tenant's sync fails at its first reconcile after the upgrade`,
        fix: target
          ? `the tenant changes it to ${group}/${target.storage} (\`flux migrate -f ${f.path} --version=${minor}\` in a checkout), and merges that before the upgrade`
          : `the tenant removes it: ${at} has no ${d.kind}`,
      });
    }
  }
  return findings;
}

/** The preflight's report: one paragraph per finding, then what to do. */
export function renderFindings(stack: string, from: string | undefined, to: string, findings: readonly Finding[]): string {
  const head = `preflight ${stack}: Flux ${from ?? "(none installed)"} -> ${to}`;
  if (!findings.length) return `${head}: nothing stored or used at an API version ${to} removes\n`;
  return [
    `${head}: REFUSED, ${findings.length} use${findings.length === 1 ? "" : "s"} of API versions ${to} no longer serves:`,
    ...findings.map((f) => `- ${f.where}\n    ${f.problem}\n    fix: ${f.fix}`),
    `Nothing was changed. Fix each, then run this again.`,
  ].join("\n") + "\n";
}
