/**
 * npm run drift -- <stack> [--config-file FILE] [--kubeconfig FILE] [--context NAME]
 *
 * Compares every Kubernetes object the stack declares with the live object, exactly, and names each
 * difference. `pulumi preview --refresh` cannot see additions: pulumi-kubernetes prunes the live
 * object to the shape of the program's inputs before it diffs (`pruneLiveState`, `pruneMap`,
 * `pruneSlice` in provider/pkg/provider/util.go), so a subject appended to a RoleBinding, a rule
 * appended to a NetworkPolicy, `spec.kustomize.patches` added to the FluxInstance or a label added
 * to a namespace pass it unseen, and `pulumi up` never reverts them. This check sees them.
 *
 * The desired objects come from the program under mocks (as `npm run render`), the live ones from
 * `kubectl get -f` (kubectl on PATH, or $KUBECTL; KUBECONFIG or --kubeconfig). Before comparing, the
 * API server's own defaults are applied to the desired object: the `default:`s of the live CRD's
 * schema, and for built-in kinds the defaulting functions named in BUILTIN_DEFAULTS. Compared: the
 * labels and annotations and everything outside `metadata` and `status`; Secrets only by `type`,
 * labels and annotations (their contents are secrets; `pulumi preview --refresh` compares those).
 *
 * Exit status: 0 no drift, 1 drift (each difference printed, with a kubectl patch that restores
 * the declared value), 2 the check could not run.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import { REPO_ROOT, isKubernetesObject, mapWireLeaves, runProgram, stackConfigFile } from "./lib/evaluate";
import { flagValue } from "./lib/args";
import { kubectlJson, resourceArg } from "./lib/kubectl";

export { resourceArg };

/** A desired leaf that cannot be known offline (a secret, a value known after apply): not compared. */
export const UNKNOWN = Symbol("unknown");

/**
 * Marks a desired object the program only patches (a `*Patch` resource, e.g. flux-system's
 * NamespacePatch on an existing cluster): the object is someone else's too, so what the program
 * does not declare on it is not drift; what it declares still is.
 */
export const PARTIAL = Symbol("partial");
const isPartial = (o: KubeObject) => (o as { [PARTIAL]?: boolean })[PARTIAL] === true;

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

export interface Difference {
  /** `Kind namespace/name` (or `Kind name`). */
  readonly object: string;
  /** Dotted path, list items as `[i]`, map keys with dots quoted: `metadata.labels["a.b/c"]`. */
  readonly path: string;
  readonly change: "added" | "removed" | "changed" | "missing";
  readonly desired?: unknown;
  readonly live?: unknown;
}

/** The live CRDs' OpenAPI schemas by `apiVersion/kind`, for their `default:`s. */
export type CrdSchemas = ReadonlyMap<string, unknown>;

export function objectName(o: Pick<KubeObject, "kind" | "metadata">): string {
  return `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`;
}

/** Annotations that are instructions to a tool, not state of the object: ignored on both sides. */
function ignoredAnnotation(key: string): boolean {
  return (
    // pulumi-kubernetes' own (await, timeouts, patchForce): read by the provider, not the cluster.
    key.startsWith("pulumi.com/") ||
    // Flux's "reconcile now" triggers (fluxcd/pkg apis/meta annotations.go: ReconcileRequestAnnotation,
    // ForceRequestAnnotation), written by `flux reconcile`; they change when it runs, not what runs.
    key === "reconcile.fluxcd.io/requestedAt" ||
    key === "reconcile.fluxcd.io/forceAt"
  );
}

/**
 * The labels and annotations the Flux Operator server-side-applies, as field manager
 * `flux-operator`, to flux-system and to every object of its install (flux-operator v0.58.1:
 * internal/builder/templates.go:359-385, its kustomize transformers, and :387-397, its Namespace;
 * internal/controller/fluxinstance_controller.go:466-471 with fluxcd/pkg/ssa v0.77.0 manager.go:61-78,
 * the owner labels). On a kind stack flux-system is the program's full Namespace, which declares
 * none of them: they are the operator's, not drift, and a repair must never remove them
 * (`fluxcd.controlplane.io/prune: disabled` keeps the namespace through an uninstall).
 */
