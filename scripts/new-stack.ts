/**
 * npm run new-stack -- <stack> [--environment <env>] [--from <stack>] [--kubeconfig]
 *
 * Adds a cluster to the fleet: writes `Pulumi.<stack>.yaml` from an existing stack file (by default
 * the stack that owns the repositories, `fleet:repository.create: true`), made into a stack that
 * creates no repository: it looks them up and adds only its own deploy keys and paths. The same
 * tenants, a kind cluster `fleet-<stack>` (or, with --kubeconfig, an existing cluster), and
 * `fleet:environment` when --environment is given. Encrypted values are not copied (they are
 * encrypted for the other stack). The file is evaluated offline under Pulumi's mocks and removed
 * again if the program refuses it; then the stack is added to `stacks.yaml` right after the stack it
 * was copied from, and the next steps are printed.
 */
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { Document, isMap, isScalar, isSeq, Pair, parseDocument, parse as parseYaml, YAMLMap } from "yaml";
import { CONFIG_KEYS, DEFAULTS } from "../components/config";
import { REPO_ROOT, runProgram, stackConfigAt } from "./lib/evaluate";
import { configOf, ORDER_FILE, readOrder, stackFiles } from "./lib/stacks";

export interface NewStackOptions {
  /** The new stack's name: also its default environment and its kind cluster's name `fleet-<stack>`. */
  readonly stack: string;
  /** `fleet:environment`: the environment the cluster joins. @default the stack name (left out of the file) */
  readonly environment?: string;
  /** The stack file to copy. @default the stack whose `fleet:repository.create` is true */
  readonly from?: string;
  /** An existing cluster (`type: kubeconfig`) instead of a kind cluster. */
  readonly kubeconfig?: boolean;
}

export interface NewStackResult {
  /** The file written: `<root>/Pulumi.<stack>.yaml`. */
  readonly file: string;
  readonly from: string;
  readonly environment: string;
  /** Config keys holding encrypted values that were not copied. */
  readonly dropped: readonly string[];
  /** The stack it follows in stacks.yaml, or undefined when it was appended at the end. */
  readonly after?: string;
  /** stacks.yaml's list afterwards: the apply order. */
  readonly order: readonly string[];
  /** What to do next, for people. */
  readonly nextSteps: string;
}

/** A refusal, with what to do instead. */
export class NewStackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NewStackError";
  }
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const NAME_HINT = "use lowercase letters, digits and '-', starting and ending with a letter or digit";
const REPOSITORY = "github:index/repository:Repository";
const KUBECONFIG_PLACEHOLDER = "apiVersion: v1\nkind: Config\n# placeholder: new-stack checks the config offline\n";
/** A seed of the right form (32 bytes, base64), for the offline check only. */
const SEED_PLACEHOLDER = Buffer.alloc(32).toString("base64");

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
const isSecure = (v: unknown): boolean => isObj(v) && "secure" in v;

/** `value` without any `{ secure: … }` in it; the key paths left out are added to `dropped`. */
function withoutSecrets(value: unknown, at: string, dropped: string[]): unknown {
  if (isSecure(value)) {
    dropped.push(at);
    return undefined;
  }
  if (Array.isArray(value)) return value.map((v, i) => withoutSecrets(v, `${at}[${i}]`, dropped)).filter((v) => v !== undefined);
  if (isObj(value)) {
    const entries = Object.entries(value).map(([k, v]) => [k, withoutSecrets(v, `${at}.${k}`, dropped)] as const);
    return Object.fromEntries(entries.filter(([, v]) => v !== undefined));
  }
  return value;
}

/**
 * A repository path moved from one name to another: each `/`-separated part equal to `from`
 * becomes `to`. Left out (undefined) when that gives `fallback` (the default, so the key can go),
 * or when no part is `from` and `keepOther` is false.
 */
function movedPath(p: string, from: string, to: string, fallback: string, keepOther: boolean): string | undefined {
  const parts = p.split("/");
  if (!parts.includes(from)) return keepOther ? p : undefined;
  const moved = parts.map((x) => (x === from ? to : x)).join("/");
  const bare = (s: string) => s.replace(/^(\.\/)+/, "");
  return bare(moved) === bare(fallback) ? undefined : moved;
}

/** The stack that creates the repositories: the only one whose `fleet:repository.create` is true. */
function owningStacks(root: string): string[] {
  return stackFiles(root).filter((s) => {
    const raw = parseYaml(fs.readFileSync(path.join(root, `Pulumi.${s}.yaml`), "utf8")) as { config?: Obj } | null;
    const repository = raw?.config?.[CONFIG_KEYS.repository];
    return isObj(repository) && repository.create === true;
  });
}

