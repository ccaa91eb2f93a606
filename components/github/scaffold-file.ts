/**
 * A repository file written once, as a Pulumi dynamic resource over GitHub's contents API.
 *
 * Why not `github.RepositoryFile`: its Read removes the resource from state when the file is
 * gone (terraform-provider-github v6.13.0, `resource_github_repository_file.go`, Read →
 * `deleteResourceOn404AndSwallow304OtherwiseReturnError`), so after the team deletes or moves a
 * scaffold file, `pulumi refresh` + `pulumi up` commits it again and Flux applies it. Here:
 * - create writes the file only when it is absent (or replaces the README GitHub's `autoInit`
 *   made, recognised by its content), and never otherwise touches an existing file;
 * - a `kustomization.yaml` is never written into a directory that already holds anything: from
 *   then on Flux would build only what it lists, and `prune: true` would delete the rest. Flux
 *   builds a directory without one from everything in it, so leaving it is what keeps it working;
 * - a directory with a `flux-system/` folder (what `flux bootstrap` commits) is refused, in the
 *   preview already (`check`), naming the way out;
 * - read keeps the state as it is: a file deleted or moved on GitHub stays deleted or moved;
 * - update only stores new provider code (content changes are not applied: written once);
 * - delete leaves the file in the repository.
 * `BranchExists` (below) waits for a repository generated from a template to be filled in.
 *
 * Everything the provider uses is reachable from this module: Pulumi serializes it into state.
 * The token comes from `GITHUB_TOKEN` at run time and is never stored; `GITHUB_API_URL` points
 * at GitHub Enterprise (the variable GitHub Actions sets).
 */
import * as pulumi from "@pulumi/pulumi";

export interface GitHubResponse {
  readonly status: number;
  readonly body: any;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One GitHub REST call; `path` starts with `/repos/…`. Injected in tests. */
export type GitHubRequest = (method: "GET" | "PUT" | "DELETE", path: string, body?: unknown) => Promise<GitHubResponse>;

/**
 * The real client: `fetch` with `GITHUB_TOKEN`, against `GITHUB_API_URL` or api.github.com.
 * It keeps to GitHub's rules for writers (REST API docs, best practices and secondary rate
 * limits), as the GitHub provider does for its own requests:
 * - writes go one at a time in this process (the one dynamic-provider host serves every
 *   ScaffoldFile), at least `FLEET_GITHUB_WRITE_DELAY_MS` (default 1000) apart;
 * - a 403 or 429 rate-limit answer is retried after `retry-after`, or after `x-ratelimit-reset`
 *   when no request is left, or after a minute, up to 5 times;
 * - no request waits more than 60 s for an answer.
 */
export const fetchGitHub: GitHubRequest = async (method, path, body) => {
  const token = process.env.GITHUB_TOKEN;
  if (!token) throw new Error("GITHUB_TOKEN is not set: export a token that can write to the repository (the same one the GitHub provider uses)");
  const base = (process.env.GITHUB_API_URL || "https://api.github.com").replace(/\/+$/, "");
  const once = async () => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        Accept: "application/vnd.github+json",
        Authorization: `Bearer ${token}`,
        "X-GitHub-Api-Version": "2022-11-28",
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // keep the text: it goes into the error message
    }
    return { response, answer: { status: response.status, body: parsed } };
  };
  const withRetries = async (): Promise<GitHubResponse> => {
    for (let attempt = 1; ; attempt++) {
      const { response, answer } = await once();
      const limited =
        (answer.status === 403 || answer.status === 429) &&
        (response.headers.has("retry-after") || response.headers.get("x-ratelimit-remaining") === "0" || /rate limit/i.test(String((answer.body as any)?.message)));
      if (!limited || attempt >= 5) return answer;
      const retryAfter = Number(response.headers.get("retry-after"));
      const reset = Number(response.headers.get("x-ratelimit-reset"));
      const waitMs = Number.isFinite(retryAfter) && response.headers.has("retry-after")
        ? retryAfter * 1000
        : response.headers.get("x-ratelimit-remaining") === "0" && Number.isFinite(reset)
          ? Math.max(reset * 1000 - Date.now(), 0) + 1000
          : 60_000;
      await sleep(waitMs);
    }
  };
  if (method === "GET") return withRetries();
  const spacing = Number(process.env.FLEET_GITHUB_WRITE_DELAY_MS ?? "1000");
  const queue = globalThis as { __fleetGitHubWrites?: Promise<unknown> };
  const mine = (queue.__fleetGitHubWrites ?? Promise.resolve()).then(withRetries);
  queue.__fleetGitHubWrites = mine.catch(() => undefined).then(() => sleep(spacing));
  return mine;
};