export const OPERATOR_METADATA = {
  manager: "flux-operator",
  labels: [
    "app.kubernetes.io/managed-by", "app.kubernetes.io/instance", "app.kubernetes.io/version", "app.kubernetes.io/part-of",
    "fluxcd.controlplane.io/name", "fluxcd.controlplane.io/namespace", "pod-security.kubernetes.io/warn", "pod-security.kubernetes.io/warn-version",
  ],
  annotations: ["kustomize.toolkit.fluxcd.io/ssa", "kustomize.toolkit.fluxcd.io/prune", "fluxcd.controlplane.io/prune"],
} as const;

/** The keys of `metadata.<field>` that `manager` owns, from the live object's managedFields. */
function ownedKeys(live: KubeObject, manager: string, field: "labels" | "annotations"): Set<string> {
  const keys = new Set<string>();
  const entries = (live.metadata.managedFields ?? []) as { manager?: string; fieldsV1?: Record<string, any> }[];
  for (const m of entries) {
    if (m.manager !== manager) continue;
    for (const k of Object.keys(m.fieldsV1?.["f:metadata"]?.[`f:${field}`] ?? {})) if (k.startsWith("f:")) keys.add(k.slice(2));
  }
  return keys;
}

/**
 * `live` without the operator's labels and annotations (OPERATOR_METADATA) that the program does not
 * declare, on flux-system only: only a key the operator's field manager owns is left out, so the
 * same key set by `kubectl label` is still drift.
 */
export function withoutOperatorMetadata(desired: KubeObject, live: KubeObject): KubeObject {
  // flux-system is the one object both the program declares and the operator applies: anywhere
  // else (a tenant's namespace) a key written as `flux-operator` is someone posing as it.
  if (desired.kind !== "Namespace" || desired.metadata.name !== "flux-system") return live;
  const metadata = { ...live.metadata };
  for (const field of ["labels", "annotations"] as const) {
    const have = metadata[field];
    if (!have) continue;
    const owned = ownedKeys(live, OPERATOR_METADATA.manager, field);
    const theirs = (OPERATOR_METADATA[field] as readonly string[]).filter((k) => owned.has(k) && desired.metadata[field]?.[k] === undefined);
    if (theirs.length) metadata[field] = Object.fromEntries(Object.entries(have).filter(([k]) => !theirs.includes(k)));
  }
  return { ...live, metadata };
}

/** What of an object is compared: labels, annotations and everything but metadata and status. */
export function comparable(o: KubeObject): Record<string, unknown> {
  const rest: Record<string, unknown> = { ...o };
  for (const k of ["apiVersion", "kind", "metadata", "status"]) delete rest[k];
  const { kind, metadata } = o;
  const annotations = Object.fromEntries(Object.entries(metadata.annotations ?? {}).filter(([k]) => !ignoredAnnotation(k)));
  const view: Record<string, unknown> = {};
  const meta: Record<string, unknown> = {};
  if (metadata.labels && Object.keys(metadata.labels).length) meta.labels = metadata.labels;
  if (Object.keys(annotations).length) meta.annotations = annotations;
  if (Object.keys(meta).length) view.metadata = meta;
  if (kind === "Secret") {
    if (rest.type !== undefined) view.type = rest.type;
    return view;
  }
  return { ...view, ...rest };
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const clone = <T>(v: T): T => (v === UNKNOWN || v === null || typeof v !== "object" ? v : Array.isArray(v) ? (v.map(clone) as T) : (Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)])) as T));

/**
 * Applies a structural schema's `default:`s to `value` the way the API server does
 * (k8s.io/apiextensions-apiserver pkg/apiserver/schema/defaulting/algorithm.go): a property's
 * default is set where the property is absent and its parent object exists; array items and
 * additionalProperties are defaulted by their own schema.
 */