/** The new stack's `config:` map, from the source stack's. */
function newConfig(source: Obj, sourceStack: string, o: NewStackOptions, dropped: string[]) {
  const environment = o.environment ?? o.stack;
  const sourceEnvironment = typeof source[CONFIG_KEYS.environment] === "string" ? (source[CONFIG_KEYS.environment] as string) : sourceStack;
  const sourceCluster = isObj(source[CONFIG_KEYS.cluster]) ? (source[CONFIG_KEYS.cluster] as Obj) : {};
  const sourceKind = (sourceCluster.type ?? DEFAULTS.clusterType) === "kind";
  const cluster: Obj = o.kubeconfig
    ? { type: "kubeconfig" }
    : {
        type: "kind",
        name: DEFAULTS.clusterName(o.stack),
        ...(sourceKind && typeof sourceCluster.nodeImage === "string" ? { nodeImage: sourceCluster.nodeImage } : {}),
        workers: sourceKind && typeof sourceCluster.workers === "number" ? sourceCluster.workers : DEFAULTS.workers,
      };

  const repository: Obj = {};
  for (const [key, value] of Object.entries(isObj(source[CONFIG_KEYS.repository]) ? (source[CONFIG_KEYS.repository] as Obj) : {})) {
    if (key === "create") repository.create = false;
    else if (key === "templateEnvironments") continue; // the owning stack's list, not a lookup stack's
    else if (key === "path") {
      // Never the source cluster's own path: two clusters syncing one path would fight over it.
      const moved = typeof value === "string" ? movedPath(value, sourceStack, o.stack, DEFAULTS.fleetPath(o.stack), false) : undefined;
      if (moved !== undefined) repository.path = moved;
    } else repository[key] = withoutSecrets(value, `${CONFIG_KEYS.repository}.${key}`, dropped);
  }
  repository.create = false;

  const sourceTenants = Array.isArray(source[CONFIG_KEYS.tenants]) ? (source[CONFIG_KEYS.tenants] as unknown[]) : [];
  // A tenant marked for offboarding is on its way out: a new cluster does not onboard it.
  const tenants = sourceTenants.flatMap((entry, i) => {
    if (isObj(entry) && entry.offboard === true) return [];
    const tenant = { ...(withoutSecrets(entry, `${CONFIG_KEYS.tenants}[${i}]`, dropped) as Obj) };
    if (isObj(tenant.repository)) {
      const { create, ...rest } = tenant.repository;
      // An explicit `create: false` stays: it marks a repository no stack creates.
      if (create === false) rest.create = false;
      if (Object.keys(rest).length > 0) tenant.repository = rest;
      else delete tenant.repository;
    }
    if (typeof tenant.path === "string") {
      const moved = movedPath(tenant.path, sourceEnvironment, environment, DEFAULTS.tenantPath(environment), true);
      if (moved === undefined) delete tenant.path;
      else tenant.path = moved;
    }
    return [tenant];
  });

  const config: Obj = {};
  const put = (key: string, value: unknown) => {
    if (value !== undefined) config[key] = value;
  };
  put("pulumi:disable-default-providers", source["pulumi:disable-default-providers"]);
  put(CONFIG_KEYS.owner, source[CONFIG_KEYS.owner]);
  put(CONFIG_KEYS.environment, o.environment);
  put(CONFIG_KEYS.cluster, cluster);
  for (const [key, value] of Object.entries(source)) {
    if (key in config || key === CONFIG_KEYS.environment || key === CONFIG_KEYS.cluster) continue;
    if (key === CONFIG_KEYS.kubeconfig) {
      if (!dropped.includes(key)) dropped.push(key); // another cluster's, encrypted or not
    } else if (key === CONFIG_KEYS.repository) put(key, repository);
    else if (key === CONFIG_KEYS.tenants) put(key, tenants);
    else put(key, withoutSecrets(value, key, dropped));
  }
  if (!(CONFIG_KEYS.repository in config)) put(CONFIG_KEYS.repository, repository);
  return { config, environment, sourceEnvironment };
}

