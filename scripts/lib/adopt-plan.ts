/**
 * What `npm run adopt` (scripts/adopt.ts) makes of a lost state: from the program's preview on the
 * empty state (`pulumi preview --json`: every resource a create), which key pairs to write back into
 * state from the cluster's Secrets, and which of the planned creates already exist and are imported.
 * Pure: every lookup is passed in.
 */
import { importKey } from "../../components/imports";
import { KeyState } from "./key-state";
import { KubeTarget } from "./kubectl";
import { Deployment, referencedUrn, StateResource, TYPES, urnName } from "./state";

/** One step of `pulumi preview --json` (apitype.PreviewStep), as far as adopt reads it. */
export interface PreviewStep {
  readonly op: string;
  readonly urn: string;
  readonly newState?: StateResource & {
    readonly parent?: string;
    readonly provider?: string;
    readonly dependencies?: readonly string[];
    readonly propertyDependencies?: Readonly<Record<string, readonly string[]>>;
  };
}

export const TLS_KEY = TYPES.tlsKey;
const { deployKey: DEPLOY_KEY, branchDefault: BRANCH_DEFAULT, helmRelease: HELM_RELEASE, kindCluster: KIND_CLUSTER } = TYPES;
/** What the engine's JSON display writes for a value it will not show (backend/display/json.go, massagePropertyValue). */
const SHOWN_SECRET = "[secret]";
/** The engine's unknown value, as a preview writes it (sdk/go/common/resource/plugin/rpc.go, UnknownStringValue). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";


function known(value: unknown): value is string {
  return typeof value === "string" && value !== UNKNOWN && value !== SHOWN_SECRET && value !== "";
}

function creates(steps: readonly PreviewStep[]): PreviewStep[] {
  return steps.filter((s) => s.op === "create" && s.newState);
}

/** A key pair the program would make, and the Secret in the cluster that holds its private key, if the plan names one. */
export interface PlannedKey {
  readonly urn: string;
  readonly secret?: { readonly namespace: string; readonly name: string };
}

/**
 * The Secret whose inputs depend on the key pair `urn` in the preview, whatever its step (the
 * deploy-key Secret: `identity` is the key's `privateKeyOpenssh`, components/manifests/common.ts).
 */
function holder(steps: readonly PreviewStep[], urn: string): PlannedKey["secret"] {
  const secret = steps.find(
    (s) => s.newState?.type === "kubernetes:core/v1:Secret" && Object.values(s.newState.propertyDependencies ?? {}).some((deps) => deps.includes(urn)),
  );
  const meta = secret?.newState!.inputs?.metadata;
  return meta && known(meta.name) && known(meta.namespace) ? { namespace: meta.namespace, name: meta.name } : undefined;
}

/** Each key pair the preview would create, with the Secret that holds it. */
export function plannedKeys(steps: readonly PreviewStep[]): PlannedKey[] {
  return creates(steps)
    .filter((s) => s.newState!.type === TLS_KEY)
    .map((key) => {
      const secret = holder(steps, key.urn);
      return { urn: key.urn, ...(secret ? { secret } : {}) };
    });
}

/** Each key pair the state holds already, with its public key and the Secret the preview has holding it. */
export function keysInState(deployment: Deployment, steps: readonly PreviewStep[]): (PlannedKey & { readonly publicKey: string })[] {
  return (deployment.resources ?? [])
    .filter((r) => r.type === TLS_KEY && typeof r.outputs?.publicKeyOpenssh === "string")
    .map((r) => {
      const secret = holder(steps, r.urn);
      return { urn: r.urn, publicKey: r.outputs!.publicKeyOpenssh as string, ...(secret ? { secret } : {}) };
    });
}

/**
 * A default provider the engine registers itself, which a preview's steps do not show: as the
 * engine writes it into state (seen on the rig, CLI v3.274.1), `default_5_6_1` of a package with no
 * configuration being `{__internal: {}, version: "5.6.1"}` in, `{version}` out. A package that has
 * configuration (github) takes it from the stack's config, which adopt does not write.
 */