export function applySchemaDefaults(value: unknown, schema: any): void {
  if (!schema || typeof schema !== "object") return;
  if (Array.isArray(value)) {
    if (schema.items) for (const item of value) applySchemaDefaults(item, schema.items);
    return;
  }
  if (!isMap(value)) return;
  for (const [key, prop] of Object.entries<any>(schema.properties ?? {})) {
    if (value[key] === undefined && prop && prop.default !== undefined) value[key] = clone(prop.default);
    if (value[key] !== undefined) applySchemaDefaults(value[key], prop);
  }
  if (isMap(schema.additionalProperties)) {
    for (const [key, v] of Object.entries(value)) if (!(key in (schema.properties ?? {}))) applySchemaDefaults(v, schema.additionalProperties);
  }
}

/**
 * The defaulting the API server applies to the built-in kinds this program declares, at
 * Kubernetes v1.36 (the rig's real tier checks that a fresh `up` shows no drift):
 * - Namespace: the `kubernetes.io/metadata.name` label (pkg/registry/core/namespace/strategy.go,
 *   PrepareForCreate) and the `kubernetes` finalizer (pkg/apis/core/v1/defaults.go, SetDefaults_Namespace
 *   and the registry's finalize step);
 * - NetworkPolicy: a port's protocol TCP, and policyTypes from the rules when absent
 *   (pkg/apis/networking/v1/defaults.go);
 * - LimitRange: a Container item's default from max, defaultRequest from default, then from min
 *   (pkg/apis/core/v1/defaults.go, SetDefaults_LimitRangeItem);
 * - RoleBinding/ClusterRoleBinding: a User or Group subject's apiGroup (pkg/apis/rbac/v1/defaults.go).
 */
export const BUILTIN_DEFAULTS: Readonly<Record<string, (o: KubeObject) => void>> = {
  Namespace: (o) => {
    o.metadata.labels = { ...(o.metadata.labels ?? {}), "kubernetes.io/metadata.name": o.metadata.name };
    const spec = (o.spec ?? {}) as Record<string, unknown>;
    if (spec.finalizers === undefined) spec.finalizers = ["kubernetes"];
    o.spec = spec;
  },
  NetworkPolicy: (o) => {
    const spec = (o.spec ?? {}) as any;
    for (const dir of ["ingress", "egress"]) {
      for (const rule of spec[dir] ?? []) for (const port of rule?.ports ?? []) if (port && port.protocol === undefined) port.protocol = "TCP";
    }
    if (spec.policyTypes === undefined || (Array.isArray(spec.policyTypes) && spec.policyTypes.length === 0)) {
      spec.policyTypes = ["Ingress", ...(Array.isArray(spec.egress) && spec.egress.length ? ["Egress"] : [])];
    }
  },
  LimitRange: (o) => {
    for (const item of ((o.spec as any)?.limits ?? []) as any[]) {
      if (item?.type !== "Container") continue;
      item.default = { ...(item.max ?? {}), ...(item.default ?? {}) };
      item.defaultRequest = { ...(item.min ?? {}), ...item.default, ...(item.defaultRequest ?? {}) };
    }
  },
  RoleBinding: (o) => defaultSubjects(o),
  ClusterRoleBinding: (o) => defaultSubjects(o),
};

function defaultSubjects(o: KubeObject): void {
  for (const s of (o.subjects ?? []) as any[]) {
    if (s && (s.kind === "User" || s.kind === "Group") && !s.apiGroup) s.apiGroup = "rbac.authorization.k8s.io";
  }
}

/** A resource.Quantity as a number, or undefined when `s` is not one (k8s.io/apimachinery resource/quantity.go). */
export function quantityValue(s: unknown): number | undefined {
  if (typeof s !== "string" && typeof s !== "number") return undefined;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/.exec(String(s).trim());
  if (!m) return undefined;
  const scale: Record<string, number> = {
    Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
    n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  };
  return Number(m[1]) * (m[2] ? 10 ** Number(m[2].slice(1)) : m[3] ? scale[m[3]] : 1);
}

/** Kinds whose `spec` holds resource quantities the API server rewrites to canonical form ("1024Mi" → "1Gi"). */
const QUANTITY_KINDS = new Set(["ResourceQuota", "LimitRange"]);

function equalLeaf(desired: unknown, live: unknown, quantities: boolean): boolean {
  if (desired === live) return true;
  if (quantities) {
    const d = quantityValue(desired);
    const l = quantityValue(live);
    if (d !== undefined && l !== undefined) return Math.abs(d - l) <= 1e-9 * Math.max(Math.abs(d), Math.abs(l), 1);
  }
  return false;
}