/** What a scaffold file is: the inputs of `ScaffoldFile`. */
export interface ScaffoldFileSpec {
  readonly owner: string;
  readonly repository: string;
  readonly branch: string;
  /** Path in the repository, without a leading `/`. */
  readonly path: string;
  readonly content: string;
  readonly message: string;
  /** At creation, replace the file if it is the README GitHub's `autoInit` wrote, and only then. @default false */
  readonly replaceInitial: boolean;
}

export interface ScaffoldFileState extends ScaffoldFileSpec {
  /** true: this resource committed the file; false: it existed and was left as it was. */
  readonly written: boolean;
  /** The commit that wrote it, when written. */
  readonly commit?: string;
}

export type WithCode<T> = T & { readonly __provider?: string };

/**
 * A diff that replaces on a change of `identity`, and otherwise takes an in-place update only
 * when the provider code Pulumi serialized changed: the dynamic-provider host runs read and
 * delete with the code stored in state, so new code must be stored through an update.
 */
export function diffOf<T extends object>(olds: WithCode<T>, news: WithCode<T>, identity: readonly (keyof T)[]): pulumi.dynamic.DiffResult {
  const replaces = identity.filter((key) => olds[key] !== news[key]).map(String);
  if (replaces.length > 0) return { changes: true, replaces, deleteBeforeReplace: false };
  return { changes: olds.__provider !== undefined && news.__provider !== undefined && olds.__provider !== news.__provider, replaces: [] };
}

/** Inputs whose change means another file: the old one is left alone, the new one created. */
const IDENTITY: readonly (keyof ScaffoldFileSpec)[] = ["owner", "repository", "branch", "path"];

function contentsPath(spec: ScaffoldFileSpec): string {
  const file = spec.path.split("/").map(encodeURIComponent).join("/");
  return `/repos/${encodeURIComponent(spec.owner)}/${encodeURIComponent(spec.repository)}/contents/${file}`;
}

export function failure(what: string, response: GitHubResponse): Error {
  const message = typeof response.body === "object" && response.body !== null ? response.body.message : response.body;
  return new Error(`${what} failed: GitHub answered ${response.status}${message ? ` (${String(message)})` : ""}`);
}

/**
 * Whether a contents-API answer is the README GitHub's `autoInit` wrote: `# <repository>` and at
 * most the description under it. Anything longer is someone's work and is kept.
 */
export function isInitialReadme(body: any, repository: string): boolean {
  if (typeof body?.content !== "string") return false;
  const text = Buffer.from(body.content, body.encoding === "base64" ? "base64" : "utf8").toString("utf8");
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
  return lines.length >= 1 && lines.length <= 2 && lines[0] === `# ${repository}`;
}

/** How a preview passes a value not known yet (`unknownValue` in @pulumi/pulumi runtime/rpc). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** The directory of a repository path ("" for the root). */
const dirOf = (path: string) => path.slice(0, Math.max(path.lastIndexOf("/"), 0));

/** `kustomization.yaml`, the one scaffold file that decides what Flux builds in its directory. */
function isKustomization(path: string): boolean {
  return path === "kustomization.yaml" || path.endsWith("/kustomization.yaml");
}

/** What a `flux bootstrap` directory needs instead of a scaffold. */
function bootstrapped(spec: ScaffoldFileSpec, dir: string): Error {
  return new Error(
    `${spec.owner}/${spec.repository}@${spec.branch}:${dir}/flux-system is a flux bootstrap layout: scaffolding ${spec.path} there would make Flux ` +
      `build only what it lists and prune the rest, the bootstrapped controllers included. Point this stack's fleet:repository.path at a new ` +
      `directory (e.g. clusters/<stack>-operator) and move what you keep there (docs/operations.md, "Coming from flux bootstrap")`,
  );
}

export class ScaffoldFileProvider implements pulumi.dynamic.ResourceProvider {
  constructor(
    private readonly request: GitHubRequest = fetchGitHub,
    /** Pause before retrying a commit GitHub refused with 409 (another commit landed first). */
    private readonly retryDelayMs = 2000,
  ) {}

