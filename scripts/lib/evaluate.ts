/**
 * Evaluates the Pulumi program for one stack name and config under Pulumi's mocks, offline, and
 * returns everything it registered: type, name, inputs (with secret markers kept), parent,
 * provider and dependencies. Used by the tests, `npm run render` and `npm run bench`. Safe to
 * call many times in one process: the program is a function, mocks and config are set afresh per
 * run, and it waits until every registration has settled.
 */
import { generateKeyPairSync } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import { parse as parseYaml } from "yaml";
import { setProgramGitHubRequest } from "../../components/github/branch-exists";
import { outputPromise } from "../../components/perf";

/** The checkout this file is in. */
export const REPO_ROOT = path.resolve(__dirname, "..", "..");

/** One resource registration, as the engine would have received it. */
export interface Registered {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly custom: boolean;
  /** URN of the parent resource, "" for none. */
  readonly parent: string;
  /** Provider reference (`<provider urn>::<id>`), "" for the default provider. */
  readonly provider: string;
  /** Inputs with secrets unwrapped: what the provider would receive. */
  readonly inputs: Record<string, any>;
  /** Inputs as serialized on the wire: secrets are `{ <sig>: <secret sig>, value }` objects. */
  readonly rawInputs: Record<string, any>;
  /** URNs this resource depends on: `dependsOn` plus the resources its inputs came from. */
  readonly dependencies: readonly string[];
  readonly additionalSecretOutputs: readonly string[];
  readonly deleteBeforeReplace: boolean;
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  /** The URN whose deletion deletes this resource with it (`deletedWith`), if any. */
  readonly deletedWith?: string;
  readonly ignoreChanges: readonly string[];
  /** The `import` ID, "" when the resource is created, not imported. */
  readonly importId: string;
  /** Aliases as sent to the engine: alias specs (`{ name, type, parentUrn, ... }`, empty fields left out) or URNs. */
  readonly aliases: readonly Record<string, unknown>[];
  /** The source position sent (`file:///…#line,column`), "" for none. */
  readonly sourcePosition: string;
  /** The stack trace sent, one `file:///…#line,column` per frame ("" for a frame without one); the engine keeps it in state. */
  readonly stackTrace: readonly string[];
}

/** A `SourcePosition` message as `uri#line,column` (the engine's form in state), "" when absent. */
function position(pos: any): string {
  return pos ? `${pos.getUri()}#${pos.getLine()},${pos.getColumn()}` : "";
}

export function isKubernetesObject(r: Registered): boolean {
  return r.type.startsWith("kubernetes:") && r.type !== "kubernetes:helm.sh/v3:Release";
}

export interface RunResult {
  /** Every registration, in registration order. */
  readonly resources: readonly Registered[];
  /** The program's stack outputs, resolved (secrets unwrapped), or undefined when it failed. */
  readonly outputs?: Record<string, unknown>;
  /** The program's stack outputs as returned (Outputs, secrets still marked). */
  readonly exported?: Record<string, unknown>;
  /** The error the program threw, if any. */
  readonly error?: Error;
  /** Invoke calls made (e.g. `github:index/getRepository:getRepository`). */
  readonly calls: readonly { token: string; inputs: Record<string, any> }[];
  /** Warnings the program logged (`pulumi.log.warn`: the CLI shows them as warnings). */
  readonly warnings: readonly string[];
  /**
   * GitHub REST requests the program's own process made (the branch wait), in order, each with
   * the number of resources registered when it was answered.
   */
  readonly githubRequests: readonly { method: string; path: string; registeredWhenAnswered: number }[];
}