function child(pathSoFar: string, key: string | number): string {
  if (typeof key === "number") return `${pathSoFar}[${key}]`;
  const plain = /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key);
  return plain ? (pathSoFar ? `${pathSoFar}.${key}` : key) : `${pathSoFar}[${JSON.stringify(key)}]`;
}

function diffValues(desired: unknown, live: unknown, at: string, object: string, quantities: boolean, out: Difference[]): void {
  if (desired === UNKNOWN) return;
  if (isMap(desired) && isMap(live)) {
    for (const key of new Set([...Object.keys(desired), ...Object.keys(live)])) {
      const d = desired[key];
      const l = live[key];
      const p = child(at, key);
      if (d === undefined && l !== undefined) out.push({ object, path: p, change: "added", live: l });
      else if (d !== undefined && l === undefined) out.push({ object, path: p, change: "removed", desired: d });
      else if (d !== undefined) diffValues(d, l, p, object, quantities, out);
    }
    return;
  }
  if (Array.isArray(desired) && Array.isArray(live)) {
    for (let i = 0; i < Math.max(desired.length, live.length); i++) {
      const p = child(at, i);
      if (i >= desired.length) out.push({ object, path: p, change: "added", live: live[i] });
      else if (i >= live.length) out.push({ object, path: p, change: "removed", desired: desired[i] });
      else diffValues(desired[i], live[i], p, object, quantities, out);
    }
    return;
  }
  if (!isMap(desired) && !Array.isArray(desired) && !isMap(live) && !Array.isArray(live) && equalLeaf(desired, live, quantities)) return;
  out.push({ object, path: at, change: "changed", desired, live });
}

/** The desired object as the API server would store it: its CRD's or built-in defaults applied. */
export function withServerDefaults(desired: KubeObject, crds: CrdSchemas): KubeObject {
  const o = clone(desired);
  const crd = crds.get(`${o.apiVersion}/${o.kind}`);
  if (crd) applySchemaDefaults(o, crd);
  BUILTIN_DEFAULTS[o.kind]?.(o);
  return o;
}

/** What is compared of a desired object and its live counterpart. */
interface Views {
  readonly want: Record<string, unknown>;
  readonly have: Record<string, unknown>;
  readonly quantities: boolean;
}

function views(desired: KubeObject, live: KubeObject, crds: CrdSchemas): Views {
  return { want: comparable(withServerDefaults(desired, crds)), have: comparable(withoutOperatorMetadata(desired, live)), quantities: QUANTITY_KINDS.has(desired.kind) };
}

function differencesOf(v: Views, object: string): Difference[] {
  const out: Difference[] = [];
  diffValues(v.want, v.have, "", object, v.quantities, out);
  return out;
}

/** Every difference between a desired object and its live counterpart (undefined: it does not exist). */
export function compareObject(desired: KubeObject, live: KubeObject | undefined, crds: CrdSchemas = new Map()): Difference[] {
  if (!live) return [{ object: objectName(desired), path: "", change: "missing" }];
  const all = differencesOf(views(desired, live, crds), objectName(desired));
  return isPartial(desired) ? all.filter((d) => d.change !== "added") : all;
}

