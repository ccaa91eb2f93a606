/**
 * `npm run new-stack`: a new cluster's stack file from an existing one, checked by the program,
 * and its place in stacks.yaml. Each test works on a temporary copy of the stack files.
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { parseFleetConfig, programKeys } from "../components/config";
import { newStack, NewStackError } from "../scripts/new-stack";
import { discoverStacks, ORDER_FILE } from "../scripts/lib/stacks";
import { REPO_ROOT, runProgram, stackConfigAt } from "./harness";

const REPOSITORY = "github:index/repository:Repository";
const KUSTOMIZATION = "kubernetes:kustomize.toolkit.fluxcd.io/v1:Kustomization";

const made: string[] = [];
after(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** A temporary root with this repository's Pulumi.yaml, Pulumi.<stack>.yaml files and stacks.yaml. */
function copyRoot(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-new-stack-"));
  made.push(dir);
  for (const f of fs.readdirSync(REPO_ROOT).filter((f) => /^Pulumi\..*yaml$/.test(f) || f === ORDER_FILE)) {
    fs.copyFileSync(path.join(REPO_ROOT, f), path.join(dir, f));
  }
  return dir;
}

const read = (dir: string, file: string) => fs.readFileSync(path.join(dir, file), "utf8");
const configOf = (dir: string, stack: string) => stackConfigAt(dir, stack).config as Record<string, any>;
const encoded = (config: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(programKeys(config)).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));

/** The rejection of `newStack`, asserting it is a NewStackError. */
async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof NewStackError, String(e));
    return e.message;
  }
  return assert.fail("newStack did not refuse");
}