export interface RunOptions {
  /** Stack name: the environment. */
  readonly stack: string;
  /** How long the program's own GitHub requests (the branch wait) take to answer, in ms. @default 0 */
  readonly githubDelayMs?: number;
  /** Config as in a `Pulumi.<stack>.yaml`: `key → value`; objects and lists are JSON-encoded. */
  readonly config: Readonly<Record<string, unknown>>;
  /** Config keys that are secrets (e.g. `fleet:kubeconfig`). */
  readonly secretKeys?: readonly string[];
  /** Overrides for invoke results by token; throw to simulate a failing lookup. */
  readonly calls?: Readonly<Record<string, (inputs: Record<string, any>) => Record<string, any>>>;
  /** Path of the program module to run. @default this checkout's index.ts */
  readonly programPath?: string;
  /**
   * Whether mocked providers return computed outputs (keys, URLs, kubeconfigs). With false and
   * `preview: true`, they stay unknown, as in `pulumi preview`. @default true
   */
  readonly computed?: boolean;
  /** A program to run instead of index.ts (for component-level tests). */
  readonly program?: () => Promise<Record<string, unknown>>;
  /** Run a preview (`pulumi preview`) instead of an update. */
  readonly preview?: boolean;
  /** The outputs of the stack's last update, which it reads (`pulumi:pulumi:readStackOutputs`). @default none */
  readonly previousOutputs?: Readonly<Record<string, unknown>>;
  /**
   * Which repositories exist on GitHub (by name), as `getRepository` answers.
   * @default every repository but those this stack's config creates: a first `up`
   */
  readonly exists?: (name: string) => boolean;
  /** Milliseconds the engine takes to create the resources of these names (a slow step); the rest take none. */
  readonly delays?: Readonly<Record<string, number>>;
  /** Repositories each team (by slug) has a grant on, as `getTeam` lists them. @default none */
  readonly teamRepositories?: Readonly<Record<string, readonly string[]>>;
}

const SECRET_SIG = rpc.specialSecretSig;
const SIG_KEY = rpc.specialSigKey;

/** True when a wire value is a Pulumi secret. */
export function isSecretValue(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** True when the wire value at `path`, or any object on the way to it, is a secret. */
export function isSecretPath(raw: unknown, path: readonly string[]): boolean {
  let value: any = raw;
  for (const key of path) {
    if (isSecretValue(value)) return true;
    value = value?.[key];
  }
  return isSecretValue(value);
}

/**
 * Rebuilds a wire value with every secret wrapper removed, mapping each leaf (anything that is
 * not an array or object) through `leaf`, which is told whether the leaf sat inside a secret.
 */
export function mapWireLeaves(value: unknown, leaf: (value: unknown, inSecret: boolean) => unknown, inSecret = false): unknown {
  if (isSecretValue(value)) return mapWireLeaves((value as { value: unknown }).value, leaf, true);
  if (Array.isArray(value)) return value.map((v) => mapWireLeaves(v, leaf, inSecret));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapWireLeaves(v, leaf, inSecret)]));
  }
  return leaf(value, inSecret);
}

/** Replaces every `{ <sig>: <secret sig>, value }` wrapper with its value. */
function unwrapSecrets(value: unknown): any {
  return mapWireLeaves(value, (v) => v);
}

/** Fake provider outputs, so components can use computed fields as they would after `pulumi up`. */
function mockState(type: string, name: string, inputs: Record<string, any>): Record<string, any> {
  switch (type) {
    case "pulumi-nodejs:dynamic/fleet:KindCluster":
      return {
        ...inputs,
        kubeconfig: `apiVersion: v1\nkind: Config\n# mock kubeconfig for ${name}\n`,
        endpoint: "https://127.0.0.1:6443",
        context: `kind-${inputs.name ?? name}`,
      };
    case "tls:index/privateKey:PrivateKey":
      return {
        ...inputs,
        privateKeyOpenssh: `-----BEGIN OPENSSH PRIVATE KEY-----\nmock-${name}\n-----END OPENSSH PRIVATE KEY-----\n`,
        privateKeyPem: `-----BEGIN PRIVATE KEY-----\nmock-${name}\n-----END PRIVATE KEY-----\n`,
        publicKeyOpenssh: `ssh-ed25519 AAAAmock${name}\n`,
        publicKeyFingerprintSha256: `SHA256:mock-${name}`,
      };
    case "github:index/repository:Repository":
      return {
        ...inputs,
        fullName: `mock-owner/${inputs.name}`,
        htmlUrl: `https://github.com/mock-owner/${inputs.name}`,
        sshCloneUrl: `git@github.com:mock-owner/${inputs.name}.git`,
      };
    default:
      return inputs;
  }
}

