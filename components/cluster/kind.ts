/**
 * kind clusters as a Pulumi dynamic resource that drives the `kind` CLI. There is no published
 * Pulumi kind provider, so `create`, `diff`, `read` and `delete` run `kind` through a
 * `CommandRunner`; tests inject a fake runner and check the exact argv and generated config.
 *
 * State stores the provider as a reference to this module (components/provider-ref.ts): Pulumi's
 * dynamic-provider host loads it from the project directory and calls `kindProvider`.
 *
 * kind never touches the user's kubeconfig: every `kind` invocation runs with `KUBECONFIG` set to
 * a private file in a fresh temporary directory (removed afterwards), and `kind create cluster` /
 * `kind delete cluster` also get `--kubeconfig` with that file. The cluster's kubeconfig lives only
 * in Pulumi state, as a secret. See docs/kind.md.
 */
import * as pulumi from "@pulumi/pulumi";
import { providerRef } from "../provider-ref";

/** Result of running one command. `notFound` is set when the executable is not on PATH. */
export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly notFound?: boolean;
}

/** Options for one command. */
export interface CommandOptions {
  /** Environment variables set for the command, over the current process's environment. */
  readonly env?: Record<string, string>;
}

/** Runs `command` with `args` (no shell). Injected in tests. */
export type CommandRunner = (command: string, args: readonly string[], options?: CommandOptions) => Promise<CommandResult>;

/** The real runner: `child_process.execFile`, 20-minute limit, no shell; `options.env` over `process.env`. */
export const execRunner: CommandRunner = (command, args, options) =>
  new Promise((resolve) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { execFile } = require("child_process") as typeof import("child_process");
    execFile(
      command,
      [...args],
      { maxBuffer: 64 * 1024 * 1024, timeout: 20 * 60 * 1000, env: { ...process.env, ...options?.env } },
      (error: (Error & { code?: unknown }) | null, stdout: string, stderr: string) => {
        if (!error) return resolve({ code: 0, stdout, stderr });
        const notFound = error.code === "ENOENT";
        resolve({ code: typeof error.code === "number" ? error.code : notFound ? 127 : 1, stdout, stderr, notFound });
      },
    );
  });

/** What a kind cluster is made of: the inputs of `KindCluster`. */
export interface KindClusterSpec {
  /** kind cluster name (also the Docker container prefix). */
  readonly name: string;
  /** Node image for every node, e.g. `kindest/node:v1.35.0`; kind's default when unset. */
  readonly nodeImage?: string;
  /** Worker nodes besides the one control-plane node. */
  readonly workers: number;
}

/** State kept for a kind cluster. `kubeconfig` is a secret. */
export interface KindClusterState extends KindClusterSpec {
  readonly kubeconfig: string;
  /** API server URL, e.g. `https://127.0.0.1:41234`. */
  readonly endpoint: string;
  /** Context name kind writes: `kind-<name>`. */
  readonly context: string;
}

/** kind's cluster config (`kind.x-k8s.io/v1alpha4`) for a spec, as YAML with a stable key order. */
export function kindConfigYaml(spec: KindClusterSpec): string {
  const node = (role: string) => [`  - role: ${role}`, ...(spec.nodeImage ? [`    image: ${spec.nodeImage}`] : [])];
  const lines = [
    "kind: Cluster",
    "apiVersion: kind.x-k8s.io/v1alpha4",
    `name: ${spec.name}`,
    "nodes:",
    ...node("control-plane"),
    ...Array.from({ length: spec.workers }, () => node("worker")).flat(),
  ];
  return `${lines.join("\n")}\n`;
}

/** How long `kind create cluster` waits for the control plane to be Ready. */
export const KIND_WAIT = "5m";

/** The kind releases this provider supports: `min` <= version < `below` (0.31.x and 0.32.x). */
export const SUPPORTED_KIND = { min: "0.31.0", below: "0.33.0" } as const;

/** The kind release preflight tells users to install. */
export const RECOMMENDED_KIND = "0.32.0";

/** Default node image (with digest) of each supported kind release, keyed by kind minor version. */
export const KIND_NODE_IMAGES: Record<string, string> = {
  "0.31": "kindest/node:v1.35.0@sha256:452d707d4862f52530247495d180205e029056831160e22870e37e3f6c1ac31f",
  "0.32": "kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5",
};

/**
 * The version in `kind version` output (`kind v0.32.0 go1.26.3 linux/amd64` → `0.32.0`), with any
 * pre-release part (`0.33.0-alpha.12`) but without build metadata; `undefined` when there is none.
 */
export function parseKindVersion(stdout: string): string | undefined {
  const match = /^kind v(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)(?:\+\S*)?(?:\s|$)/m.exec(stdout.trim());
  return match ? match[1] : undefined;
}

/** Compares the numeric `major.minor.patch` of two versions: negative, 0 or positive. */
function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.split("-")[0].split(".").map(Number);
  const [pa, pb] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}