/** A JSON pointer (RFC 6901) segment. */
const pointer = (segments: readonly (string | number)[]) => segments.map((s) => `/${String(s).replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");

function containsUnknown(v: unknown): boolean {
  return v === UNKNOWN || (Array.isArray(v) ? v.some(containsUnknown) : isMap(v) ? Object.values(v).some(containsUnknown) : false);
}

/**
 * A JSON patch (RFC 6902) that puts back what the program declares, for `kubectl patch --type=json`:
 * a field the program does not declare is removed; a declared one is set, a list as a whole.
 * Undefined when a value to restore is a secret or unknown offline.
 */
export function repairPatch(desired: KubeObject, live: KubeObject, crds: CrdSchemas = new Map()): object[] | undefined {
  const ops = patchOf(views(desired, live, crds));
  return isPartial(desired) ? ops?.filter((op) => (op as { op: string }).op !== "remove") : ops;
}

function patchOf({ want, have, quantities }: Views): object[] | undefined {
  const ops: object[] = [];
  let unknown = false;
  const set = (op: "add" | "replace", at: (string | number)[], value: unknown) => {
    if (containsUnknown(value)) unknown = true;
    else ops.push({ op, path: pointer(at), value });
  };
  // The compared view of `metadata` holds only labels and annotations, and those only in part
  // (ignoredAnnotation): what the program does not declare there is removed key by key, never as
  // the whole `metadata`, `labels` or `annotations` (which would drop the name, or annotations
  // the view leaves out; seen on the rig, real tier 1j).
  const byKey = (at: (string | number)[], key: string) => (at.length === 0 && key === "metadata") || (at.length === 1 && at[0] === "metadata");
  const walk = (d: unknown, l: unknown, at: (string | number)[]) => {
    if (d === UNKNOWN) return;
    if (isMap(d) && isMap(l)) {
      for (const key of new Set([...Object.keys(d), ...Object.keys(l)])) {
        if (d[key] === undefined && byKey(at, key) && isMap(l[key])) walk({}, l[key], [...at, key]);
        else if (d[key] === undefined) ops.push({ op: "remove", path: pointer([...at, key]) });
        else if (l[key] === undefined) set("add", [...at, key], d[key]);
        else walk(d[key], l[key], [...at, key]);
      }
      return;
    }
    const differs: Difference[] = [];
    diffValues(d, l, "", "", quantities, differs);
    if (differs.length) set("replace", at, d);
  };
  walk(want, have, []);
  return unknown ? undefined : ops;
}

export function patchCommand(o: KubeObject, patch: object[]): string {
  const ns = o.metadata.namespace ? ` -n ${o.metadata.namespace}` : "";
  return `kubectl patch ${resourceArg(o)} ${o.metadata.name}${ns} --type=json -p '${JSON.stringify(patch).replace(/'/g, "'\\''")}'`;
}

/** The Kubernetes objects a stack declares, under mocks; secret and unknown leaves are UNKNOWN. */
export async function desiredObjects(stack: string, config: Record<string, unknown>, secretKeys: readonly string[] = []): Promise<KubeObject[]> {
  const result = await runProgram({ stack, config, secretKeys, preview: true, computed: false });
  if (result.error) throw result.error;
  return result.resources
    .filter((r) => r.custom && isKubernetesObject(r) && r.type !== "pulumi:providers:kubernetes")
    .map((r) => {
      const object = mapWireLeaves(r.rawInputs, (leaf, inSecret) => (inSecret || leaf === rpc.unknownValue ? UNKNOWN : leaf)) as KubeObject;
      return r.type.endsWith("Patch") ? Object.assign(object, { [PARTIAL]: true }) : object;
    });
}

/** The CRDs' schemas by `group/version/Kind`, from `kubectl get crd -o json` output. */
export function crdSchemas(list: any): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const crd of list?.items ?? []) {
    for (const v of crd?.spec?.versions ?? []) {
      const schema = v?.schema?.openAPIV3Schema;
      if (schema) out.set(`${crd.spec.group}/${v.name}/${crd.spec.names.kind}`, schema);
    }
  }
  return out;
}

export interface Report {
  readonly differences: readonly Difference[];
  /** One `kubectl patch` per drifted object that can be repaired that way. */
  readonly repairs: readonly string[];
}