/**
 * What the GitHub provider answers for a repository that is missing: not an error, every property
 * empty or zero (terraform-provider-github v6.13.0, data_source_github_repository.go:
 * `d.SetId("")`; the rig's double answers the same).
 */
export const MISSING_REPOSITORY = Object.freeze({ id: "", name: "", fullName: "", htmlUrl: "", sshCloneUrl: "", defaultBranch: "", visibility: "", archived: false });

function defaultCall(token: string, inputs: Record<string, any>, world: { exists: (name: string) => boolean; teams: Readonly<Record<string, readonly string[]>> }): Record<string, any> {
  if (token === "github:index/getRepository:getRepository") {
    const name = inputs.name ?? String(inputs.fullName ?? "").split("/").pop();
    if (!world.exists(name)) return { ...MISSING_REPOSITORY };
    const fullName = inputs.fullName ?? `mock-owner/${name}`;
    return {
      id: name,
      name,
      fullName,
      htmlUrl: `https://github.com/${fullName}`,
      sshCloneUrl: `git@github.com:${fullName}.git`,
      defaultBranch: "main",
      visibility: "private",
      archived: false,
    };
  }
  if (token === "github:index/getTeam:getTeam") {
    // A team that exists; the provider rejects the invoke on 404 (data_source_github_team.go).
    // GitHub's id is numeric; this one names the slug, so tests can read a grant's team.
    const id = `team-${inputs.slug}`;
    const repos = inputs.summaryOnly ? [] : [...(world.teams[inputs.slug] ?? [])];
    return {
      id, nodeId: `T_${inputs.slug}`, slug: inputs.slug, name: inputs.slug,
      repositories: repos,
      repositoriesDetaileds: repos.map((r, i) => ({ repoId: i + 1, repoName: r, roleName: "push" })),
    };
  }
  return inputs;
}

/** The repositories the config just set makes the stack create (none when it does not load). */
function createdByConfig(): Set<string> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { loadStackConfig } = require(path.join(REPO_ROOT, "components", "config")) as typeof import("../../components/config");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { wantedRepositories } = require(path.join(REPO_ROOT, "components", "github", "adopt")) as typeof import("../../components/github/adopt");
    return new Set(wantedRepositories(loadStackConfig().config).map((w) => w.name));
  } catch {
    return new Set();
  }
}

/** Encodes config values the way the Pulumi CLI hands them to a program: strings, objects as JSON. */
function encodeConfig(config: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    out[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return out;
}

/**
 * Reads the `config:` map of `<root>/Pulumi.<stack>.yaml`. Encrypted values (`secure: …`) cannot
 * be decrypted offline: they become the placeholder "[secret]" and are listed as secret keys;
 * `fleet:githubAppPrivateKey` and `fleet:sopsSeed`, whose form the config check reads, become throwaways of that form.
 */
export function stackConfigAt(root: string, stack: string): { config: Record<string, unknown>; secretKeys: string[] } {
  return stackConfigFile(path.join(root, `Pulumi.${stack}.yaml`));
}

/** The `config:` map of a stack config file at any path (`pulumi --config-file`), as stackConfigAt. */
export function stackConfigFile(file: string): { config: Record<string, unknown>; secretKeys: string[] } {
  const raw = (parseYaml(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> } | null)?.config ?? {};
  const config: Record<string, unknown> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const secure = value !== null && typeof value === "object" && "secure" in (value as object);
    config[key] = secure ? (PLACEHOLDERS[key]?.() ?? "[secret]") : value;
    if (secure) secretKeys.push(key);
  }
  return { config, secretKeys };
}

