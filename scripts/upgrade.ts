/**
 * npm run upgrade -- <flux version> [--stacks a,b] [--timeout 10m] [--resume] [--no-commit] [--config-dir DIR]
 *
 * Rolls a Flux version through the stacks, in stacks.yaml's order (or --stacks'), one at a time:
 * 1. sets `fleet:flux.version` in the stack's Pulumi.<stack>.yaml (comments kept);
 * 2. the upgrade preflight (scripts/preflight.ts): refused, the file is put back and nothing is applied;
 * 3. the recover check (scripts/recover.ts --check), then `pulumi up --yes`, which previews first;
 * 4. commits the stack file (`git commit`, unless --no-commit or it is committed already): one commit
 *    per stack, made once the stack runs the version, so git's history says which stack runs what
 *    and since when;
 * 5. the health gate (scripts/lib/fleet-status.ts, healthGate): every tenant's Kustomization is asked
 *    to reconcile on the upgraded controllers, and within --timeout (default 10m) each must have
 *    handled that request and be Ready at an applied revision, with none of the tenant's own
 *    Kustomizations and HelmReleases failing.
 * At the first refusal, failure or regression it stops, prints the tenants × stack matrix, and
 * applies nothing further. What is done is recorded in `.fleet-upgrade.json` beside the stack files;
 * `--resume` skips the stacks it lists as done and starts again at the one that stopped.
 *
 * A commit per stack, not a pull request per environment: the rollout's order and gate are this
 * command's, and a pull request would hand the apply to CI's up.yml, which applies every stack on a
 * merge and has no gate between them. Push the commits when the rollout is through (or review them
 * as one pull request afterwards): up.yml then finds every stack already at its version.
 *
 * Exit status: 0 every stack upgraded and healthy; 1 stopped (refused, failed, or a regression);
 * 2 bad arguments or state.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDocument } from "yaml";
import { commandArgs, flagValue } from "./lib/args";
import { resolvedFluxVersion } from "../components/config";
import { REPO_ROOT, stackConfigFile } from "./lib/evaluate";
import { healthGate, passesGate, renderMatrix } from "./lib/fleet-status";
import { fleetConfigOf, readOrder } from "./lib/stacks";
import { withBackend } from "./lib/state";

export const STATE_FILE = ".fleet-upgrade.json";

/** `10m`, `90s`, `1h` in milliseconds. */
export function duration(text: string): number {
  const m = /^(\d+)(s|m|h)$/.exec(text);
  if (!m) throw new Error(`${JSON.stringify(text)} is not a duration; write e.g. 90s, 10m or 1h`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "s" | "m" | "h"];
}

/** A stack file's text with `fleet:flux.version` set, every comment and other key kept. */
export function withFluxVersion(text: string, version: string): string {
  const doc = parseDocument(text);
  if (!doc.has("config")) doc.set("config", doc.createNode({}));
  if (!doc.hasIn(["config", "fleet:flux"])) doc.setIn(["config", "fleet:flux"], doc.createNode({}));
  doc.setIn(["config", "fleet:flux", "version"], version);
  return doc.toString();
}

/** What a rollout has done: the version, and the stacks it finished (upgraded and through the gate). */
export interface Progress {
  readonly version: string;
  readonly done: readonly string[];
}

export function readProgress(file: string): Progress | undefined {
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as Progress) : undefined;
}

/** The stacks still to do, in order; a resumed rollout must be of the same version. */
export function remaining(stacks: readonly string[], version: string, progress: Progress | undefined, resume: boolean): string[] {
  if (!resume) return [...stacks];
  if (!progress) throw new Error(`--resume: there is no ${STATE_FILE}: nothing to resume; run without --resume`);
  if (progress.version !== version) throw new Error(`--resume: ${STATE_FILE} is a rollout of ${progress.version}, not ${version}; finish that one, or delete the file`);
  return stacks.filter((s) => !progress.done.includes(s));
}

