/**
 * The branch wait over GitHub's REST API (client.ts): a repository generated from a template is
 * filled in asynchronously, so what renames its branch or commits to it waits here
 * (`branchAppears`). Also the provider of the BranchExists resources stacks made before hold.
 */
import * as pulumi from "@pulumi/pulumi";
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
 * Waits until `owner/repository@branch` exists: a repository generated from a template is filled
 * in asynchronously (POST /repos/{template}/generate answers before the branch is there, and the
 * GitHub provider does not wait), so what renames the branch or commits to it waits here. Reads only.
 */
export async function waitForBranch(request: GitHubRequest, spec: BranchExistsSpec, pollMs = 2000): Promise<void> {
  const where = `${spec.owner}/${spec.repository}@${spec.branch}`;
  const url = `/repos/${encodeURIComponent(spec.owner)}/${encodeURIComponent(spec.repository)}/branches/${encodeURIComponent(spec.branch)}`;
  const deadline = Date.now() + spec.timeoutSeconds * 1000;
  for (let attempt = 0; ; attempt++) {
    const answer = await request("GET", url);
    if (answer.status === 200) return;
    if (answer.status !== 404) throw failure(`waiting for ${where}`, answer);
    if (Date.now() >= deadline) {
      throw new Error(`${where} did not appear within ${spec.timeoutSeconds}s: GitHub is still generating the repository from its template; run pulumi up again`);
    }
    // Soon at first (generation usually takes a second or two), then every `pollMs`.
    await sleep(Math.min(pollMs, 250 * 2 ** attempt));
  }
}

/**
 * The branch wait as it was, a dynamic resource (`fleet:BranchExists`). The program no longer
 * makes one (the wait is `branchAppears`, below: no state, no step); this provider stays so that
 * a stack made before can delete its BranchExists resources, which the dynamic-provider host
 * does with the provider state names (components/provider-ref.ts). Its delete does nothing.
 */
export class BranchExistsProvider implements pulumi.dynamic.ResourceProvider {
  constructor(
    private readonly request: GitHubRequest = fetchGitHub,
    private readonly pollMs = 2000,
  ) {}

  async create(inputs: BranchExistsSpec): Promise<pulumi.dynamic.CreateResult<BranchExistsSpec>> {
    await waitForBranch(this.request, inputs, this.pollMs);
    return { id: `${inputs.owner}/${inputs.repository}@${inputs.branch}`, outs: inputs };
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

export const branchExistsProvider = new BranchExistsProvider();

/**
 * The client the program's own process waits with (`branchAppears`): GitHub's, through
 * `GITHUB_TOKEN` as the dynamic providers use it. The offline harness puts a double here
 * (scripts/lib/evaluate.ts), since the program waits outside any provider.
 */
let programRequest: GitHubRequest = fetchGitHub;
export function setProgramGitHubRequest(request: GitHubRequest): void {
  programRequest = request;
}

/**
 * `repository`, once `owner/<repository>@branch` exists on GitHub: what renames a generated
 * repository's branch, or commits to it, takes its name from here. A wait in the program, not a
 * resource: a first `up` two whole-state saves and 3.7 KB of state fewer per tenant than the
 * BranchExists resource it replaces (docs/architecture.md, "Real-engine speed"). Not in a preview
 * (nothing is generated then; an unknown name is not waited on anyway), and on a later `up` one
 * GET that finds the branch. Interrupted, there is nothing to recover: the next `up` waits again.
 */
export function branchAppears(
  repository: pulumi.Output<string>,
  spec: { readonly owner: string; readonly branch: string; readonly timeoutSeconds?: number },
  request?: GitHubRequest,
): pulumi.Output<string> {
  return repository.apply(async (name) => {
    if (!pulumi.runtime.isDryRun()) await waitForBranch(request ?? programRequest, { owner: spec.owner, repository: name, branch: spec.branch, timeoutSeconds: spec.timeoutSeconds ?? 300 });
    return name;
  });
}