  /**
   * What is in the directory a `kustomization.yaml` goes into: nothing (absent or empty), other
   * entries, or a `flux bootstrap` layout.
   */
  private async directory(spec: ScaffoldFileSpec): Promise<"empty" | "populated" | "bootstrapped"> {
    const dir = dirOf(spec.path);
    const url = contentsPath({ ...spec, path: dir }).replace(/\/$/, "");
    const listing = await this.request("GET", `${url}?ref=${encodeURIComponent(spec.branch)}`);
    if (listing.status === 404) return "empty";
    if (listing.status !== 200) throw failure(`listing ${spec.owner}/${spec.repository}@${spec.branch}:${dir}`, listing);
    const entries: { name?: string; type?: string }[] = Array.isArray(listing.body) ? listing.body : [];
    if (entries.some((e) => e.name === "flux-system" && e.type === "dir")) return "bootstrapped";
    return entries.length > 0 ? "populated" : "empty";
  }

  /**
   * In the preview, before anything is created: refuses a new `kustomization.yaml` in a
   * bootstrapped directory. Anything it cannot read now (unknown inputs, no token, the repository
   * not made yet) is left to create.
   */
  async check(olds: Partial<ScaffoldFileSpec>, news: ScaffoldFileSpec): Promise<pulumi.dynamic.CheckResult<ScaffoldFileSpec>> {
    const known = [news.owner, news.repository, news.branch, news.path].every((v) => typeof v === "string" && v !== UNKNOWN);
    if (olds.path !== undefined || !known || !isKustomization(news.path)) return { inputs: news };
    let state: string;
    try {
      state = await this.directory(news);
    } catch {
      return { inputs: news };
    }
    return state === "bootstrapped" ? { inputs: news, failures: [{ property: "path", reason: bootstrapped(news, dirOf(news.path)).message }] } : { inputs: news };
  }

  async create(inputs: ScaffoldFileSpec): Promise<pulumi.dynamic.CreateResult<ScaffoldFileState>> {
    const where = `${inputs.owner}/${inputs.repository}@${inputs.branch}:${inputs.path}`;
    const id = where;
    const url = contentsPath(inputs);
    if (isKustomization(inputs.path)) {
      const state = await this.directory(inputs);
      if (state === "bootstrapped") throw bootstrapped(inputs, dirOf(inputs.path));
      if (state === "populated") return { id, outs: { ...inputs, written: false } }; // someone's directory: Flux builds all of it
    }
    for (let attempt = 1; ; attempt++) {
      const existing = await this.request("GET", `${url}?ref=${encodeURIComponent(inputs.branch)}`);
      if (existing.status !== 200 && existing.status !== 404) throw failure(`reading ${where}`, existing);
      const present = existing.status === 200;
      if (present && !(inputs.replaceInitial && isInitialReadme(existing.body, inputs.repository))) {
        return { id, outs: { ...inputs, written: false } }; // someone's file: never overwritten
      }
      const put = await this.request("PUT", url, {
        message: inputs.message,
        content: Buffer.from(inputs.content, "utf8").toString("base64"),
        branch: inputs.branch,
        ...(present ? { sha: existing.body?.sha } : {}),
      });
      if (put.status === 200 || put.status === 201) {
        const commit = put.body?.commit?.sha;
        return { id, outs: { ...inputs, written: true, ...(typeof commit === "string" ? { commit } : {}) } };
      }
      // 409: the branch moved under us (GitHub serializes commits per branch); read and try again.
      if (put.status !== 409 || attempt >= 3) throw failure(`committing ${where}`, put);
      await sleep(this.retryDelayMs);
    }
  }

  async diff(_id: string, olds: WithCode<ScaffoldFileState>, news: WithCode<ScaffoldFileSpec>): Promise<pulumi.dynamic.DiffResult> {
    // Content edits are not applied: written once.
    return diffOf<ScaffoldFileSpec>(olds, news, IDENTITY);
  }

  async update(_id: string, olds: ScaffoldFileState, news: ScaffoldFileSpec): Promise<pulumi.dynamic.UpdateResult<ScaffoldFileState>> {
    return { outs: { ...news, content: olds.content, written: olds.written, ...(olds.commit ? { commit: olds.commit } : {}) } };
  }

  /** Keeps the state as it is: a file deleted or moved on GitHub is not written again. */
  async read(id: string, props?: ScaffoldFileState): Promise<pulumi.dynamic.ReadResult<ScaffoldFileState>> {
    return { id, props };
  }

  /** The file belongs to the repository's people now: destroy leaves it. */
  async delete(_id: string, _props: ScaffoldFileState): Promise<void> {}
}

