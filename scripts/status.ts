/**
 * npm run status -- [<stack>…] [--json]
 *
 * The fleet's tenants × clusters: for every stack (default: stacks.yaml's, in order), the state of
 * each tenant's sync on that stack's cluster, read through the stack's own outputs (`kubeconfig`,
 * `context`, `tenants`: `pulumi stack output --show-secrets`, pulumi on PATH) with kubectl.
 * A cell is the program's Kustomization of the tenant (label toolkit.fluxcd.io/tenant, in its first
 * namespace):
 * - **Ready**, **Failing** (Ready=False), **Stalled** (Stalled=True: no retry), **Progressing**
 *   (Reconciling=True, or not yet Ready), **Suspended** (`spec.suspend`), or **Missing** (the
 *   stack has the tenant and the cluster has no Kustomization);
 * - the revision it applied, against the head of the tenant's branch on GitHub (GITHUB_TOKEN;
 *   without one, the head is not asked): **behind** when they differ;
 * - how long it has been in that state (its Ready condition's last transition);
 * - the Kustomizations and HelmReleases the tenant made itself in its namespaces that are not
 *   Ready (suspended ones aside).
 * A table, or with --json an object. `--from FILE... [--expect a,b]` renders the JSON of several
 * such runs as one matrix (CI's status.yml: one job per stack, each with its own credentials),
 * naming the stacks that could not be read and those not checked at all. Exit status: 0 every cell Ready, Suspended or Progressing with
 * nothing of the tenant's own failing; 1 something is unhealthy (Failing, Stalled, Missing, one of
 * the tenant's own objects failing); 2 the status could not be read.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { flagValue } from "./lib/args";
import { Cell, combineReports, renderMatrix, renderReport, Report, reportUnhealthy, stackCells, unhealthy } from "./lib/fleet-status";
import { readOrder } from "./lib/stacks";

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes("--from")) {
    // CI's report job: the per-stack JSON files its status jobs wrote, as one matrix.
    const usage = "usage: npm run status -- --from FILE... [--expect a,b]";
    const expected = flagValue(argv, "--expect", usage)?.split(",").filter(Boolean) ?? readOrder().stacks;
    const files = argv.filter((a, i) => !a.startsWith("--") && argv[i - 1] !== "--expect");
    const combined = combineReports(files.map((f) => JSON.parse(fs.readFileSync(f, "utf8")) as Report), expected);
    process.stdout.write(renderReport(combined, new Date()));
    return reportUnhealthy(combined) ? 1 : 0;
  }
  const json = argv.includes("--json");
  const named = argv.filter((a) => !a.startsWith("--"));
  const stacks = named.length ? named : readOrder().stacks;
  const now = new Date();
  const cells: Cell[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-status-"));
  try {
    for (const stack of stacks) {
      cells.push(...(await stackCells(stack, dir)));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (json) process.stdout.write(JSON.stringify({ generatedAt: now.toISOString(), stacks, cells, unhealthy: cells.some(unhealthy) }, null, 2) + "\n");
  else process.stdout.write(renderMatrix(stacks, cells, now));
  return cells.some(unhealthy) ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`status: ${(e as Error).message}`);
      process.exit(2);
    },
  );
}
