/**
 * Stack discovery: the stacks of this repository, one `Pulumi.<stack>.yaml` per cluster, applied
 * in the order of `stacks.yaml`, and what is wrong between the two. The `stacks` command (CI's
 * stack list), `render` and `new-stack` read the stacks here.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { FleetConfig, parseFleetConfig, programKeys } from "../../components/config";
import { REPO_ROOT, stackConfigAt } from "./evaluate";

/** The apply order file, at the repository root. */
export const ORDER_FILE = "stacks.yaml";

const STACK_FILE = /^Pulumi\.(.+)\.yaml$/;

/** The stack a file name is for (`Pulumi.qa.yaml` → `qa`), or undefined. */
function stackOf(file: string): string | undefined {
  return STACK_FILE.exec(file)?.[1];
}

/** Every problem found between the stack files and the order file, at once. */
export class StackListError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`the stacks do not match ${ORDER_FILE}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "StackListError";
  }
}

/** The stacks that have a `Pulumi.<stack>.yaml` in `root`, sorted by name. */
export function stackFiles(root = REPO_ROOT): string[] {
  return fs
    .readdirSync(root)
    .map(stackOf)
    .filter((s): s is string => s !== undefined)
    .sort();
}

/** The stacks that have a `Pulumi.<stack>.yaml` at git `ref`, sorted by name. */
export function stackFilesAt(ref: string, root = REPO_ROOT): string[] {
  const names = execFileSync("git", ["-C", root, "ls-tree", "--name-only", ref], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return names
    .split("\n")
    .map(stackOf)
    .filter((s): s is string => s !== undefined)
    .sort();
}

/** The stack names listed in `<root>/stacks.yaml`, in order, and what is wrong with the file. */
export function readOrder(root = REPO_ROOT): { stacks: string[]; problems: string[] } {
  const file = path.join(root, ORDER_FILE);
  const fix = `list the stacks in apply order: "stacks: [staging, production]"`;
  if (!fs.existsSync(file)) return { stacks: [], problems: [`${ORDER_FILE}: not found in ${root}; ${fix}`] };
  let doc: unknown;
  try {
    doc = parseYaml(fs.readFileSync(file, "utf8"));
  } catch (e) {
    return { stacks: [], problems: [`${ORDER_FILE}: not valid YAML: ${(e as Error).message.split("\n")[0]}`] };
  }
  const list = (doc as { stacks?: unknown } | null)?.stacks;
  if (!Array.isArray(list)) return { stacks: [], problems: [`${ORDER_FILE}: has no list "stacks"; ${fix}`] };
  const stacks: string[] = [];
  const problems: string[] = [];
  list.forEach((entry: unknown, i) => {
    if (typeof entry !== "string") problems.push(`${ORDER_FILE}: stacks[${i}] is ${JSON.stringify(entry)}, not a stack name`);
    else if (stacks.includes(entry)) problems.push(`${ORDER_FILE}: ${entry} is listed twice`);
    else stacks.push(entry);
  });
  return { stacks, problems };
}

/** A stack's validated config, as the program reads it, from the config of a stack file; throws the program's ConfigError. */
export function fleetConfigOf(stack: string, config: Readonly<Record<string, unknown>>): FleetConfig {
  const values = Object.fromEntries(Object.entries(programKeys(config)).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
  return parseFleetConfig({ stack, values });
}

/** A stack's validated config; undefined when invalid (it fails its own render and preview, with the reasons). */
export function configOf(root: string, stack: string): FleetConfig | undefined {
  try {
    return fleetConfigOf(stack, stackConfigAt(root, stack).config);
  } catch {
    return undefined;
  }
}

/** Each GitHub repository a stack uses, and whether the stack creates it. */
function repositoriesOf(config: FleetConfig | undefined): { name: string; create: boolean }[] {
  if (!config) return [];
  return [config.repository, ...config.tenants.map((t) => t.repository)].map((r) => ({ name: r.name.toLowerCase(), create: r.create }));
}

/**
 * The stack that creates a fleet's tenant template lists every environment of the fleet in
 * `fleet:repository.templateEnvironments`: otherwise each tenant repository it generates costs
 * each stack of a missing environment one more commit (docs/github.md, "Write budget").
 */
function templateProblems(configs: readonly { stack: string; config: FleetConfig | undefined }[]): string[] {
  const problems: string[] = [];
  for (const { stack: owner, config: owning } of configs) {
    if (!owning?.repository.create) continue;
    const fleet = owning.repository.name.toLowerCase();
    const missing = [...new Set(configs.flatMap(({ config }) =>
      config && config.repository.name.toLowerCase() === fleet && !owning.repository.templateEnvironments.includes(config.environment) ? [config.environment] : []))];
    if (missing.length > 0) {
      problems.push(
        `Pulumi.${owner}.yaml: fleet:repository.templateEnvironments lacks ${missing.join(", ")} (environments of stacks on ${owning.repository.name}); ` +
          `add ${missing.length > 1 ? "them" : "it"}, so the tenant repositories ${owner} generates already hold flux/<environment>/kustomization.yaml`,
      );
    }
  }
  return problems;
}

/**
 * A repository must be created before it is looked up: the stack that creates it comes first. Two
 * stacks creating one repository would race for it.
 */
function orderProblems(configs: readonly { stack: string; config: FleetConfig | undefined }[]): string[] {
  const stacks = configs.map((c) => c.stack);
  const repositories = configs.map(({ stack, config }) => ({ stack, repositories: repositoriesOf(config) }));
  const creators = new Map<string, string[]>();
  for (const { stack, repositories: used } of repositories) {
    for (const r of used.filter((r) => r.create)) creators.set(r.name, [...(creators.get(r.name) ?? []), stack]);
  }
  const problems: string[] = [];
  for (const [name, by] of creators) {
    if (by.length > 1) {
      problems.push(`repository ${name} is created by ${by.join(" and ")}; only one stack may create it: set repository.create: false in the others`);
    }
  }
  repositories.forEach(({ stack, repositories: used }, i) => {
    for (const r of used.filter((r) => !r.create)) {
      const creator = creators.get(r.name)?.[0];
      if (creator !== undefined && stacks.indexOf(creator) > i) {
        problems.push(`${ORDER_FILE}: ${stack} looks up repository ${r.name}, which ${creator} creates; list ${creator} before ${stack}`);
      }
    }
  });
  return problems;
}

/**
 * The stacks of `root` in apply order: exactly those with a `Pulumi.<stack>.yaml`, in the order of
 * `stacks.yaml`.
 * @throws StackListError naming every stack file missing from stacks.yaml, every entry without a
 * file, every stack listed before the stack that creates a repository it looks up, and every
 * environment the owning stack's tenant template lacks
 */
export function discoverStacks(root = REPO_ROOT): string[] {
  const files = stackFiles(root);
  const order = readOrder(root);
  const problems = [...order.problems];
  for (const stack of files.filter((s) => !order.stacks.includes(s))) {
    problems.push(`Pulumi.${stack}.yaml: stack ${stack} is not listed in ${ORDER_FILE}; add it where it should be applied`);
  }
  for (const stack of order.stacks.filter((s) => !files.includes(s))) {
    problems.push(`${ORDER_FILE}: ${stack} has no Pulumi.${stack}.yaml; remove the entry, or add the stack file`);
  }
  const configs = order.stacks.filter((s) => files.includes(s)).map((stack) => ({ stack, config: configOf(root, stack) }));
  problems.push(...orderProblems(configs), ...templateProblems(configs));
  if (problems.length > 0) throw new StackListError(problems);
  return order.stacks;
}

/**
 * The stacks CI runs over: `discoverStacks(root)`, then, with `since`, the stacks whose file
 * exists at git `since` but not in `root` any more (deleted: their render diff shows the removal).
 */
export function matrixStacks(root = REPO_ROOT, since?: string): string[] {
  const stacks = discoverStacks(root);
  const deleted = since ? stackFilesAt(since, root).filter((s) => !stacks.includes(s)) : [];
  return [...stacks, ...deleted];
}