/** A release (no pre-release part) within `SUPPORTED_KIND`. */
export function isSupportedKind(version: string): boolean {
  return (
    !version.includes("-") && compareVersions(version, SUPPORTED_KIND.min) >= 0 && compareVersions(version, SUPPORTED_KIND.below) < 0
  );
}

/** The API server URL in a kubeconfig (`clusters[0].cluster.server`). */
export function kubeconfigServer(kubeconfig: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parse } = require("yaml") as typeof import("yaml");
  const doc = parse(kubeconfig) as { clusters?: { cluster?: { server?: unknown } }[] } | null;
  const server = doc?.clusters?.[0]?.cluster?.server;
  return typeof server === "string" ? server : "";
}

function failure(what: string, result: CommandResult): Error {
  const detail = (result.stderr || result.stdout).trim();
  return new Error(`${what} failed (exit ${result.code})${detail ? `: ${detail}` : ""}`);
}

/**
 * The dynamic provider. A class with the runner as its only field, so Pulumi can serialize it.
 * Every failure names the fix.
 */
export class KindProvider implements pulumi.dynamic.ResourceProvider {
  constructor(private readonly run: CommandRunner = execRunner) {}

  /**
   * Runs `kind` with `KUBECONFIG` set to a private file in a fresh temporary directory, removed
   * afterwards (also on failure), so kind never reads or writes the user's kubeconfig. `argv`
   * gets that directory and file; it may write files into the directory (e.g. a kind config).
   */
  private async kind(argv: (tmp: { readonly dir: string; readonly kubeconfig: string }) => readonly string[]): Promise<CommandResult> {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const fs = require("fs") as typeof import("fs");
    const os = require("os") as typeof import("os");
    const path = require("path") as typeof import("path");
    /* eslint-enable @typescript-eslint/no-require-imports */
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-kind-"));
    const kubeconfig = path.join(dir, "kubeconfig");
    try {
      return await this.run("kind", argv({ dir, kubeconfig }), { env: { KUBECONFIG: kubeconfig } });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  /** kind (a supported release) and docker are installed and Docker answers. */
  async preflight(): Promise<void> {
    const kind = await this.kind(() => ["version"]);
    if (kind.notFound) {
      throw new Error(
        "kind is not on PATH: install it (https://kind.sigs.k8s.io/docs/user/quick-start/#installation), " +
          "or use an existing cluster with fleet:cluster.type: kubeconfig",
      );
    }
    if (kind.code !== 0) throw failure("kind version", kind);
    const version = parseKindVersion(kind.stdout);
    if (version === undefined || !isSupportedKind(version)) {
      const found = version !== undefined ? `kind v${version}` : `an unrecognised kind version (\`kind version\` printed ${JSON.stringify(kind.stdout.trim())})`;
      throw new Error(
        `found ${found}, but this project supports kind >= v${SUPPORTED_KIND.min} and < v${SUPPORTED_KIND.below} ` +
          `(${Object.keys(KIND_NODE_IMAGES).map((minor) => `${minor}.x`).join(" or ")}): install kind v${RECOMMENDED_KIND}: https://kind.sigs.k8s.io/docs/user/quick-start/#installation`,
      );
    }
    const docker = await this.run("docker", ["info", "--format", "{{.ServerVersion}}"]);
    if (docker.notFound) {
      throw new Error("docker is not on PATH: kind runs its nodes as Docker containers; install Docker (https://docs.docker.com/get-docker/)");
    }
    if (docker.code !== 0) {
      throw new Error(
        `Docker is not running (docker info: ${(docker.stderr || docker.stdout).trim() || `exit ${docker.code}`}): ` +
          "start Docker (e.g. `sudo systemctl start docker`, or open Docker Desktop) and run pulumi up again",
      );
    }
  }

  /** Names of the kind clusters that exist on this machine. */
  async clusters(): Promise<string[]> {
    const result = await this.kind(() => ["get", "clusters"]);
    if (result.notFound) throw new Error("kind is not on PATH: install it (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)");
    if (result.code !== 0) throw failure("kind get clusters", result);
    return result.stdout.split("\n").map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith("No kind clusters"));
  }

  async kubeconfig(name: string): Promise<string> {
    const result = await this.kind(() => ["get", "kubeconfig", "--name", name]);
    if (result.code !== 0) throw failure(`kind get kubeconfig --name ${name}`, result);
    return result.stdout;
  }

  async state(spec: KindClusterSpec): Promise<KindClusterState> {
    const kubeconfig = await this.kubeconfig(spec.name);
    return {
      name: spec.name,
      ...(spec.nodeImage ? { nodeImage: spec.nodeImage } : {}),
      workers: spec.workers,
      kubeconfig,
      endpoint: kubeconfigServer(kubeconfig),
      context: `kind-${spec.name}`,
    };
  }

  async create(inputs: KindClusterSpec): Promise<pulumi.dynamic.CreateResult<KindClusterState>> {
    await this.preflight();
    if ((await this.clusters()).includes(inputs.name)) {
      throw new Error(
        `a kind cluster named ${inputs.name} already exists but is not in this stack's state. ` +
          `Delete it with \`kind delete cluster --name ${inputs.name}\`, or adopt it: set fleet:cluster.type: kubeconfig ` +
          `and \`kind get kubeconfig --name ${inputs.name} | pulumi config set --secret fleet:kubeconfig\``,
      );
    }
    const created = await this.kind(({ dir, kubeconfig }) => {
      /* eslint-disable @typescript-eslint/no-require-imports */
      const fs = require("fs") as typeof import("fs");
      const path = require("path") as typeof import("path");
      /* eslint-enable @typescript-eslint/no-require-imports */
      const configFile = path.join(dir, "kind-config.yaml");
      fs.writeFileSync(configFile, kindConfigYaml(inputs));
      return ["create", "cluster", "--name", inputs.name, "--config", configFile, "--kubeconfig", kubeconfig, "--wait", KIND_WAIT];
    });
    if (created.code !== 0) throw failure(`kind create cluster --name ${inputs.name}`, created);
    return { id: inputs.name, outs: await this.state(inputs) };
  }

  /**
   * kind cannot change a cluster in place, so a changed name, nodeImage or workers replaces it
   * (delete first: a same-named cluster must be gone before it is made again). A changed provider
   * (`__provider`: what Pulumi serialized, now a reference to this module) alone is an in-place
   * update, so state holds the current one (a stack from before the reference stored the code).
   */
  async diff(
    _id: string,
    olds: KindClusterState & { readonly __provider?: string },
    news: KindClusterSpec & { readonly __provider?: string },
  ): Promise<pulumi.dynamic.DiffResult> {
    const replaces: string[] = [];
    if (olds.name !== news.name) replaces.push("name");
    if ((olds.nodeImage ?? "") !== (news.nodeImage ?? "")) replaces.push("nodeImage");
    if (olds.workers !== news.workers) replaces.push("workers");
    if (replaces.length > 0) return { changes: true, replaces, deleteBeforeReplace: true };
    const providerChanged =
      typeof olds.__provider === "string" && typeof news.__provider === "string" && olds.__provider !== news.__provider;
    return { changes: providerChanged, replaces: [], deleteBeforeReplace: false };
  }

  /**
   * Only reached when the provider code changed (`diff` replaces on any spec change): the state,
   * read afresh, is returned whole, and Pulumi stores it with the new code.
   */
  async update(
    _id: string,
    _olds: KindClusterState & { readonly __provider?: string },
    news: KindClusterSpec & { readonly __provider?: string },
  ): Promise<pulumi.dynamic.UpdateResult<KindClusterState>> {
    return {
      outs: await this.state({ name: news.name, workers: news.workers, ...(news.nodeImage ? { nodeImage: news.nodeImage } : {}) }),
    };
  }

  async read(id: string, props?: KindClusterState): Promise<pulumi.dynamic.ReadResult<KindClusterState>> {
    if (!(await this.clusters()).includes(id)) {
      return { id: "", props: undefined }; // deleted out of band: refresh drops it from state
    }
    const spec: KindClusterSpec = props ?? { name: id, workers: 0 };
    return { id, props: await this.state({ ...spec, name: id }) };
  }

  async delete(id: string): Promise<void> {
    const result = await this.kind(({ kubeconfig }) => ["delete", "cluster", "--name", id, "--kubeconfig", kubeconfig]);
    if (result.notFound) {
      throw new Error(`kind is not on PATH, so cluster ${id} cannot be deleted: install kind, or \`pulumi state delete\` the cluster if it is already gone`);
    }
    // kind exits 0 for a cluster that is already gone; any other failure is real.
    if (result.code !== 0) throw failure(`kind delete cluster --name ${id}`, result);
  }
}

/** Inputs of a `KindCluster`. */
export interface KindClusterArgs {
  /** kind cluster name. */
  readonly name: pulumi.Input<string>;
  /** Node image; kind's default when unset. */
  readonly nodeImage?: pulumi.Input<string>;
  /** Worker nodes besides the control plane. */
  readonly workers: pulumi.Input<number>;
}

/** The provider every KindCluster with the real runner uses. */
export const kindProvider = new KindProvider();
/** What state holds for it: a reference (components/provider-ref.ts), one object, serialized once (components/perf.ts). */
const storedProvider = providerRef("./components/cluster/kind", "kindProvider");

/** A kind cluster on the machine running Pulumi. `kubeconfig` is a secret output. */
export class KindCluster extends pulumi.dynamic.Resource {
  declare readonly kubeconfig: pulumi.Output<string>;
  declare readonly endpoint: pulumi.Output<string>;
  declare readonly context: pulumi.Output<string>;

  constructor(name: string, args: KindClusterArgs, opts?: pulumi.CustomResourceOptions, runner?: CommandRunner) {
    super(
      runner ? new KindProvider(runner) : storedProvider,
      name,
      { ...args, kubeconfig: undefined, endpoint: undefined, context: undefined },
      { ...opts, additionalSecretOutputs: ["kubeconfig"] },
      "fleet",
      "KindCluster",
    );
  }
}
