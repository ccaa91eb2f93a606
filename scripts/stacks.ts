/**
 * The stacks of this repository: one `Pulumi.<stack>.yaml` per cluster, applied in the order of
 * `stacks.yaml`. CI takes its stack list from here, so a new stack needs no workflow edit.
 *
 * node -r ts-node/register scripts/stacks.ts [--matrix] [--since <git-ref>]
 *
 * Prints the stacks in apply order, one a line (--matrix: as one JSON list, for a GitHub Actions
 * matrix). Fails, naming each problem, when the stack files and stacks.yaml do not match, or when a
 * stack would look up a repository before the stack that creates it has run.
 *
 * --since REF   also list, after them, the stacks whose file exists at git REF but no longer in the
 *               working tree (the render diff shows their removal)
 */
import { REPO_ROOT } from "./lib/evaluate";
import { matrixStacks } from "./lib/stacks";

function main(argv: readonly string[]): void {
  const usage = "usage: node -r ts-node/register scripts/stacks.ts [--matrix] [--since <git-ref>]";
  const since = argv.includes("--since") ? argv[argv.indexOf("--since") + 1] : undefined;
  const unknown = argv.filter((a, i) => a !== "--matrix" && a !== "--since" && argv[i - 1] !== "--since");
  if (unknown.length > 0 || (argv.includes("--since") && (!since || since.startsWith("--")))) throw new Error(usage);
  const all = matrixStacks(REPO_ROOT, since);
  process.stdout.write(argv.includes("--matrix") ? `${JSON.stringify(all)}\n` : all.map((s) => `${s}\n`).join(""));
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`stacks: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