/** Inputs of a `ScaffoldFile`. */
export interface ScaffoldFileArgs {
  readonly owner: pulumi.Input<string>;
  readonly repository: pulumi.Input<string>;
  readonly branch: pulumi.Input<string>;
  readonly path: pulumi.Input<string>;
  readonly content: pulumi.Input<string>;
  readonly message: pulumi.Input<string>;
  readonly replaceInitial?: pulumi.Input<boolean>;
}

/** The provider every ScaffoldFile with the real client uses: one object, serialized once (components/perf.ts). */
const scaffoldFileProvider = new ScaffoldFileProvider();

/** A file committed to a GitHub repository once, when absent; never re-created or reverted. */
export class ScaffoldFile extends pulumi.dynamic.Resource {
  declare readonly written: pulumi.Output<boolean>;

  constructor(name: string, args: ScaffoldFileArgs, opts?: pulumi.CustomResourceOptions, request?: GitHubRequest) {
    super(
      request ? new ScaffoldFileProvider(request) : scaffoldFileProvider,
      name,
      { ...args, replaceInitial: args.replaceInitial ?? false, written: undefined, commit: undefined },
      opts,
      "fleet",
      "ScaffoldFile",
    );
  }
}

/** What `BranchExists` waits for. */
export interface BranchExistsSpec {
  readonly owner: string;
  readonly repository: string;
  readonly branch: string;
  /** How long to wait, in seconds. */
  readonly timeoutSeconds: number;
}

/**
 * Waits until a branch exists: a repository generated from a template is filled in
 * asynchronously (POST /repos/{template}/generate answers before the branch is there, and the
 * GitHub provider does not wait), so what renames the branch or commits to it waits here.
 * Reads only; delete is a no-op.
 */
export class BranchExistsProvider implements pulumi.dynamic.ResourceProvider {
  constructor(
    private readonly request: GitHubRequest = fetchGitHub,
    private readonly pollMs = 2000,
  ) {}

  async create(inputs: BranchExistsSpec): Promise<pulumi.dynamic.CreateResult<BranchExistsSpec>> {
    const where = `${inputs.owner}/${inputs.repository}@${inputs.branch}`;
    const url = `/repos/${encodeURIComponent(inputs.owner)}/${encodeURIComponent(inputs.repository)}/branches/${encodeURIComponent(inputs.branch)}`;
    const deadline = Date.now() + inputs.timeoutSeconds * 1000;
    for (;;) {
      const answer = await this.request("GET", url);
      if (answer.status === 200) return { id: where, outs: inputs };
      if (answer.status !== 404) throw failure(`waiting for ${where}`, answer);
      if (Date.now() >= deadline) {
        throw new Error(`${where} did not appear within ${inputs.timeoutSeconds}s: GitHub is still generating the repository from its template; run pulumi up again`);
      }
      await sleep(this.pollMs);
    }
  }

  async diff(_id: string, olds: WithCode<BranchExistsSpec>, news: WithCode<BranchExistsSpec>): Promise<pulumi.dynamic.DiffResult> {
    return diffOf<BranchExistsSpec>(olds, news, ["owner", "repository", "branch"]);
  }

  async update(_id: string, _olds: BranchExistsSpec, news: BranchExistsSpec): Promise<pulumi.dynamic.UpdateResult<BranchExistsSpec>> {
    return { outs: news };
  }

  async read(id: string, props?: BranchExistsSpec): Promise<pulumi.dynamic.ReadResult<BranchExistsSpec>> {
    return { id, props };
  }

  async delete(_id: string, _props: BranchExistsSpec): Promise<void> {}
}

export interface BranchExistsArgs {
  readonly owner: pulumi.Input<string>;
  readonly repository: pulumi.Input<string>;
  readonly branch: pulumi.Input<string>;
  /** @default 300 */
  readonly timeoutSeconds?: pulumi.Input<number>;
}

const branchExistsProvider = new BranchExistsProvider();

/** A branch that exists: its creation waits for GitHub to fill a generated repository in. */
export class BranchExists extends pulumi.dynamic.Resource {
  constructor(name: string, args: BranchExistsArgs, opts?: pulumi.CustomResourceOptions, request?: GitHubRequest) {
    super(request ? new BranchExistsProvider(request) : branchExistsProvider, name, { ...args, timeoutSeconds: args.timeoutSeconds ?? 300 }, opts, "fleet", "BranchExists");
  }
}