function defaultProvider(urn: string): { type: string; inputs: Record<string, unknown>; outputs: Record<string, unknown> } | undefined {
  const m = /::pulumi:providers:(tls)::default(?:_(.+))?$/.exec(urn);
  if (!m) return undefined;
  const version = m[2]?.replace(/_/g, ".");
  return { type: `pulumi:providers:${m[1]}`, inputs: { __internal: {}, ...(version ? { version } : {}) }, outputs: version ? { version } : {} };
}

/** Pulumi's plaintext secret, as `pulumi stack export --show-secrets` writes it and `pulumi stack import` takes it (then encrypts it). */
function secretValue(value: string): Record<string, string> {
  return { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", plaintext: JSON.stringify(value) };
}

/**
 * The exported state with each restored key pair written in: the key, under its component parents
 * (as the preview has them, up to the stack) and its default provider, each unless the state has it.
 * Everything else the next `up` registers as usual. A new provider gets a fresh ID (the engine's are
 * UUIDs too); its inputs are the preview's, which must hold no secret (a TLS provider has no
 * configuration).
 */
export function withKeys(
  exported: { deployment: Deployment } & Record<string, unknown>,
  steps: readonly PreviewStep[],
  keys: ReadonlyMap<string, KeyState>,
  newId: () => string,
): { deployment: Deployment } & Record<string, unknown> {
  const byUrn = new Map(creates(steps).map((s) => [s.urn, s.newState!]));
  const held = new Map((exported.deployment.resources ?? []).map((r) => [r.urn, r]));
  const written = new Map<string, Record<string, unknown>>();
  const add = (urn: string): void => {
    if (written.has(urn) || held.has(urn)) return;
    const state = byUrn.get(urn);
    if (!state) throw new Error(`the preview plans no create of ${urn}, which a key pair needs`);
    if (state.parent) add(state.parent);
    if (state.custom) throw new Error(`${urn}: a key pair's parent is a custom resource; adopt writes components only`);
    written.set(urn, { urn, type: state.type, custom: false, ...(state.parent ? { parent: state.parent } : {}) });
  };
  const provider = (ref: string): string => {
    const providerUrn = referencedUrn(ref);
    const inState = held.get(providerUrn);
    if (inState?.id) return `${providerUrn}::${inState.id}`;
    const done = written.get(providerUrn);
    if (done) return `${providerUrn}::${done.id}`;
    const id = newId();
    const state = byUrn.get(providerUrn);
    const fallback = defaultProvider(providerUrn);
    if (state) {
      if (JSON.stringify(state.inputs ?? {}).includes(SHOWN_SECRET)) throw new Error(`${providerUrn} has secret inputs, which a preview does not show: adopt cannot write it`);
      if (state.parent) add(state.parent);
      written.set(providerUrn, { urn: providerUrn, type: state.type, custom: true, id, inputs: state.inputs ?? {}, outputs: state.inputs ?? {}, ...(state.parent ? { parent: state.parent } : {}) });
    } else if (fallback) {
      written.set(providerUrn, { urn: providerUrn, custom: true, id, ...fallback });
    } else {
      throw new Error(`the preview plans no create of ${providerUrn}, the key pairs' provider`);
    }
    return `${providerUrn}::${id}`;
  };
  for (const [urn, key] of keys) {
    const state = byUrn.get(urn);
    if (!state || state.type !== TLS_KEY) throw new Error(`${urn} is not a key pair the preview would create`);
    const inputs = state.inputs ?? {};
    if (inputs.algorithm !== key.algorithm.algorithm || (key.algorithm.ecdsaCurve && inputs.ecdsaCurve !== key.algorithm.ecdsaCurve)) {
      throw new Error(
        `${urn}: the cluster's key is ${key.algorithm.algorithm}${key.algorithm.ecdsaCurve ? ` ${key.algorithm.ecdsaCurve}` : ""}, the program makes ${inputs.algorithm}${inputs.ecdsaCurve && inputs.algorithm === "ECDSA" ? ` ${inputs.ecdsaCurve}` : ""}: ` +
          "set fleet:repository.keyAlgorithm to what the cluster has",
      );
    }
    if (state.parent) add(state.parent);
    const providerRef = provider(String(state.provider ?? ""));
    const o = key.outputs;
    written.set(urn, {
      urn,
      type: TLS_KEY,
      custom: true,
      id: key.id,
      inputs,
      // As the rig's TLS double stores them (what the real tier compares), with no `id` among the
      // outputs; the program reads none but privateKeyOpenssh, publicKeyOpenssh and the fingerprint.
      outputs: {
        ...inputs,
        privateKeyPem: secretValue(o.privateKeyPem),
        privateKeyPemPkcs8: secretValue(o.privateKeyPemPkcs8),
        privateKeyOpenssh: secretValue(o.privateKeyOpenssh),
        publicKeyPem: o.publicKeyPem,
        publicKeyOpenssh: o.publicKeyOpenssh,
        publicKeyFingerprintMd5: o.publicKeyFingerprintMd5,
        publicKeyFingerprintSha256: o.publicKeyFingerprintSha256,
      },
      ...(state.parent ? { parent: state.parent } : {}),
      provider: providerRef,
    });
  }
  // After what the state holds, in the order written, which the state needs: each resource after its
  // parent (add writes the parent first) and each key after its provider.
  const added = [...written.values()] as unknown as StateResource[];
  return { ...exported, deployment: { ...exported.deployment, resources: [...(exported.deployment.resources ?? []), ...added] } };
}

/** A Kubernetes object, a Helm release, a deploy key or a default branch that may exist already. */
export interface AdoptLookups {
  /** Whether the cluster has the object or Helm release; a string when it could not be asked (why). */
  kubeExists(target: KubeTarget): boolean | string;
  deployKey(owner: string, repository: string, publicKey: string): Promise<{ readonly id: number; readonly title: string } | undefined>;
  repositoryExists(owner: string, name: string): Promise<boolean>;
}

/** One planned create, and whether it is imported (`id`) or made by the next `up` (with why). */
export interface Adoption {
  readonly urn: string;
  readonly type: string;
  readonly id?: string;
  readonly why: string;
  /** Nothing can be decided: adopt stops, saying what to do. */
  readonly ask?: boolean;
}

/** Why the next `up` may create what is not imported, by type (as scripts/recover.ts clears a pending create). */
const MADE_AGAIN: Readonly<Record<string, string>> = {
  "github:index/teamRepository:TeamRepository": "the program imports a grant it finds itself (components/github/adopt.ts)",
  "github:index/repository:Repository": "the program imports a repository it finds itself (components/github/adopt.ts)",
  "pulumi-nodejs:dynamic/fleet:ScaffoldFile": "it reads the file and writes it only when it is missing",
  "pulumi-nodejs:dynamic/fleet:BootstrapKeyRevocation": "a key already gone counts as revoked",
};

/** Each planned create of the preview, and what becomes of it. */
export async function planAdoption(
  steps: readonly PreviewStep[],
  owner: string | undefined,
  lookups: AdoptLookups,
  /** Public keys of the key pairs adopt writes back, by URN: a deploy key's `key` is unknown in the preview until then. */
  publicKeys: ReadonlyMap<string, string> = new Map(),
): Promise<Adoption[]> {
  const out: Adoption[] = [];
  for (const step of creates(steps)) {
    const s = step.newState!;
    const { type, urn } = { type: s.type, urn: step.urn };
    const inputs = s.inputs ?? {};
    if (!s.custom || type.startsWith("pulumi:providers:")) continue;
    if (type === TLS_KEY) {
      out.push({ urn, type, why: "no Secret in the cluster holds this key: the next up makes a new key pair, and a new deploy key with it" });
    } else if (type === KIND_CLUSTER) {
      out.push({
        urn,
        type,
        ask: true,
        why: "a kind cluster is a dynamic resource, which Pulumi cannot import: adopt the cluster as an existing one (fleet:cluster.type: kubeconfig, and kind get kubeconfig into the secret fleet:kubeconfig; docs/operations.md, \"Recovering\", a lost state)",
      });
    } else if (type === DEPLOY_KEY) {
      if (!owner) throw new Error("the preview has no github:owner on its GitHub provider, so deploy keys cannot be looked up");
      const pair = (s.propertyDependencies?.key ?? []).find((u) => publicKeys.has(u));
      const key = known(inputs.key) ? inputs.key : pair ? publicKeys.get(pair) : undefined;
      if (!known(inputs.repository) || key === undefined) {
        out.push({ urn, type, why: "its key pair is made anew (above): the next up adds the new public key" });
        continue;
      }
      const found = await lookups.deployKey(owner, inputs.repository, key);
      out.push(
        found
          ? { urn, type, id: `${inputs.repository}:${found.id}`, why: `GitHub holds this public key as ${owner}/${inputs.repository}'s deploy key ${found.id} ("${found.title}")` }
          : { urn, type, why: `GitHub holds no deploy key with this public key in ${owner}/${inputs.repository}: the next up adds it` },
      );
    } else if (type === BRANCH_DEFAULT) {
      if (!owner || !known(inputs.repository)) {
        out.push({ urn, type, why: "its repository is not known in the preview: the next up sets the default branch (a PATCH that changes nothing when it is already the branch)" });
        continue;
      }
      const exists = await lookups.repositoryExists(owner, inputs.repository);
      out.push(exists ? { urn, type, id: inputs.repository, why: `${owner}/${inputs.repository} exists` } : { urn, type, why: `GitHub has no ${owner}/${inputs.repository}: the next up creates it` });
    } else if (type.startsWith("kubernetes:") && !type.endsWith("Patch")) {
      const helm = type === HELM_RELEASE;
      const [name, namespace] = helm ? [inputs.name, inputs.namespace ?? "default"] : [inputs.metadata?.name, inputs.metadata?.namespace];
      if (!known(name) || (namespace !== undefined && !known(namespace)) || (!helm && !(known(inputs.apiVersion) && known(inputs.kind)))) {
        out.push({ urn, type, ask: true, why: "its name is not known in the preview" });
        continue;
      }
      const target: KubeTarget = helm ? { helmRelease: name, namespace } : { apiVersion: inputs.apiVersion, kind: inputs.kind, name, ...(namespace !== undefined ? { namespace } : {}) };
      const id = namespace !== undefined ? `${namespace}/${name}` : name;
      const exists = lookups.kubeExists(target);
      if (typeof exists === "string") out.push({ urn, type, ask: true, why: `the cluster could not be asked (${exists}): give it with --kubeconfig and --context` });
      else out.push(exists ? { urn, type, id, why: `the cluster has ${id}` } : { urn, type, why: `the cluster has no ${id}: the next up creates it` });
    } else if (type.startsWith("kubernetes:")) {
      out.push({ urn, type, why: "a server-side apply: the next up applies it over what is there" });
    } else {
      out.push({ urn, type, why: MADE_AGAIN[type] ?? "the next up creates it" });
    }
  }
  return out;
}

/**
 * The import file the program reads (components/imports.ts): each imported resource by type and
 * name. Two planned resources of one type and name (possible under different parents) would be
 * ambiguous, so that stops adopt.
 */
export function importFile(plan: readonly Adoption[], steps: readonly PreviewStep[]): { imports: Record<string, string> } {
  const seen = new Map<string, string>();
  // Every step, whatever its op: the program imports by type and name, a resource in state too.
  for (const s of steps.filter((x) => x.newState)) {
    const key = importKey(s.newState!.type, urnName(s.urn));
    if (seen.has(key) && plan.some((a) => a.id !== undefined && (a.urn === s.urn || a.urn === seen.get(key)))) {
      throw new Error(`two planned resources share the type and name ${key} (${seen.get(key)}, ${s.urn}): adopt cannot tell them apart`);
    }
    seen.set(key, s.urn);
  }
  return { imports: Object.fromEntries(plan.filter((a) => a.id !== undefined).map((a) => [importKey(a.type, urnName(a.urn)), a.id!])) };
}
