/**
 * npm run refresh-guard -- <stack> [--state FILE]
 *
 * Checks, before a refresh, that GITHUB_TOKEN sees every GitHub repository the stack's state holds
 * something on (the repositories it owns, and those it only holds deploy keys, grants or files in).
 * GitHub answers 404, not 403, for a private repository a token cannot see, and the GitHub
 * provider reads a 404 as "deleted": terraform-provider-github v6.13.0,
 * resource_github_repository.go (Read: `d.SetId("")` on 404), and the same in the deploy key,
 * team repository and branch default resources. A refresh then drops the repository, its keys and
 * grants from state for good, and every later `up` meets 422 "name already exists" (or, since the
 * program adopts what exists, imports it again, but with this cluster's deploy key orphaned on
 * GitHub). So this stops first, naming each repository and the fix.
 *
 * The state comes from `pulumi stack export --stack <stack>` (pulumi on PATH), or from FILE.
 * `scripts/up.sh` runs it before any `--refresh`; `npm run refresh -- <stack>` runs it, then
 * `pulumi refresh`. Exit status: 0 every repository seen, 1 some not, 2 the check could not run.
 */
import { unseenRepositories } from "../components/github/unseen-repositories";
import { flagValue } from "./lib/args";
import { Deployment, exportedDeployment, githubOwner, StateResource } from "./lib/state";

/** Resource types that live in a repository, and where their state names it. */
export const IN_REPOSITORY: Readonly<Record<string, (r: StateResource) => unknown>> = {
  "github:index/repository:Repository": (r) => r.outputs?.name ?? r.inputs?.name,
  "github:index/repositoryDeployKey:RepositoryDeployKey": (r) => r.outputs?.repository ?? r.inputs?.repository,
  "github:index/teamRepository:TeamRepository": (r) => r.outputs?.repository ?? r.inputs?.repository,
  "github:index/branchDefault:BranchDefault": (r) => r.outputs?.repository ?? r.inputs?.repository,
  "pulumi-nodejs:dynamic/fleet:ScaffoldFile": (r) => r.outputs?.repository ?? r.inputs?.repository,
  // The branch wait of a stack made before it became a wait in the program (components/github/branch-exists.ts), until its next up.
  "pulumi-nodejs:dynamic/fleet:BranchExists": (r) => r.outputs?.repository ?? r.inputs?.repository,
};

/** The owner (`github:owner`, on the GitHub provider in state) and every repository the state holds something in. */
export function repositoriesInState(deployment: Deployment): { owner?: string; repositories: string[] } {
  const owner = githubOwner(deployment);
  const names = new Set<string>();
  for (const r of deployment.resources ?? []) {
    const name = IN_REPOSITORY[r.type]?.(r);
    if (typeof name === "string" && name !== "") names.add(name);
  }
  return { ...(owner ? { owner } : {}), repositories: [...names].sort() };
}

async function main(argv: readonly string[]): Promise<number> {
  const usage = "usage: npm run refresh-guard -- <stack> [--state FILE]";
  const stack = argv.find((a, i) => !a.startsWith("--") && !(i > 0 && argv[i - 1] === "--state"));
  if (!stack) {
    console.error(usage);
    return 2;
  }
  let deployment: Deployment;
  try {
    deployment = exportedDeployment(stack, flagValue(argv, "--state", usage));
  } catch (e) {
    console.error(`refresh-guard: ${(e as Error).message}`);
    return 2;
  }
  const { owner, repositories } = repositoriesInState(deployment);
  if (repositories.length === 0) {
    console.log(`refresh-guard: stack ${stack} holds nothing on GitHub yet`);
    return 0;
  }
  if (!owner) {
    console.error(`refresh-guard: stack ${stack}'s state names no github:owner on its GitHub provider`);
    return 2;
  }
  const problems = await unseenRepositories(owner, repositories);
  if (problems.length === 0) {
    console.log(`refresh-guard: GITHUB_TOKEN sees all ${repositories.length} repositories of stack ${stack}`);
    return 0;
  }
  console.error(
    `refresh-guard: do not refresh stack ${stack}: the GitHub provider reads a 404 as "deleted" and would drop these repositories, ` +
      `their deploy keys and grants from state for good:\n${problems.map((p) => `  - ${p}`).join("\n")}\n` +
      `Give GITHUB_TOKEN access to them (a fine-grained token lists its repositories; a classic one needs the repo scope and membership), ` +
      `then refresh. A repository deleted on purpose: remove what the stack holds in it from config and run pulumi up first.`,
  );
  return 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`refresh-guard: ${(e as Error).message}`);
      process.exit(2);
    },
  );
}