describe("new-stack: a new cluster's stack", () => {
  it("new-stack qa writes a stack the program accepts, which creates no repository", async () => {
    const dir = copyRoot();
    const result = await newStack({ stack: "qa" }, dir);
    assert.equal(result.file, path.join(dir, "Pulumi.qa.yaml"));
    assert.equal(result.from, "staging", "copied from the stack that owns the repositories");

    const config = configOf(dir, "qa");
    const parsed = parseFleetConfig({ stack: "qa", values: encoded(config) });
    assert.equal(parsed.environment, "qa");
    assert.equal(parsed.repository.create, false);
    assert.equal(parsed.repository.path, "clusters/qa");
    assert.deepEqual(parsed.tenants.map((t) => [t.name, t.repository.create]), [["shop", false], ["payments", false], ["analytics", false]]);
    assert.deepEqual(parsed.cluster, { type: "kind", name: "fleet-qa", nodeImage: configOf(dir, "staging")["fleet:cluster"].nodeImage, workers: 1 });

    const run = await runProgram({ stack: "qa", config });
    assert.equal(run.error, undefined, run.error?.message);
    assert.deepEqual(run.resources.filter((r) => r.type === REPOSITORY).map((r) => r.name), [], "no repository is created");
    const paths = run.resources.filter((r) => r.type === KUSTOMIZATION).map((r) => r.inputs.spec.path).sort();
    assert.deepEqual(paths, ["./deploy/flux/qa", "./flux/qa", "./flux/qa"], "the environment's paths; the analytics layout kept");

    const text = read(dir, "Pulumi.qa.yaml");
    const values = text.replace(/^ *#.*\n/gm, "");
    assert.doesNotMatch(values, /fleet:environment|create: true|staging|secure:/, "nothing of the source stack's own");
    assert.match(text, /^# Stack qa: one cluster of environment qa/m);
    assert.match(text, /^ {2}# A kind cluster on the machine that runs pulumi up/m);
    assert.deepEqual(Object.keys(config).slice(0, 2), ["pulumi:disable-default-providers", "github:owner"]);
    assert.deepEqual(config["fleet:flux"], configOf(dir, "staging")["fleet:flux"]);
  });

  it("adds the stack to stacks.yaml right after the stack it was copied from, keeping the file's comments", async () => {
    const dir = copyRoot();
    const before = read(dir, ORDER_FILE);
    const result = await newStack({ stack: "qa" }, dir);
    assert.deepEqual(result.order, ["staging", "qa", "production"]);
    assert.equal(result.after, "staging");
    assert.deepEqual(parseYaml(read(dir, ORDER_FILE)).stacks, result.order);
    assert.equal(read(dir, ORDER_FILE), before.replace("  - staging\n", "  - staging\n  - qa\n"));
    assert.deepEqual(discoverStacks(dir), result.order, "CI's discovery accepts the result");
    assert.match(result.nextSteps, /^Added qa to stacks\.yaml after staging: the apply order is staging, qa, production\./m);
    assert.match(result.nextSteps, /Create the GitHub environments qa and qa-preview/);
    assert.match(result.nextSteps, /open a pull request/);
  });

  it("a new environment is added to the owning stack's templateEnvironments, keeping its comments; a known one changes nothing", async () => {
    const dir = copyRoot();
    const before = read(dir, "Pulumi.staging.yaml");
    const qa = await newStack({ stack: "qa" }, dir);
    assert.deepEqual(configOf(dir, "staging")["fleet:repository"].templateEnvironments, ["staging", "production", "qa"]);
    assert.equal(read(dir, "Pulumi.staging.yaml"), before.replace("templateEnvironments: [staging, production]\n", "templateEnvironments: [staging, production, qa]\n"));
    assert.equal(configOf(dir, "qa")["fleet:repository"].templateEnvironments, undefined, "the lookup stack does not copy the owner's list");
    assert.match(qa.nextSteps, /Added environment qa to fleet:repository\.templateEnvironments in Pulumi\.staging\.yaml/);
    assert.match(qa.nextSteps, /Commit Pulumi\.qa\.yaml, Pulumi\.staging\.yaml and stacks\.yaml/);
    const unchanged = read(dir, "Pulumi.staging.yaml");
    const eu = await newStack({ stack: "production-eu", environment: "production", from: "production" }, dir);
    assert.equal(read(dir, "Pulumi.staging.yaml"), unchanged);
    assert.doesNotMatch(eu.nextSteps, /templateEnvironments/);
    assert.deepEqual(discoverStacks(dir), ["staging", "qa", "production", "production-eu"], "CI's discovery accepts the result");
  });

  it("--environment production joins the production environment: fleet:environment and its shared paths", async () => {
    const dir = copyRoot();
    const result = await newStack({ stack: "production-eu", environment: "production", from: "production" }, dir);
    assert.equal(result.environment, "production");
    const config = configOf(dir, "production-eu");
    assert.equal(config["fleet:environment"], "production");
    assert.equal(config["fleet:cluster"].name, "fleet-production-eu");
    const run = await runProgram({ stack: "production-eu", config });
    assert.equal(run.error, undefined, run.error?.message);
    const paths = run.resources.filter((r) => r.type === KUSTOMIZATION).map((r) => r.inputs.spec.path).sort();
    assert.deepEqual(paths, ["./deploy/flux/production", "./flux/production", "./flux/production"]);
    assert.deepEqual(result.order, ["staging", "production", "production-eu"]);

    const fromStaging = await newStack({ stack: "production-us", environment: "production" }, dir);
    const tenants = configOf(dir, "production-us")["fleet:tenants"];
    assert.equal(tenants.find((t: any) => t.name === "analytics").path, "./deploy/flux/production", "staging's environment name in a path becomes production");
    assert.deepEqual(fromStaging.order, ["staging", "production-us", "production", "production-eu"]);
  });

  it("--kubeconfig writes an existing cluster, and says how to store its kubeconfig", async () => {
    const dir = copyRoot();
    const result = await newStack({ stack: "edge", kubeconfig: true }, dir);
    const config = configOf(dir, "edge");
    assert.deepEqual(config["fleet:cluster"], { type: "kubeconfig" });
    assert.equal(config["fleet:kubeconfig"], undefined);
    assert.match(read(dir, "Pulumi.edge.yaml"), /# {3}pulumi config set --secret --stack edge fleet:kubeconfig < kubeconfig\.yaml/);
    assert.match(result.nextSteps, /pulumi config set --secret --stack edge fleet:kubeconfig < kubeconfig\.yaml/);
  });

  it("drops encrypted values and the other stack's encryption settings, naming them", async () => {
    const dir = copyRoot();
    const source = parseYaml(read(dir, "Pulumi.production.yaml"));
    source.config["fleet:cluster"] = { type: "kubeconfig" };
    source.config["fleet:kubeconfig"] = { secure: "v1:AAAA" };
    source.config["kubernetes:token"] = { secure: "v1:BBBB" };
    fs.writeFileSync(path.join(dir, "Pulumi.edge.yaml"), JSON.stringify({ encryptionsalt: "v1:salt", config: source.config }));
    const result = await newStack({ stack: "edge-2", from: "edge", kubeconfig: true }, dir);
    assert.deepEqual(result.dropped, ["fleet:kubeconfig", "kubernetes:token"]);
    const text = read(dir, "Pulumi.edge-2.yaml");
    assert.doesNotMatch(text, /secure:|v1:|encryptionsalt/);
    assert.match(text, /^# Not copied from Pulumi\.edge\.yaml, being encrypted for that stack.*\n# {3}fleet:kubeconfig\n# {3}kubernetes:token$/m);
    assert.equal(result.after, "production", "a source missing from stacks.yaml: appended at the end");
  });

  it("a source whose tenants have secrets: the seed is not copied (it is encrypted for that stack), the stack is still checked, and the next steps say which seed to set", async () => {
    const dir = copyRoot();
    const source = parseYaml(read(dir, "Pulumi.production.yaml"));
    source.config["fleet:tenants"][0].secrets = "sops";
    source.config["fleet:sopsSeed"] = { secure: "v1:CCCC" };
    fs.writeFileSync(path.join(dir, "Pulumi.production.yaml"), JSON.stringify({ encryptionsalt: "v1:salt", config: source.config }));
    const same = await newStack({ stack: "production-us", environment: "production", from: "production" }, dir);
    assert.deepEqual(same.dropped, ["fleet:sopsSeed"]);
    assert.equal(configOf(dir, "production-us")["fleet:tenants"][0].secrets, "sops");
    assert.match(same.nextSteps, /give it environment production's SOPS seed, the same as production's: pulumi config get fleet:sopsSeed --stack production \| pulumi config set --secret fleet:sopsSeed --stack production-us/);
    const other = await newStack({ stack: "qa", from: "production" }, dir);
    assert.match(other.nextSteps, /give environment qa its own SOPS seed .*: openssl rand -base64 32 \| pulumi config set --secret fleet:sopsSeed --stack qa/);
  });

  it("leaves out a tenant marked for offboarding", async () => {
    const dir = copyRoot();
    const staging = read(dir, "Pulumi.staging.yaml").replace("    - name: shop\n", "    - name: shop\n      offboard: true\n");
    assert.match(staging, /offboard: true/);
    fs.writeFileSync(path.join(dir, "Pulumi.staging.yaml"), staging);
    await newStack({ stack: "qa" }, dir);
    assert.deepEqual(configOf(dir, "qa")["fleet:tenants"].map((t: { name: string }) => t.name), ["payments", "analytics"]);
  });

  it("refuses an existing stack, naming it, and changes nothing", async () => {
    const dir = copyRoot();
    const before = read(dir, ORDER_FILE);
    assert.equal(await refusal(newStack({ stack: "staging" }, dir)), "Pulumi.staging.yaml already exists; choose another stack name, or edit that file");
    assert.equal(read(dir, ORDER_FILE), before);
  });

  it("refuses a name that is not a DNS-1123 label, and an invalid environment", async () => {
    const dir = copyRoot();
    for (const name of ["QA", "qa_1", "-qa", "qa-", "q.a", ""]) {
      assert.equal(
        await refusal(newStack({ stack: name }, dir)),
        `invalid stack name ${JSON.stringify(name)}: use lowercase letters, digits and '-', starting and ending with a letter or digit (the stack name is also the default environment and the kind cluster name fleet-<stack>)`,
      );
    }
    assert.equal(
      await refusal(newStack({ stack: "qa", environment: "Prod" }, dir)),
      `invalid environment "Prod": use lowercase letters, digits and '-', starting and ending with a letter or digit`,
    );
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes("qa")), []);
  });

  it("without --from, needs exactly one owning stack; --from must exist", async () => {
    const dir = copyRoot();
    fs.writeFileSync(path.join(dir, "Pulumi.other.yaml"), read(dir, "Pulumi.staging.yaml").replace("fleet-staging", "fleet-other"));
    assert.equal(
      await refusal(newStack({ stack: "qa" }, dir)),
      "several stacks have fleet:repository.create: true (other, staging); name the stack to copy with --from <stack>",
    );
    fs.rmSync(path.join(dir, "Pulumi.other.yaml"));
    fs.writeFileSync(path.join(dir, "Pulumi.staging.yaml"), read(dir, "Pulumi.staging.yaml").replace(/^ {4}create: true$/m, "    create: false"));
    assert.match(await refusal(newStack({ stack: "qa" }, dir)), /^no stack owns the repositories/);
    assert.equal(await refusal(newStack({ stack: "qa", from: "prod" }, dir)), "--from prod: there is no Pulumi.prod.yaml; stacks here: production, staging");
  });

  it("a stack the program refuses is not left behind, nor added to stacks.yaml", async () => {
    const dir = copyRoot();
    const before = read(dir, ORDER_FILE);
    fs.writeFileSync(path.join(dir, "Pulumi.broken.yaml"), read(dir, "Pulumi.production.yaml").replace("namespaces:", "namepsaces:"));
    const message = await refusal(newStack({ stack: "qa", from: "broken" }, dir));
    assert.match(message, /^the program refuses Pulumi\.qa\.yaml, so it was not written:\n/);
    assert.match(message, /fleet:tenants\[1\]\.namepsaces: unknown key; did you mean 'namespaces'\?/);
    assert.equal(fs.existsSync(path.join(dir, "Pulumi.qa.yaml")), false);
    assert.equal(read(dir, ORDER_FILE), before);
  });

  it("the command line exits non-zero with the reason, and writes nothing", function () {
    this.timeout(60000);
    const cli = (...args: string[]) => execFileSync(process.execPath, ["-r", "ts-node/register", "scripts/new-stack.ts", ...args], { cwd: REPO_ROOT, encoding: "utf8", stdio: "pipe" });
    const fails = (args: string[], stderr: RegExp) =>
      assert.throws(() => cli(...args), (e: { status: number; stderr: string }) => e.status === 1 && stderr.test(e.stderr));
    fails(["staging"], /^new-stack: Pulumi\.staging\.yaml already exists/);
    fails(["QA"], /^new-stack: invalid stack name "QA"/);
    fails([], /usage: npm run new-stack -- <stack>/);
    fails(["qa", "--colour"], /Unknown option '--colour'/);
  });
});