/** The stack file's text: the config with comments that say what to review and edit. */
function stackFileText(config: Obj, o: NewStackOptions & { stack: string }, from: string, environment: string, owner: string, dropped: readonly string[]): string {
  const fleetRepository = String((config[CONFIG_KEYS.repository] as Obj).name ?? DEFAULTS.repositoryName);
  const doc = new Document({ config });
  const header = [
    ` Stack ${o.stack}: one cluster of environment ${environment}${o.environment ? "" : " (the stack name; set fleet:environment to join another)"}.`,
    ` Written by \`npm run new-stack\` from Pulumi.${from}.yaml: review every value, then commit this file`,
    ` with ${ORDER_FILE} (docs/environments.md).`,
    ` The repositories belong to ${owner}, applied before this stack.`,
    ` This stack looks them up and adds only its own deploy keys (titled flux-${o.stack}), its`,
    ` clusters/${o.stack} in ${fleetRepository}, and the environment's paths (flux/${environment}, infrastructure/${environment})`,
    ` where they are missing.`,
  ];
  if (dropped.length > 0) {
    header.push(
      ` Not copied from Pulumi.${from}.yaml, being encrypted for that stack (or another cluster's):`,
      ...dropped.map((k) => `   ${k}`),
      ` Set what this stack needs again: pulumi config set --secret --stack ${o.stack} <key> <value>`,
    );
  }
  doc.commentBefore = header.join("\n");

  const map = doc.get("config") as YAMLMap;
  const pair = (key: string) => (map.items as Pair[]).find((p) => isScalar(p.key) && p.key.value === key);
  const note = (key: string, text: string) => {
    const p = pair(key);
    if (p && isScalar(p.key)) p.key.commentBefore = text;
  };
  note(
    CONFIG_KEYS.environment,
    ` Clusters of one environment share ./flux/${environment} in the tenant repositories and infrastructure/${environment}\n in ${fleetRepository}; clusters/<stack>, deploy keys and the kind cluster stay per stack.`,
  );
  note(
    CONFIG_KEYS.cluster,
    o.kubeconfig
      ? ` An existing cluster. Store its kubeconfig, encrypted for this stack (after pulumi stack init ${o.stack}):\n   pulumi config set --secret --stack ${o.stack} fleet:kubeconfig < kubeconfig.yaml\n Add context: <name> to use another context than the kubeconfig's current one.`
      : ` A kind cluster on the machine that runs pulumi up (CI skips kind stacks). For an existing\n cluster: type: kubeconfig without name, nodeImage and workers, then\n   pulumi config set --secret --stack ${o.stack} fleet:kubeconfig < kubeconfig.yaml`,
  );
  const cluster = pair(CONFIG_KEYS.cluster)?.value as YAMLMap | undefined;
  const image = (cluster?.items as Pair[] | undefined)?.find((p) => isScalar(p.key) && p.key.value === "nodeImage");
  if (image && isScalar(image.key)) image.key.commentBefore = ` From Pulumi.${from}.yaml, pinned by digest; docs/kind.md lists the kind releases it works with.`;
  note(
    CONFIG_KEYS.repository,
    ` Looked up, never created here (create: false). This cluster syncs clusters/${o.stack} in it\n (path, when set, overrides that).`,
  );
  note(
    CONFIG_KEYS.tenants,
    ` The tenants of Pulumi.${from}.yaml, on this cluster: their repositories are looked up, each gets a deploy\n key titled flux-${o.stack}, and Flux applies path (default ./flux/${environment}). Review quotas and paths.`,
  );
  const tenants = pair(CONFIG_KEYS.tenants)?.value;
  if (isSeq(tenants)) {
    for (const t of tenants.items) {
      const namespaces = isMap(t) ? t.get("namespaces", true) : undefined;
      if (isSeq(namespaces)) namespaces.flow = true;
    }
  }
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

/** Inserts `stack` into stacks.yaml after `after` (or at the end), keeping the file's comments. */
function addToOrder(root: string, stack: string, after: string): { order: string[]; after?: string } {
  const file = path.join(root, ORDER_FILE);
  const doc = parseDocument(fs.readFileSync(file, "utf8"));
  const seq = doc.get("stacks", true);
  if (!isSeq(seq)) throw new NewStackError(`${ORDER_FILE}: has no list "stacks"`);
  const names = seq.items.map((item) => (isScalar(item) ? String(item.value) : ""));
  if (names.includes(stack)) return { order: names, after: names[names.indexOf(stack) - 1] };
  const i = names.indexOf(after);
  seq.items.splice(i < 0 ? seq.items.length : i + 1, 0, doc.createNode(stack));
  fs.writeFileSync(file, doc.toString());
  const order = i < 0 ? [...names, stack] : [...names.slice(0, i + 1), stack, ...names.slice(i + 1)];
  return { order, ...(i < 0 ? (names.length > 0 ? { after: names[names.length - 1] } : {}) : { after }) };
}

/**
 * Adds `environment` to the owning stack's `fleet:repository.templateEnvironments` (listing its
 * own environment first when the key was unset), keeping the file's comments. Returns whether it
 * changed the file.
 */
function addTemplateEnvironment(root: string, owner: string, environment: string): boolean {
  const file = path.join(root, `Pulumi.${owner}.yaml`);
  const doc = parseDocument(fs.readFileSync(file, "utf8"));
  const keyPath = ["config", CONFIG_KEYS.repository, "templateEnvironments"];
  const listed = doc.getIn(keyPath, true);
  if (isSeq(listed)) {
    if (listed.items.some((item) => isScalar(item) && item.value === environment)) return false;
    listed.items.push(doc.createNode(environment));
  } else {
    const own = String(doc.getIn(["config", CONFIG_KEYS.environment]) ?? DEFAULTS.environment(owner));
    if (own === environment) return false;
    doc.setIn(keyPath, doc.createNode([own, environment], { flow: true }));
  }
  fs.writeFileSync(file, doc.toString({ lineWidth: 0, flowCollectionPadding: false }));
  return true;
}

/**
 * Writes `<root>/Pulumi.<stack>.yaml` for a new cluster, checks it with the program under mocks,
 * and adds the stack to `<root>/stacks.yaml`.
 * @throws NewStackError saying what is wrong; nothing is left written then
 */
export async function newStack(options: NewStackOptions, root = REPO_ROOT): Promise<NewStackResult> {
  const { stack } = options;
  if (!NAME.test(stack)) {
    throw new NewStackError(`invalid stack name ${JSON.stringify(stack)}: ${NAME_HINT} (the stack name is also the default environment and the kind cluster name fleet-<stack>)`);
  }
  if (options.environment !== undefined && !NAME.test(options.environment)) {
    throw new NewStackError(`invalid environment ${JSON.stringify(options.environment)}: ${NAME_HINT}`);
  }
  const file = path.join(root, `Pulumi.${stack}.yaml`);
  if (fs.existsSync(file)) throw new NewStackError(`Pulumi.${stack}.yaml already exists; choose another stack name, or edit that file`);

  const stacks = stackFiles(root);
  const owners = owningStacks(root);
  let from = options.from;
  if (from === undefined) {
    if (owners.length !== 1) {
      throw new NewStackError(
        owners.length === 0
          ? `no stack owns the repositories (no Pulumi.<stack>.yaml has fleet:repository.create: true); name the stack to copy with --from <stack>`
          : `several stacks have fleet:repository.create: true (${owners.join(", ")}); name the stack to copy with --from <stack>`,
      );
    }
    from = owners[0];
  } else if (!stacks.includes(from)) {
    throw new NewStackError(`--from ${from}: there is no Pulumi.${from}.yaml; stacks here: ${stacks.join(", ") || "none"}`);
  }
  const order = readOrder(root);
  if (order.problems.length > 0) throw new NewStackError(`fix ${ORDER_FILE} first:\n${order.problems.map((p) => `  - ${p}`).join("\n")}`);

  const source = (parseYaml(fs.readFileSync(path.join(root, `Pulumi.${from}.yaml`), "utf8")) as { config?: Obj } | null)?.config ?? {};
  const dropped: string[] = [];
  const { config, environment, sourceEnvironment } = newConfig(source, from, options, dropped);
  const needsSeed = ((config[CONFIG_KEYS.tenants] as Obj[] | undefined) ?? []).some((t) => t.secrets !== undefined);
  const owner = owners.length === 1 ? `stack ${owners[0]} (fleet:repository.create: true)` : "the stacks that create them";
  fs.writeFileSync(file, stackFileText(config, options, from, environment, owner, dropped), { flag: "wx" });

  let registered: number;
  try {
    const written = stackConfigAt(root, stack);
    // Secrets this stack sets after it is written get placeholders: its kubeconfig, and the SOPS
    // seed of an environment whose tenants have secrets (never copied: it is encrypted for its stack).
    const placeholders: Obj = {
      ...(options.kubeconfig ? { [CONFIG_KEYS.kubeconfig]: KUBECONFIG_PLACEHOLDER } : {}),
      ...(needsSeed && !(CONFIG_KEYS.sopsSeed in written.config) ? { [CONFIG_KEYS.sopsSeed]: SEED_PLACEHOLDER } : {}),
    };
    const result = await runProgram({
      stack,
      config: { ...written.config, ...placeholders },
      secretKeys: [...written.secretKeys, ...Object.keys(placeholders)],
    });
    if (result.error) throw new NewStackError(`the program refuses Pulumi.${stack}.yaml, so it was not written:\n${result.error.message}`);
    const created = result.resources.filter((r) => r.type === REPOSITORY).map((r) => String(r.inputs.name));
    if (created.length > 0) throw new NewStackError(`Pulumi.${stack}.yaml would create repositories (${created.join(", ")}), so it was not written`);
    registered = result.resources.length;
  } catch (e) {
    fs.rmSync(file, { force: true });
    throw e;
  }

  const placed = addToOrder(root, stack, from);
  // Only the owner of the fleet repository this stack uses holds its tenant template.
  const fleetOf = (s: string) => configOf(root, s)?.repository.name.toLowerCase();
  const templateOwner = owners.length === 1 && fleetOf(owners[0]) === fleetOf(stack) ? owners[0] : undefined;
  const addedEnvironment = templateOwner !== undefined && addTemplateEnvironment(root, templateOwner, environment);
  const where = placed.after ? `after ${placed.after}` : "first";
  const steps = [
    `Review Pulumi.${stack}.yaml (cluster, tenants, quotas, paths) and its offline render: npm run render -- ${stack}`,
    ...(options.kubeconfig
      ? [`Create the stack in the shared backend and store the cluster's kubeconfig in it: pulumi stack init ${stack}, then pulumi config set --secret --stack ${stack} fleet:kubeconfig < kubeconfig.yaml`]
      : []),
    ...(dropped.length > 0 ? [`Set the encrypted values again for this stack: ${dropped.join(", ")} (pulumi config set --secret --stack ${stack} <key> <value>)`] : []),
    ...(needsSeed
      ? [
        environment === sourceEnvironment
          ? `Its tenants have secrets: give it environment ${environment}'s SOPS seed, the same as ${from}'s: pulumi config get ${CONFIG_KEYS.sopsSeed} --stack ${from} | pulumi config set --secret ${CONFIG_KEYS.sopsSeed} --stack ${stack}`
          : `Its tenants have secrets: give environment ${environment} its own SOPS seed (and every later stack of it the same): openssl rand -base64 32 | pulumi config set --secret ${CONFIG_KEYS.sopsSeed} --stack ${stack}`,
      ]
      : []),
    `Create the GitHub environments ${stack} and ${stack}-preview with this stack's secrets and protection rules (docs/environments.md)`,
    `Commit Pulumi.${stack}.yaml${addedEnvironment ? `, Pulumi.${templateOwner}.yaml` : ""} and ${ORDER_FILE}, and open a pull request: CI renders ${stack} (everything added) and previews it`,
    `Merge: CI runs pulumi up of ${placed.order.join(", ")}, one at a time in that order` +
      (options.kubeconfig ? "" : ` (a kind stack is skipped there: run npm run up -- ${stack} on the machine that hosts it)`),
  ];
  const nextSteps = [
    `Wrote Pulumi.${stack}.yaml from Pulumi.${from}.yaml: environment ${environment}, ${options.kubeconfig ? "an existing cluster (kubeconfig)" : `kind cluster ${DEFAULTS.clusterName(stack)}`}.`,
    `Checked offline: the program accepts it and registers ${registered} resources, no repository.`,
    `Added ${stack} to ${ORDER_FILE} ${where}: the apply order is ${placed.order.join(", ")}. Move it there if it belongs elsewhere.`,
    ...(addedEnvironment
      ? [`Added environment ${environment} to fleet:repository.templateEnvironments in Pulumi.${templateOwner}.yaml: tenant repositories generated from now on hold flux/${environment}/kustomization.yaml (docs/github.md).`]
      : []),
    "",
    "Next:",
    ...steps.map((s, i) => `  ${i + 1}. ${s}`),
    "",
  ].join("\n");
  return { file, from, environment, dropped, ...(placed.after ? { after: placed.after } : {}), order: placed.order, nextSteps };
}

async function main(argv: string[]): Promise<void> {
  const usage = "usage: npm run new-stack -- <stack> [--environment <env>] [--from <stack>] [--kubeconfig]";
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { environment: { type: "string" }, from: { type: "string" }, kubeconfig: { type: "boolean" } },
    });
  } catch (e) {
    throw new NewStackError(`${(e as Error).message}\n${usage}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new NewStackError(usage);
  const result = await newStack({
    stack: positionals[0],
    ...(values.environment !== undefined ? { environment: values.environment } : {}),
    ...(values.from !== undefined ? { from: values.from } : {}),
    ...(values.kubeconfig ? { kubeconfig: true } : {}),
  });
  process.stdout.write(result.nextSteps);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: Error) => {
    process.stderr.write(`new-stack: ${e.message}\n`);
    process.exit(1);
  });
}
