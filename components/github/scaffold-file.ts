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
 *
 * The provider uses this module and client.ts (GitHub's REST API, with `GITHUB_TOKEN`); state
 * stores it as a reference to this module (components/provider-ref.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { providerRef } from "../provider-ref";
import { GitHubRequest, WithCode, diffOf, failure, fetchGitHub, sleep } from "./client";

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

/** Inputs whose change means another file: the old one is left alone, the new one created. */
const IDENTITY: readonly (keyof ScaffoldFileSpec)[] = ["owner", "repository", "branch", "path"];

function contentsPath(spec: ScaffoldFileSpec): string {
  const file = spec.path.split("/").map(encodeURIComponent).join("/");
  return `/repos/${encodeURIComponent(spec.owner)}/${encodeURIComponent(spec.repository)}/contents/${file}`;
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

/** The provider every ScaffoldFile with the real client uses. */
export const scaffoldFileProvider = new ScaffoldFileProvider();
/** What state holds for it: a reference (components/provider-ref.ts), one object, serialized once (components/perf.ts). */
const storedProvider = providerRef("./components/github/scaffold-file", "scaffoldFileProvider");

/** A file committed to a GitHub repository once, when absent; never re-created or reverted. */
export class ScaffoldFile extends pulumi.dynamic.Resource {
  declare readonly written: pulumi.Output<boolean>;

  constructor(name: string, args: ScaffoldFileArgs, opts?: pulumi.CustomResourceOptions, request?: GitHubRequest) {
    super(
      request ? new ScaffoldFileProvider(request) : storedProvider,
      name,
      { ...args, replaceInitial: args.replaceInitial ?? false, written: undefined, commit: undefined },
      opts,
      "fleet",
      "ScaffoldFile",
    );
  }
}