/** Compares desired objects with the live ones (by kind, namespace and name). */
export function report(desired: readonly KubeObject[], live: readonly KubeObject[], crds: CrdSchemas): Report {
  const key = (o: KubeObject) => `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
  const byKey = new Map(live.map((o) => [key(o), o]));
  const differences: Difference[] = [];
  const repairs: string[] = [];
  for (const d of desired) {
    const l = byKey.get(key(d));
    if (!l) {
      differences.push(...compareObject(d, l));
      continue;
    }
    const found = compareObject(d, l, crds);
    differences.push(...found);
    const patch = found.length ? repairPatch(d, l, crds) : undefined;
    if (patch?.length) repairs.push(patchCommand(d, patch));
  }
  return { differences, repairs };
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

export function formatDifference(d: Difference): string {
  switch (d.change) {
    case "missing":
      return `${d.object}: missing (pulumi up --refresh recreates it)`;
    case "added":
      return `${d.object}: ${d.path} added: ${show(d.live)} (not declared by the program)`;
    case "removed":
      return `${d.object}: ${d.path} removed (declared: ${show(d.desired)})`;
    case "changed":
      return `${d.object}: ${d.path}: ${show(d.live)} (declared: ${show(d.desired)})`;
  }
}

/** The stack's kube context: --context, else `fleet:cluster.context`, else kind's `kind-<name>`. */
export function contextFor(config: Record<string, unknown>, flag?: string): string | undefined {
  if (flag) return flag;
  const cluster = (typeof config["fleet:cluster"] === "string" ? JSON.parse(config["fleet:cluster"] as string) : config["fleet:cluster"]) as
    | { type?: string; name?: string; context?: string }
    | undefined;
  if (cluster?.type === "kubeconfig") return cluster.context;
  if (cluster?.type === "kind" && cluster.name) return `kind-${cluster.name}`;
  return undefined;
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const usage = "usage: npm run drift -- <stack> [--config-file FILE] [--kubeconfig FILE] [--context NAME]";
  const flags = ["--config-file", "--kubeconfig", "--context"];
  const flag = (name: string) => flagValue(argv, name, usage);
  const stack = argv.find((a, i) => !a.startsWith("--") && !flags.includes(argv[i - 1]));
  if (!stack) throw new Error(usage);
  const file = flag("--config-file") ?? path.join(REPO_ROOT, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) throw new Error(`no stack config file ${file}`);
  const { config, secretKeys } = stackConfigFile(file);
  const kubeconfig = flag("--kubeconfig");
  const context = contextFor(config, flag("--context"));
  const kenv = { ...env, ...(kubeconfig ? { KUBECONFIG: kubeconfig } : {}) };
  const common = context ? ["--context", context] : [];

  const desired = await desiredObjects(stack, config, secretKeys);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-drift-"));
  let live: KubeObject[];
  let crds: Map<string, unknown>;
  try {
    // Only the identities: kubectl get -f reads each object named in the file.
    const ids = path.join(dir, "objects.json");
    const identity = (o: KubeObject) => ({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}) } });
    fs.writeFileSync(ids, JSON.stringify({ apiVersion: "v1", kind: "List", items: desired.map(identity) }));
    // With managedFields: the operator's own labels are told from a hand-added one by their owner.
    const got = kubectlJson([...common, "get", "--ignore-not-found", "--show-managed-fields", "-f", ids], kenv);
    live = got?.kind === "List" || Array.isArray(got?.items) ? got.items : [got];
    const customGroups = new Set(desired.filter((o) => o.apiVersion.includes(".")).map((o) => o.apiVersion));
    crds = customGroups.size ? crdSchemas(kubectlJson([...common, "get", "customresourcedefinitions.apiextensions.k8s.io"], kenv)) : new Map();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const { differences, repairs } = report(desired, live, crds);
  if (!differences.length) {
    out(`drift: none. ${desired.length} objects of stack ${stack} match the program${context ? ` (context ${context})` : ""}.\n`);
    return 0;
  }
  const objects = new Set(differences.map((d) => d.object)).size;
  out(`drift: ${differences.length} difference(s) in ${objects} of ${desired.length} objects of stack ${stack}${context ? ` (context ${context})` : ""}:\n`);
  for (const d of differences) out(`  ${formatDifference(d)}\n`);
  out(
    "\nTo put back what the program declares (docs/operations.md#drift): a changed or removed field,\n" +
      `or a missing object, with pulumi up --refresh --stack ${stack} (add PULUMI_K8S_ENABLE_PATCH_FORCE=true\n` +
      "if it fails with a conflict: a field manager other than kubectl wrote the field);\n" +
      "a field or list item the program does not declare, which pulumi up does not remove, with:\n",
  );
  for (const r of repairs) out(`  ${r}\n`);
  return 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: Error) => {
      process.stderr.write(`drift: ${e.message}\n`);
      process.exit(2);
    },
  );
}