/**
 * Secrets whose form the config check reads get a throwaway of that form: an App's key, and the SOPS
 * seed (whose recipients in a render are then not the stack's: they come from the real seed).
 */
const PLACEHOLDERS: Readonly<Record<string, () => string>> = {
  "fleet:githubAppPrivateKey": () => placeholderRsaKey(),
  "fleet:sopsSeed": () => Buffer.alloc(32, 0x5a).toString("base64"),
};

let rsaKey: string | undefined;
/** An RSA private key made for this process only, in place of an App's key that cannot be decrypted here. */
function placeholderRsaKey(): string {
  rsaKey ??= generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  return rsaKey;
}

/** The `config:` map of this checkout's `Pulumi.<stack>.yaml`. */
export function stackConfig(stack: string): Record<string, unknown> {
  return stackConfigAt(REPO_ROOT, stack).config;
}

/** Runs `index.ts`'s program under mocks and collects what it registered. */
export async function runProgram(options: RunOptions): Promise<RunResult> {
  const resources: Registered[] = [];
  const calls: { token: string; inputs: Record<string, any> }[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const result = { id: `${args.name}-id`, state: options.computed === false ? args.inputs : mockState(args.type, args.name, args.inputs) };
        const delay = options.delays?.[args.name];
        return delay === undefined ? result : new Promise((resolve) => setTimeout(() => resolve(result), delay));
      },
      call: (args) => {
        calls.push({ token: args.token, inputs: args.inputs });
        const override = options.calls?.[args.token];
        if (override) return override(args.inputs);
        // The stack reading its own last outputs (components/github/write-budget.ts); the engine answers
        // `{ name, outputs, secretOutputNames }`, with no outputs before a first update.
        if (args.token === "pulumi:pulumi:readStackOutputs") return { name: args.inputs.name, outputs: options.previousOutputs ?? {}, secretOutputNames: [] };
        return defaultCall(args.token, args.inputs, world);
      },
    },
    "fleet",
    options.stack,
    options.preview ?? false,
    "organization", // the local file backend's organization
  );
  pulumi.runtime.setAllConfig(encodeConfig(options.config), [...(options.secretKeys ?? [])]);
  const created = options.exists ? undefined : createdByConfig();
  const world = { exists: options.exists ?? ((name: string) => !created!.has(name)), teams: options.teamRepositories ?? {} };

  // GitHub as the program's own process sees it (components/github/branch-exists.ts,
  // branchAppears): a repository's branch is there, as GitHub answers once a generated
  // repository is filled in (GET /repos/{owner}/{repo}/branches/{branch}: 200). Anything else
  // the program asks is not expected of it, and fails.
  const githubRequests: { method: string; path: string; registeredWhenAnswered: number }[] = [];
  setProgramGitHubRequest(async (method, requestPath) => {
    if (options.githubDelayMs) await new Promise((resolve) => setTimeout(resolve, options.githubDelayMs));
    githubRequests.push({ method, path: requestPath, registeredWhenAnswered: resources.length });
    if (method === "GET" && /^\/repos\/[^/]+\/[^/]+\/branches\/[^/]+$/.test(requestPath)) return { status: 200, body: { name: decodeURIComponent(requestPath.split("/").pop()!) } };
    throw new Error(`the offline GitHub double has no answer for ${method} ${requestPath}`);
  });

  // Wrap the mock monitor to keep what MockResourceArgs leaves out (dependencies, parent, options).
  const monitor = pulumi.runtime.getMonitor() as any;
  // URNs as the engine makes them. The SDK's MockMonitor (@pulumi/pulumi 3.270.0,
  // runtime/mocks.js, `newUrn`) prefixes a child's type with its parent's own type only, so a
  // grandchild's URN lost the types between; the engine prefixes it with the parent's whole
  // qualified type, unless the parent is the stack (pulumi v3.274.1,
  // sdk/go/common/resource/urn/urn.go, `New`). test/urns.spec.ts pins URNs, and a component's
  // children moving is exactly what it must see.
  monitor.newUrn = (parent: string, type: string, name: string) => {
    const qualified = parent ? parent.split("::")[2] : "";
    const full = qualified && qualified !== "pulumi:pulumi:Stack" ? `${qualified}$${type}` : type;
    return `urn:pulumi:${pulumi.getStack()}::${pulumi.getProject()}::${full}::${name}`;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: (err: any, res: any) => void) =>
    register(req, (err: any, res: any) => {
      if (!err) {
        const propertyDeps: string[] = [];
        req.getPropertydependenciesMap().forEach((deps: any) => propertyDeps.push(...deps.getUrnsList()));
        resources.push({
          type: req.getType(),
          name: req.getName(),
          urn: res.getUrn(),
          custom: req.getCustom(),
          parent: req.getParent(),
          provider: req.getProvider(),
          inputs: unwrapSecrets(rpc.deserializeProperties(req.getObject())),
          rawInputs: req.getObject()?.toJavaScript() ?? {},
          dependencies: [...new Set([...req.getDependenciesList(), ...propertyDeps])],
          additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
          deleteBeforeReplace: req.getDeletebeforereplace(),
          protect: req.getProtect() ?? false,
          retainOnDelete: req.getRetainondelete() ?? false,
          deletedWith: req.getDeletedwith() || undefined,
          ignoreChanges: req.getIgnorechangesList(),
          importId: req.getImportid() ?? "",
          aliases: [
            ...(req.getAliasesList?.() ?? []).map((a: any) => {
              const spec = a.getSpec?.();
              const raw = spec ? spec.toObject() : { urn: a.getUrn?.() };
              return Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== "" && v !== undefined && v !== false));
            }),
            ...(req.getAliasurnsList?.() ?? []).map((urn: string) => ({ urn })),
          ],
          sourcePosition: position(req.getSourceposition()),
          stackTrace: (req.getStacktrace()?.getFramesList() ?? []).map((f: any) => position(f.getPc())),
        });
      }
      callback(err, res);
    });

  // Required only now, after setMocks: the program module is a function, so the cache is harmless.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const program = options.program ?? (require(options.programPath ?? path.join(REPO_ROOT, "index.ts")) as () => Promise<Record<string, unknown>>);
  let outputs: Record<string, unknown> | undefined;
  let exported: Record<string, unknown> | undefined;
  let error: Error | undefined;
  // Without an engine, pulumi.log.warn writes `warning: [runtime] <message>` to console.warn.
  const warnings: string[] = [];
  const consoleWarn = console.warn;
  console.warn = (...args: unknown[]) => {
    const line = args.map(String).join(" ");
    if (line.startsWith("warning: [runtime] ")) warnings.push(line.slice("warning: [runtime] ".length));
    else consoleWarn(...args);
  };
  try {
    exported = await program();
    outputs = await resolveOutputs(exported);
  } catch (e) {
    error = e as Error;
  } finally {
    console.warn = consoleWarn;
  }
  await (pulumi.runtime as any).waitForRPCs();
  return { resources, outputs, exported, error, calls, warnings, githubRequests };
}

/** Resolves a tree of Outputs to plain values (secrets unwrapped). */
async function resolveOutputs(value: unknown): Promise<any> {
  if (pulumi.Output.isInstance(value)) {
    // Output.promise() rejects when the output failed (an apply threw, a lookup failed).
    return resolveOutputs(await outputPromise(value));
  }
  if (Array.isArray(value)) return Promise.all(value.map(resolveOutputs));
  if (value !== null && typeof value === "object" && !(value instanceof pulumi.Resource)) {
    const entries = await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await resolveOutputs(v)]));
    return Object.fromEntries(entries);
  }
  return value;
}