/** Runs one step of the rollout; its exit status (-1 when it could not start or was killed). */
function step(what: string, cmd: string, args: readonly string[], env: NodeJS.ProcessEnv): number {
  console.log(`upgrade: ${what}: ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { stdio: "inherit", env, cwd: REPO_ROOT });
  return r.status ?? -1;
}


async function main(argv: readonly string[]): Promise<number> {
  const usage = "usage: npm run upgrade -- <flux version> [--stacks a,b] [--timeout 10m] [--resume] [--no-commit] [--config-dir DIR]";
  const { positional: version, problem } = commandArgs(argv, usage, ["--stacks", "--timeout", "--config-dir"], ["--resume", "--no-commit"]);
  if (!version || problem) {
    console.error(problem);
    return 2;
  }
  const dir = path.resolve(flagValue(argv, "--config-dir", usage) ?? REPO_ROOT);
  const timeoutMs = duration(flagValue(argv, "--timeout", usage) ?? "10m");
  const listed = flagValue(argv, "--stacks", usage)?.split(",").filter(Boolean) ?? readOrder().stacks;
  const stateFile = path.join(dir, STATE_FILE);
  const resume = argv.includes("--resume");
  const progress = readProgress(stateFile);
  const todo = remaining(listed, version, progress, resume);
  const done = resume ? [...(progress?.done ?? [])] : [];
  const env = withBackend(process.env);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-upgrade-"));
  const save = () => fs.writeFileSync(stateFile, JSON.stringify({ version, done } satisfies Progress, null, 2) + "\n");
  try {
    for (const stack of todo) {
      const file = path.join(dir, `Pulumi.${stack}.yaml`);
      if (!fs.existsSync(file)) throw new Error(`${file} does not exist: --stacks names stacks of this repository (or of --config-dir)`);
      const before = fs.readFileSync(file, "utf8");
      fs.writeFileSync(file, withFluxVersion(before, version));
      const configFile = ["--config-file", file];
      const checked = step(`${stack}: preflight`, "node", ["-r", "ts-node/register", "scripts/preflight.ts", stack, ...configFile], env);
      if (checked !== 0) {
        fs.writeFileSync(file, before);
        save();
        console.error(checked === 1
          ? `upgrade: stopped at ${stack}: the preflight refused Flux ${version} (above); ${path.basename(file)} is as it was, nothing was applied. Fix what it names, then run again with --resume.`
          : `upgrade: stopped at ${stack}: the preflight could not run (above: exit ${checked}), so nothing is judged safe; ${path.basename(file)} is as it was, nothing was applied. Fix what stopped it, then run again with --resume.`);
        return 1;
      }
      const target = resolvedFluxVersion(fleetConfigOf(stack, stackConfigFile(file).config).flux);
      if (step(`${stack}: pending operations`, "node", ["-r", "ts-node/register", "scripts/recover.ts", stack, "--check", ...configFile], env) !== 0 ||
          step(`${stack}: up`, env.PULUMI ?? "pulumi", ["up", "--yes", "--stack", stack, ...configFile, "--non-interactive"], env) !== 0) {
        save();
        console.error(`upgrade: stopped at ${stack}: the up failed (above). ${path.basename(file)} says ${version}, uncommitted; what was applied is in the stack's state. Fix it, then run again with --resume.`);
        return 1;
      }
      // Committed already (a resumed rollout) when git sees no change to it, untracked included.
      const unchanged = spawnSync("git", ["-C", dir, "status", "--porcelain", "--", path.basename(file)], { encoding: "utf8" }).stdout.trim() === "";
      if (!argv.includes("--no-commit") && !unchanged) {
        if (step(`${stack}: commit`, "git", ["-C", dir, "add", "--", path.basename(file)], env) !== 0 ||
            step(`${stack}: commit`, "git", ["-C", dir, "commit", "-m", `upgrade: ${stack} runs Flux ${version}`, "--", path.basename(file)], env) !== 0) {
          save();
          console.error(`upgrade: stopped at ${stack}: git commit failed (above); the stack runs ${version}. Commit ${path.basename(file)} by hand, then run again with --resume.`);
          return 1;
        }
      }
      console.log(`upgrade: ${stack}: health gate, up to ${timeoutMs / 1000} s`);
      const gate = await healthGate(stack, tmp, { timeoutMs, env, ...(target ? { fluxVersion: target } : {}) });
      process.stdout.write(renderMatrix([stack], gate.cells, new Date()));
      if (!gate.passed) {
        save();
        const failing = gate.cells.filter((c) => !passesGate(c, gate.requestedAt));
        console.error(`upgrade: stopped at ${stack}: ${gate.reason ? `${gate.reason}; ` : ""}${failing.map((c) => `${c.tenant} (${c.state}${c.kustomization?.handled !== gate.requestedAt ? ", reconcile not handled" : ""}${c.notReady.length ? `, ${c.notReady.length} of its own failing` : ""})`).join(", ")} not healthy on Flux ${version} within ${timeoutMs / 1000} s. Nothing further is applied; the stacks after it still run the old version. Fix it (or roll ${stack} back), then run again with --resume.`);
        return 1;
      }
      done.push(stack);
      save();
    }
    console.log(`upgrade: Flux ${version} on ${done.join(", ")}: every tenant healthy`);
    return 0;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`upgrade: ${(e as Error).message}`);
      process.exit(2);
    },
  );
}
