/**
 * The branch wait, as a Pulumi dynamic resource over GitHub's REST API (client.ts): a repository
 * generated from a template is filled in asynchronously, so what renames its branch or commits to
 * it waits here. State stores the provider as a reference to this module (components/provider-ref.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { providerRef } from "../provider-ref";
import { GitHubRequest, WithCode, diffOf, failure, fetchGitHub, sleep } from "./client";

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

export const branchExistsProvider = new BranchExistsProvider();
const storedProvider = providerRef("./components/github/branch-exists", "branchExistsProvider");

/** A branch that exists: its creation waits for GitHub to fill a generated repository in. */
export class BranchExists extends pulumi.dynamic.Resource {
  constructor(name: string, args: BranchExistsArgs, opts?: pulumi.CustomResourceOptions, request?: GitHubRequest) {
    super(request ? new BranchExistsProvider(request) : storedProvider, name, { ...args, timeoutSeconds: args.timeoutSeconds ?? 300 }, opts, "fleet", "BranchExists");
  }
}
