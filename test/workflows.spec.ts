/**
 * CI policies over `.github/workflows/*.yml` and `.github/actions/<name>/action.yml` (docs/ci.md
 * explains them). Each policy is a function from the files to a list of violations: the tests
 * assert that the repository's files have none, and that each check does find the violation it is
 * there for in a small counterexample.
 */
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { BODY_LIMIT, driftBody, issueTitle, LABEL, reportDrift } from "../.github/actions/drift-issue/drift-issue";
import { previewVerdict } from "../.github/actions/drift-issue/preview-verdict";
import { reportStatus, statusBody, TITLE as STATUS_TITLE } from "../.github/actions/fleet-status-issue/fleet-status-issue";
import { discoverStacks, matrixStacks, ORDER_FILE, StackListError, stackFiles, stackFilesAt } from "../scripts/lib/stacks";

const ROOT = path.resolve(__dirname, "..");

interface Source {
  text: string;
  doc: any;
}
/** Workflows and actions by path relative to the repository root (`.github/workflows/up.yml`). */
interface Files {
  workflows: Map<string, Source>;
  actions: Map<string, Source>;
}

function source(text: string): Source {
  return { text, doc: parseYaml(text) };
}

function loadFiles(root: string): Files {
  const read = (rel: string): [string, Source] => [rel, source(fs.readFileSync(path.join(root, rel), "utf8"))];
  const workflowDir = path.join(".github", "workflows");
  const actionDir = path.join(".github", "actions");
  const workflows = fs
    .readdirSync(path.join(root, workflowDir))
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => read(path.posix.join(".github/workflows", f)));
  const actions = fs.existsSync(path.join(root, actionDir))
    ? fs
        .readdirSync(path.join(root, actionDir))
        .flatMap((d) => ["action.yml", "action.yaml"].map((f) => path.posix.join(".github/actions", d, f)))
        .filter((rel) => fs.existsSync(path.join(root, rel)))
        .map(read)
    : [];
  return { workflows: new Map(workflows), actions: new Map(actions) };
}

function fixture(workflows: Record<string, string>, actions: Record<string, string> = {}): Files {
  const entries = (o: Record<string, string>) => new Map(Object.entries(o).map(([k, v]) => [k, source(v)] as [string, Source]));
  return { workflows: entries(workflows), actions: entries(actions) };
}

// ---------------------------------------------------------------------------------------------
// Which jobs can run for a pull request

/**
 * Events through which a pull request (its author, or its code) can start a workflow. `pull_request`
 * is the one this repository uses; the others are listed so that adding one is checked as well.
 */
const PR_EVENTS = ["pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment", "issue_comment", "workflow_run"];

function triggers(doc: any): string[] {
  const on = doc?.on;
  if (typeof on === "string") return [on];
  if (Array.isArray(on)) return on.map(String);
  return on && typeof on === "object" ? Object.keys(on) : [];
}

interface Job {
  /** Where the job is, e.g. `preview.yml › preview`, or `up.yml › staging → up-stack.yml › up`. */
  where: string;
  file: string;
  id: string;
  job: any;
}

const short = (file: string) => path.posix.basename(file);

/** A local reusable workflow's path (`./.github/workflows/x.yml` → `.github/workflows/x.yml`). */
function localTarget(uses: unknown): string | undefined {
  return typeof uses === "string" && uses.startsWith("./") ? path.posix.normalize(uses.slice(2)) : undefined;
}

/** The jobs of `file`, and of the local reusable workflows they call, recursively. */
function jobsFrom(files: Files, file: string, via = "", seen = new Set<string>()): Job[] {
  seen.add(file);
  const jobs = Object.entries(files.workflows.get(file)?.doc?.jobs ?? {});
  return jobs.flatMap(([id, job]: [string, any]) => {
    const where = `${via}${short(file)} › ${id}`;
    const target = localTarget(job?.uses);
    const called = target && files.workflows.has(target) && !seen.has(target) ? jobsFrom(files, target, `${where} → `, new Set(seen)) : [];
    return [{ where, file, id, job }, ...called];
  });
}

/** Every job that can run for a pull request: those of PR-triggered workflows and what they call. */
function pullRequestJobs(files: Files): Job[] {
  return [...files.workflows.entries()].filter(([, w]) => triggers(w.doc).some((t) => PR_EVENTS.includes(t))).flatMap(([f]) => jobsFrom(files, f));
}

function environmentName(job: any): string {
  const env = job?.environment;
  return typeof env === "string" ? env : typeof env?.name === "string" ? env.name : "";
}

// ---------------------------------------------------------------------------------------------
// Which secrets a job references

/** A reference to a secret: an exact name, or, for a computed index, the prefix it starts with. */
interface SecretRef {
  name: string;
  exact: boolean;
}

/** The expressions in a node: the insides of `${{ }}`, and bare `if:` conditions. */
function expressions(node: unknown, key = ""): string[] {
  if (typeof node === "string") {
    const inner = [...node.matchAll(/\$\{\{([\s\S]*?)\}\}/g)].map((m) => m[1]);
    return key === "if" && inner.length === 0 ? [node] : inner;
  }
  if (Array.isArray(node)) return node.flatMap((n) => expressions(n));
  if (node && typeof node === "object") return Object.entries(node).flatMap(([k, v]) => expressions(v, k));
  return [];
}

/**
 * The secrets a job references: `secrets.NAME`, `secrets['NAME']`, `secrets[format('PREFIX{0}', …)]`
 * (any name starting with PREFIX), any other `secrets[…]` or bare `secrets` (e.g. `toJSON(secrets)`),
 * which could be any secret, and `secrets: inherit` into a reusable workflow outside this repository.
 */
function secretRefs(job: any): SecretRef[] {
  const refs: SecretRef[] = [];
  for (const e of expressions(job)) {
    for (const m of e.matchAll(/(?<![\w.-])secrets\b\s*(?:\.\s*([A-Za-z_][\w-]*)|\[\s*'([^']*)'\s*\]|\[\s*format\(\s*'([^'{]*)|)/gi)) {
      const exact = m[1] ?? m[2];
      refs.push(exact !== undefined ? { name: exact.toUpperCase(), exact: true } : { name: (m[3] ?? "").toUpperCase(), exact: false });
    }
  }
  if (job?.secrets === "inherit" && typeof job?.uses === "string" && !localTarget(job.uses)) refs.push({ name: "", exact: false });
  return refs;
}

const mayBe = (ref: SecretRef, name: string) => (ref.exact ? ref.name === name : name.startsWith(ref.name));
const mayBeKubeconfig = (ref: SecretRef) => ref.name.startsWith("KUBECONFIG_") || (!ref.exact && "KUBECONFIG_".startsWith(ref.name));
const show = (ref: SecretRef) => (ref.exact ? `secrets.${ref.name}` : ref.name ? `secrets[${ref.name}…]` : "secrets[…] (any secret)");

/** Secrets that can change production or decrypt its state. */
const PRODUCTION_SECRETS = ["FLEET_GITHUB_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_ACCESS_TOKEN", "PULUMI_BACKEND_URL"];
/** The admin GitHub token: never in a job that can run for a pull request. */
const ADMIN_TOKEN = "FLEET_GITHUB_TOKEN";
/** Environments whose names end in this are preview environments; docs/ci.md: reviewers for production-like stacks. */
const PREVIEW_SUFFIX = "-preview";

/** Pull-request jobs that can see the admin token, or a production secret outside a `*-preview` environment. */
function productionSecretViolations(files: Files): string[] {
  return pullRequestJobs(files).flatMap(({ where, job }) => {
    const environment = environmentName(job);
    return secretRefs(job).flatMap((ref) => {
      if (mayBe(ref, ADMIN_TOKEN)) return [`${where} can run for a pull request and references ${show(ref)}, which can be ${ADMIN_TOKEN}`];
      const sensitive = PRODUCTION_SECRETS.some((n) => mayBe(ref, n)) || mayBeKubeconfig(ref);
      if (sensitive && !environment.endsWith(PREVIEW_SUFFIX)) {
        return [`${where} can run for a pull request and references ${show(ref)} outside a *${PREVIEW_SUFFIX} environment (environment: ${environment || "none"})`];
      }
      return [];
    });
  });
}

/** Pull-request jobs outside a `*-preview` environment that reference any secret but the workflow's own GITHUB_TOKEN. */
function credentialFreeViolations(files: Files): string[] {
  return pullRequestJobs(files)
    .filter(({ job }) => !environmentName(job).endsWith(PREVIEW_SUFFIX))
    .flatMap(({ where, job }) => secretRefs(job).filter((r) => !(r.exact && r.name === "GITHUB_TOKEN")).map((r) => `${where} references ${show(r)}`));
}

/** Values a pull-request job may give the GitHub provider as GITHUB_TOKEN. */
const READ_TOKENS = ["${{ secrets.FLEET_GITHUB_READ_TOKEN }}", "${{ github.token }}", "${{ secrets.GITHUB_TOKEN }}"];

/** Every job of every workflow (a job calling a reusable workflow is listed once, as the caller). */
function allJobs(files: Files): Job[] {
  return [...files.workflows.entries()].flatMap(([file, w]) =>
    Object.entries(w.doc?.jobs ?? {}).map(([id, job]: [string, any]) => ({ where: `${short(file)} › ${id}`, file, id, job })),
  );
}

/** Jobs that run in a `*-preview` environment, whatever starts them (pull requests, the drift schedule). */
function previewEnvironmentJobs(files: Files): Job[] {
  return allJobs(files).filter(({ job }) => environmentName(job).endsWith(PREVIEW_SUFFIX));
}

/** Pull-request jobs and `*-preview` jobs that give the GitHub provider anything but a read-only token. */
function githubTokenViolations(files: Files): string[] {
  const jobs = [...pullRequestJobs(files), ...previewEnvironmentJobs(files).filter((j) => !pullRequestJobs(files).some((p) => p.where === j.where))];
  return jobs.flatMap(({ where, job }) =>
    [job?.env, ...(job?.steps ?? []).map((s: any) => s?.env)]
      .filter((env) => env && typeof env === "object" && "GITHUB_TOKEN" in env)
      .filter((env) => !READ_TOKENS.includes(String(env.GITHUB_TOKEN).trim()))
      .map((env) => `${where} sets GITHUB_TOKEN to ${env.GITHUB_TOKEN}`),
  );
}

/** Jobs in a `*-preview` environment that can see the admin token: those credentials are a preview's, whatever the trigger. */
function previewAdminTokenViolations(files: Files): string[] {
  return previewEnvironmentJobs(files).flatMap(({ where, job }) =>
    secretRefs(job)
      .filter((ref) => mayBe(ref, ADMIN_TOKEN))
      .map((ref) => `${where} runs in a *${PREVIEW_SUFFIX} environment and references ${show(ref)}, which can be ${ADMIN_TOKEN}`),
  );
}

/**
 * Jobs, on any trigger, that reference a secret other than the workflow's own GITHUB_TOKEN without
 * naming an environment: credentials are environment secrets only (docs/ci.md).
 */
function secretOutsideEnvironmentViolations(files: Files): string[] {
  return [...files.workflows.keys()]
    .flatMap((f) => jobsFrom(files, f))
    .filter(({ job }) => environmentName(job) === "")
    .flatMap(({ where, job }) => secretRefs(job).filter((r) => !(r.exact && r.name === "GITHUB_TOKEN")).map((r) => `${where} references ${show(r)} outside an environment`));
}

// ---------------------------------------------------------------------------------------------
// Scripts, pins, triggers, permissions

/** Keys whose string value is a script: `run:`, and `script:` of actions/github-script. */
const SCRIPT_KEYS = ["run", "script"];

/** Every `run:` or github-script `script:` (workflows and actions) with a `${{` in it. */
function runExpressionViolations(files: Files): string[] {
  const found: string[] = [];
  const walk = (node: unknown, at: string) => {
    if (Array.isArray(node)) node.forEach((n, i) => walk(n, `${at}[${i}]`));
    else if (node && typeof node === "object") {
      for (const [k, v] of Object.entries(node)) {
        if (SCRIPT_KEYS.includes(k) && typeof v === "string" && v.includes("${{")) found.push(`${at}.${k}: ${v.split("\n").find((l) => l.includes("${{"))!.trim()}`);
        else walk(v, `${at}.${k}`);
      }
    }
  };
  for (const [f, s] of [...files.workflows, ...files.actions]) walk(s.doc, f);
  return found;
}

const SHA_PINNED = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+(\/[^@\s]+)?@[0-9a-f]{40}$/;
const TAG_COMMENT = /^\s+#\s*v\d+(\.\d+)*\S*\s*$/;

/** Every `uses:` value in a parsed workflow or action. */
function usesValues(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(usesValues);
  if (node && typeof node === "object") {
    return Object.entries(node).flatMap(([k, v]) => (k === "uses" && typeof v === "string" ? [v] : usesValues(v)));
  }
  return [];
}


/** The Pulumi CLI the real tier runs (rig/versions.sh): every workflow must run that one. */
const RIG_PULUMI_VERSION = /^PULUMI_VERSION=(\S+)/m.exec(fs.readFileSync(path.join(ROOT, "rig", "versions.sh"), "utf8"))![1];

function pulumiSteps(files: Files): { at: string; job: string; steps: any[]; step: any; index: number }[] {
  return [...files.workflows, ...files.actions].flatMap(([f, s]) => {
    const jobs: [string, any][] = s.doc?.jobs ? Object.entries(s.doc.jobs) : [["(action)", { steps: s.doc?.runs?.steps ?? [] }]];
    return jobs.flatMap(([job, j]) => {
      const steps: any[] = j?.steps ?? [];
      return steps.flatMap((step, index) => (String(step?.uses ?? "").startsWith("pulumi/actions@") ? [{ at: `${f} › ${job} step ${index + 1}`, job, steps, step, index }] : []));
    });
  });
}

/** pulumi/actions steps that do not name the exact CLI version the real tier runs. */
function pulumiVersionViolations(files: Files): string[] {
  return pulumiSteps(files)
    .filter((p) => String(p.step.with?.["pulumi-version"] ?? "") !== RIG_PULUMI_VERSION)
    .map((p) => `${p.at}: pulumi-version must be ${RIG_PULUMI_VERSION} (rig/versions.sh), is ${p.step.with?.["pulumi-version"] ?? "unset"}`);
}

/** `up` steps with no earlier preview of the same stack in the same job, or that may go on after a failure. */
function upWithoutPreviewViolations(files: Files): string[] {
  return pulumiSteps(files)
    .filter((p) => p.step.with?.command === "up")
    .flatMap((p) => {
      const preview = p.steps.slice(0, p.index).find(
        (s) => String(s?.uses ?? "").startsWith("pulumi/actions@") && s.with?.command === "preview" && s.with?.["stack-name"] === p.step.with?.["stack-name"],
      );
      if (!preview) return [`${p.at}: up has no preview of ${p.step.with?.["stack-name"]} before it`];
      if (preview["continue-on-error"] || p.step["continue-on-error"]) return [`${p.at}: the preview or the up may continue on error`];
      return [];
    });
}

/**
 * preview and up steps (pulumi/actions) with no earlier `npm run preflight` of the same stack in the
 * same job: a Flux minor upgrade would reach the cluster unchecked (scripts/preflight.ts).
 * drift.yml's `preview --refresh` (another command) changes nothing and is left out.
 */
function preflightViolations(files: Files): string[] {
  return pulumiSteps(files)
    .filter((p) => ["preview", "up"].includes(p.step.with?.command))
    .flatMap((p) => {
      const stackVar = String(p.step.with?.["stack-name"] ?? "");
      const pre = p.steps.slice(0, p.index).find((s) => /npm run (--silent )?preflight -- "\$STACK"/.test(String(s?.run ?? "")) && String(s?.env?.STACK ?? "") === stackVar);
      if (!pre) return [`${p.at}: ${p.step.with?.command} of ${stackVar} has no npm run preflight of the same stack before it`];
      if (pre["continue-on-error"]) return [`${p.at}: the preflight may continue on error`];
      return [];
    });
}

/** Non-local `uses:` not pinned to a full commit SHA followed by a `# v…` tag comment on its line. */
function pinViolations(files: Files): string[] {
  return [...files.workflows, ...files.actions].flatMap(([f, s]) => {
    const lines = s.text.split("\n").flatMap((line, i) => {
      const m = /^\s*(?:-\s+)?uses:\s*(["']?)([^\s"'#]+)\1(.*)$/.exec(line);
      return m && !m[2].startsWith("./") ? [{ at: `${f}:${i + 1}`, uses: m[2], rest: m[3] }] : [];
    });
    const parsed = usesValues(s.doc).filter((u) => !u.startsWith("./"));
    const bad = lines
      .filter((l) => !SHA_PINNED.test(l.uses) || !TAG_COMMENT.test(l.rest))
      .map((l) => `${l.at}: ${l.uses}${l.rest} is not <owner>/<repo>@<40-hex commit> # v<tag>`);
    const unseen = parsed.length === lines.length ? [] : [`${f}: ${parsed.length} non-local uses, but ${lines.length} on their own \`uses:\` line`];
    return [...bad, ...unseen];
  });
}

/** Actions pinned to more than one commit, or one commit under more than one tag, across the files. */
function pinConsistencyViolations(files: Files): string[] {
  const pins = new Map<string, Set<string>>();
  for (const [, s] of [...files.workflows, ...files.actions]) {
    for (const m of s.text.matchAll(/uses:\s*([^\s@]+)@([0-9a-f]{40})\s+#\s*(\S+)/g)) {
      const action = m[1].split("/").slice(0, 2).join("/");
      pins.set(action, (pins.get(action) ?? new Set()).add(`${m[2]} # ${m[3]}`));
    }
  }
  return [...pins].filter(([, p]) => p.size > 1).map(([a, p]) => `${a} is pinned as ${[...p].join(", ")}`);
}

function pullRequestTargetViolations(files: Files): string[] {
  return [...files.workflows].filter(([, s]) => triggers(s.doc).includes("pull_request_target")).map(([f]) => `${f} runs on pull_request_target`);
}

/** Writes a job may add to its own token: comments on a pull request, and drift issues. */
const JOB_WRITES = ["pull-requests", "issues"];

/**
 * Workflow-level permissions that are missing or grant a write; job-level writes other than
 * JOB_WRITES; `issues: write` in a job that can run for a pull request.
 */
function permissionViolations(files: Files): string[] {
  const byFile = [...files.workflows].flatMap(([f, s]) => {
    const top = s.doc?.permissions;
    const found: string[] = [];
    if (!top || typeof top !== "object") found.push(`${f} has no workflow-level permissions map (${JSON.stringify(top)})`);
    else for (const [k, v] of Object.entries(top)) if (v === "write") found.push(`${f} grants ${k}: write to every job`);
    for (const [id, job] of Object.entries(s.doc?.jobs ?? {}) as [string, any][]) {
      const p = job?.permissions;
      if (typeof p === "string" && p !== "read-all") found.push(`${f} › ${id} has permissions: ${p}`);
      else if (p && typeof p === "object") {
        for (const [k, v] of Object.entries(p)) if (v === "write" && !JOB_WRITES.includes(k)) found.push(`${f} › ${id} grants ${k}: write`);
      }
    }
    return found;
  });
  const issueWriters = pullRequestJobs(files)
    .filter(({ job }) => job?.permissions && typeof job.permissions === "object" && job.permissions.issues === "write")
    .map(({ where }) => `${where} can run for a pull request and grants issues: write`);
  return [...byFile, ...issueWriters];
}

/** Files (workflows and actions) whose text mentions the admin token at all. */
function adminTokenFiles(files: Files): string[] {
  return [...files.workflows, ...files.actions].filter(([, s]) => new RegExp(`\\b${ADMIN_TOKEN}\\b`).test(s.text)).map(([f]) => f);
}

// ---------------------------------------------------------------------------------------------
// Stacks come from the discover job, never from a list in a workflow

/** Keys whose value is a stack (or its environment): they must come from an expression. */
const STACK_KEYS = ["stack", "stack-name", "environment"];

/**
 * Hard-coded stacks: a literal value under `stack:`, `stack-name:` or `environment:` (with: inputs,
 * matrix entries, a job's environment), a literal `strategy.matrix.stack`, and a literal matrix list
 * holding a stack name.
 */
function hardCodedStackViolations(files: Files, stacks: readonly string[]): string[] {
  const found: string[] = [];
  const walk = (node: unknown, at: string, key: string) => {
    if (STACK_KEYS.includes(key) && typeof node === "string" && !node.includes("${{")) found.push(`${at}: ${JSON.stringify(node)} is a hard-coded stack`);
    else if (key === "environment" && node && typeof node === "object") walk((node as any).name, `${at}.name`, key);
    else if (Array.isArray(node)) node.forEach((n, i) => walk(n, `${at}[${i}]`, ""));
    else if (node && typeof node === "object") for (const [k, v] of Object.entries(node)) walk(v, `${at}.${k}`, k);
  };
  for (const [f, s] of [...files.workflows, ...files.actions]) {
    walk(s.doc, f, "");
    for (const [id, job] of Object.entries(s.doc?.jobs ?? {}) as [string, any][]) {
      const matrix = job?.strategy?.matrix;
      if (!matrix || typeof matrix !== "object") continue;
      for (const [dim, values] of Object.entries(matrix)) {
        const named = Array.isArray(values) && values.some((v) => typeof v === "string" && stacks.includes(v));
        if (named || (dim === "stack" && Array.isArray(values))) found.push(`${f} › ${id}: strategy.matrix.${dim} is the literal list ${JSON.stringify(values)}`);
      }
    }
  }
  return found;
}

/** A matrix over the discovered stacks: `${{ fromJSON(needs.discover.outputs.<name>) }}`. */
const FROM_DISCOVER = /^\$\{\{\s*fromJSON\(\s*needs\.discover\.outputs\.([\w-]+)\s*\)\s*\}\}$/;

/**
 * Jobs that use `matrix.stack` without taking it from the discover job: their matrix must be
 * FROM_DISCOVER, they must need `discover`, and that job must output the name from a step running
 * `scripts/stacks.ts --matrix`.
 */
function matrixSourceViolations(files: Files): string[] {
  return [...files.workflows].flatMap(([f, s]) => {
    const jobs = (s.doc?.jobs ?? {}) as Record<string, any>;
    const discover = jobs.discover;
    return Object.entries(jobs)
      .filter(([, job]) => JSON.stringify(job).includes("matrix.stack") || job?.strategy?.matrix?.stack !== undefined)
      .flatMap(([id, job]) => {
        const where = `${f} › ${id}`;
        const m = FROM_DISCOVER.exec(String(job?.strategy?.matrix?.stack ?? ""));
        if (!m) return [`${where}: strategy.matrix.stack is ${JSON.stringify(job?.strategy?.matrix?.stack)}, not \${{ fromJSON(needs.discover.outputs.<name>) }}`];
        const needs = ([] as unknown[]).concat(job.needs ?? []);
        if (!needs.includes("discover")) return [`${where}: uses needs.discover but does not need the discover job`];
        const output = String(discover?.outputs?.[m[1]] ?? "");
        const step = /^\$\{\{\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}$/.exec(output);
        const producer = step && (discover?.steps ?? []).find((st: any) => st?.id === step[1]);
        if (!producer || !/scripts\/stacks\.ts --matrix/.test(String(producer.run ?? "")) || !new RegExp(`\\b${step[2]}=`).test(String(producer.run))) {
          return [`${where}: the discover job's output ${m[1]} does not come from a step running scripts/stacks.ts --matrix`];
        }
        return [];
      });
  });
}

// ---------------------------------------------------------------------------------------------

const files = loadFiles(ROOT);
const workflow = (name: string) => {
  const w = files.workflows.get(`.github/workflows/${name}`);
  assert.ok(w, `.github/workflows/${name} exists`);
  return w.doc;
};

describe("CI workflows: policies", () => {
  it("every pulumi/actions step runs the Pulumi CLI the real tier runs, pinned exactly", () => {
    assert.ok(pulumiSteps(files).length >= 5, "the pulumi/actions steps are found");
    assert.deepEqual(pulumiVersionViolations(files), []);
  });

  it("every up is preceded by a preview of the same stack that stops the job on a protected delete", () => {
    assert.ok(pulumiSteps(files).some((p) => p.step.with?.command === "up"), "an up step is found");
    assert.deepEqual(upWithoutPreviewViolations(files), []);
  });

  it("up-stack.yml runs npm run recover --check before its up: pending creates and a lost state stop the job", () => {
    const steps = (parseYaml(fs.readFileSync(path.join(ROOT, ".github/workflows/up-stack.yml"), "utf8")).jobs as Record<string, { steps: any[] }>);
    const job = Object.values(steps).find((j) => j.steps.some((s) => s.with?.command === "up"))!;
    const check = job.steps.findIndex((s) => /npm run (--silent )?recover -- "\$STACK" --check/.test(String(s.run ?? "")));
    const up = job.steps.findIndex((s) => String(s.uses ?? "").startsWith("pulumi/actions@") && s.with?.command === "up");
    assert.ok(check >= 0 && check < up, `recover --check at ${check}, up at ${up}`);
    assert.equal(job.steps[check]["continue-on-error"], undefined);
  });

  it("every preview and up of a stack is preceded by the upgrade preflight of the same stack, which stops the job", () => {
    assert.ok(pulumiSteps(files).filter((p) => ["preview", "up"].includes(p.step.with?.command)).length >= 3, "the preview and up steps are found");
    assert.deepEqual(preflightViolations(files), []);
    const sha = "8582a9e8cc630786854029b4e09281acd6794b58";
    const w = (steps: string) => fixture({ ".github/workflows/w.yml": `on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n${steps}` });
    const pre = (stack: string, extra = "") => `      - env: { STACK: "${stack}" }\n        ${extra}run: npm run --silent preflight -- "$STACK"\n`;
    const up = `      - uses: pulumi/actions@${sha} # v6.6.1\n        with: { pulumi-version: "${RIG_PULUMI_VERSION}", command: up, stack-name: s }\n`;
    assert.equal(preflightViolations(w(up)).length, 1, "up alone");
    assert.equal(preflightViolations(w(up + pre("s"))).length, 1, "preflight after up");
    assert.equal(preflightViolations(w(pre("t") + up)).length, 1, "another stack's preflight");
    assert.equal(preflightViolations(w(pre("s", "continue-on-error: true\n        ") + up)).length, 1, "preflight may fail");
    assert.deepEqual(preflightViolations(w(pre("s") + up)), []);
  });

  it("the version and preview-first checks find what they are there for", () => {
    const sha = "8582a9e8cc630786854029b4e09281acd6794b58";
    const w = (steps: string) => fixture({ ".github/workflows/w.yml": `on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n${steps}` });
    const step = (command: string, extra = "", version = RIG_PULUMI_VERSION) =>
      `      - uses: pulumi/actions@${sha} # v6.6.1\n        ${extra}with: { pulumi-version: "${version}", command: ${command}, stack-name: s }\n`;
    assert.equal(pulumiVersionViolations(w(step("preview", "", "3.200.0"))).length, 1);
    assert.equal(upWithoutPreviewViolations(w(step("up"))).length, 1, "up alone");
    assert.equal(upWithoutPreviewViolations(w(step("up") + step("preview"))).length, 1, "preview after up");
    assert.equal(upWithoutPreviewViolations(w(step("preview", "continue-on-error: true\n        ") + step("up"))).length, 1, "preview may fail");
    assert.deepEqual(upWithoutPreviewViolations(w(step("preview") + step("up"))), []);
  });

  it("the workflows and actions exist and parse as YAML", () => {
    for (const name of ["preview.yml", "up.yml", "up-stack.yml", "drift.yml"]) assert.ok(workflow(name).jobs, `${name} has jobs`);
    assert.ok(files.actions.has(".github/actions/stack-gate/action.yml"));
    assert.ok(files.actions.has(".github/actions/drift-issue/action.yml"));
    for (const [f, s] of files.actions) assert.equal(s.doc?.runs?.using, "composite", `${f} is a composite action`);
  });

  it("the checks see the pull-request jobs, including reusable workflows they call", () => {
    // Guards the policies below against passing vacuously: preview.yml's jobs are all found.
    const where = pullRequestJobs(files).map((j) => j.where);
    assert.deepEqual(where.filter((w) => w.startsWith("preview.yml")).sort(), [
      "preview.yml › discover",
      "preview.yml › preview",
      "preview.yml › render-diff",
      "preview.yml › test",
    ]);
    assert.ok(secretRefs(workflow("preview.yml").jobs.preview).some(mayBeKubeconfig), "the preview job's KUBECONFIG_<stack> reference is seen");
  });

  it("no job that can run for a pull request can see the admin GitHub token, or a production secret outside a *-preview environment", () => {
    assert.deepEqual(productionSecretViolations(files), []);
  });

  it("jobs that run a pull request's code outside a *-preview environment have no credentials (discover, test, render-diff)", () => {
    assert.deepEqual(credentialFreeViolations(files), []);
    const preview = workflow("preview.yml");
    for (const id of ["discover", "test", "render-diff"]) {
      assert.ok(preview.jobs[id], `preview.yml has a ${id} job`);
      assert.equal(environmentName(preview.jobs[id]), "", `${id} runs in no environment`);
    }
  });

  it("each stack's preview runs in the <stack>-preview environment and reads GitHub with the read-only token", () => {
    const job = workflow("preview.yml").jobs.preview;
    assert.equal(environmentName(job), "${{ matrix.stack }}-preview");
    assert.equal(job.env.GITHUB_TOKEN, "${{ secrets.FLEET_GITHUB_READ_TOKEN }}");
    assert.deepEqual(githubTokenViolations(files), []);
  });

  it("no job in a *-preview environment, on any trigger, can see the admin token or give the provider a writing one", () => {
    assert.deepEqual(previewAdminTokenViolations(files), []);
    assert.deepEqual(githubTokenViolations(files), []);
    // Not vacuous: the scheduled drift job is one of them, beside the pull request's preview.
    assert.deepEqual(previewEnvironmentJobs(files).map((j) => j.where).sort(), ["drift.yml › drift", "preview.yml › preview", "status.yml › status"]);
  });

  it("credentials are environment secrets: no job on any trigger references a secret outside an environment", () => {
    assert.deepEqual(secretOutsideEnvironmentViolations(files), []);
  });

  it("no workflow runs on pull_request_target: previews stay on pull_request, where a fork's PR gets no secrets", () => {
    assert.deepEqual(pullRequestTargetViolations(files), []);
    assert.ok(triggers(workflow("preview.yml")).includes("pull_request"));
  });

  it("no run: script (nor github-script script:) contains ${{ }}: event data, inputs and matrix values reach scripts through env:", () => {
    assert.deepEqual(runExpressionViolations(files), []);
  });

  it("every action from outside the repository is pinned to a full commit SHA, with its tag in a comment", () => {
    assert.deepEqual(pinViolations(files), []);
    assert.deepEqual(pinConsistencyViolations(files), []);
  });

  it("every local uses: points at a file in the repository", () => {
    for (const [f, s] of [...files.workflows, ...files.actions]) {
      for (const u of usesValues(s.doc).filter((v) => v.startsWith("./"))) {
        const target = path.join(ROOT, u);
        const exists = fs.existsSync(target) && (fs.statSync(target).isFile() || ["action.yml", "action.yaml"].some((a) => fs.existsSync(path.join(target, a))));
        assert.ok(exists, `${f}: uses ${u}`);
      }
    }
  });

  it("permissions are read-only per workflow; a job adds pull-requests: write, or issues: write outside pull requests, at most", () => {
    assert.deepEqual(permissionViolations(files), []);
    const writers = allJobs(files).filter(({ job }) => job?.permissions?.issues === "write");
    assert.deepEqual(writers.map((j) => j.where), ["drift.yml › drift", "status.yml › report"], "only the drift job and the fleet status report write issues");
  });

  it("the admin GitHub token appears only in up-stack.yml, whose job runs in the environment it is given", () => {
    assert.deepEqual(adminTokenFiles(files), [".github/workflows/up-stack.yml"]);
    const jobs = workflow("up-stack.yml").jobs;
    const holders = Object.entries(jobs).filter(([, j]) => secretRefs(j).some((r) => mayBe(r, ADMIN_TOKEN)));
    assert.deepEqual(holders.map(([id]) => id), ["up"]);
    assert.equal(jobs.up.environment, "${{ inputs.environment }}");
    assert.deepEqual(Object.keys(workflow("up-stack.yml").on), ["workflow_call"]);
  });
});

describe("CI workflows: behaviour", () => {
  it("each stack is previewed by pulumi/actions with a PR comment and a diff", () => {
    const preview = workflow("preview.yml");
    assert.equal(preview.jobs.preview.strategy.matrix.stack, "${{ fromJSON(needs.discover.outputs.stacks) }}");
    const steps = preview.jobs.preview.steps;
    const run = steps.find((s: any) => String(s.uses ?? "").startsWith("pulumi/actions@") && s.with?.command === "preview");
    assert.ok(run, "a pulumi/actions step runs preview");
    assert.deepEqual([run.with["comment-on-pr"], run.with.diff, run.with["stack-name"]], [true, true, "${{ matrix.stack }}"]);
    assert.ok(steps.some((s: any) => s.uses === "./.github/actions/stack-gate"), "the preview is gated by stack-gate");
  });

  it("up applies every discovered stack one at a time, in stacks.yaml's order, each in the environment of the same name", () => {
    const up = workflow("up.yml");
    assert.deepEqual(triggers(up), ["push"]);
    assert.deepEqual(up.on.push.branches, ["main"]);
    const job = up.jobs.up;
    assert.equal(job.uses, "./.github/workflows/up-stack.yml");
    assert.deepEqual(job.with, { stack: "${{ matrix.stack }}", environment: "${{ matrix.stack }}" }, "each stack runs in the environment of its name");
    assert.equal(job.strategy.matrix.stack, "${{ fromJSON(needs.discover.outputs.stacks) }}");
    assert.deepEqual(Object.keys(job.strategy.matrix), ["stack"], "one job per stack, in the discovered order");
    assert.equal(job.strategy["max-parallel"], 1, "one stack at a time: GitHub starts matrix jobs in list order");
    assert.equal(job.strategy["fail-fast"], true, "a failed stack cancels the stacks after it");
    assert.deepEqual([...job.needs].sort(), ["discover", "test"]);
    assert.deepEqual(Object.keys(up.jobs).sort(), ["discover", "test", "up"], "no job per stack");
    const discover = up.jobs.discover.steps.find((s: any) => s.id === "discover");
    assert.doesNotMatch(discover.run, /--since/, "up applies the stacks that exist, not deleted ones");
    assert.ok(workflow("up-stack.yml").jobs.up.steps.some((s: any) => s.uses === "./.github/actions/stack-gate"));
  });
});

// ---------------------------------------------------------------------------------------------
// Drift: .github/workflows/drift.yml and .github/actions/drift-issue

/** The gate step of a job over the stacks, and the steps after it. */
function gated(job: any): { gate: any; after: any[] } {
  const steps: any[] = job.steps;
  const at = steps.findIndex((s) => s.uses === "./.github/actions/stack-gate");
  assert.ok(at >= 0, "the job uses ./.github/actions/stack-gate");
  return { gate: steps[at], after: steps.slice(at + 1) };
}

/** Runs a `run:` script as GitHub's bash does (`bash --noprofile --norc -eo pipefail {0}`). */
function runStep(script: string, cwd: string, env: Record<string, string>) {
  const file = path.join(cwd, "step.sh");
  fs.writeFileSync(file, script);
  return spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", file], { cwd, env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8" });
}

interface FakeIssue {
  number: number;
  title: string;
  body: string;
  labels: string[];
  state: "open" | "closed";
  state_reason?: string;
  pull_request?: object;
}

/** A GitHub of issues, comments and labels, with the calls github-script's `github` makes. */
function fakeGitHub(issues: FakeIssue[] = [], labels: string[] = []) {
  const comments: { issue: number; body: string }[] = [];
  const calls: string[] = [];
  const notFound = () => Object.assign(new Error("Not Found"), { status: 404 });
  const find = (n: number) => issues.find((i) => i.number === n) ?? assert.fail(`no issue #${n}`);
  const rest = {
    issues: {
      listForRepo: async (p: any) => {
        calls.push("list");
        assert.equal(p.state, "open");
        return { data: issues.filter((i) => i.state === "open" && (!p.labels || i.labels.includes(p.labels))).map((i) => ({ ...i })) };
      },
      create: async (p: any) => {
        calls.push("create");
        assert.ok(p.body.length <= BODY_LIMIT, "GitHub refuses a longer body");
        const issue: FakeIssue = { number: Math.max(0, ...issues.map((i) => i.number)) + 1, title: p.title, body: p.body, labels: p.labels ?? [], state: "open" };
        issues.push(issue);
        return { data: { ...issue, html_url: `https://github.com/acme-org/fleet/issues/${issue.number}` } };
      },
      update: async (p: any) => {
        calls.push(`update #${p.issue_number}`);
        const issue = find(p.issue_number);
        if (p.body !== undefined) {
          assert.ok(p.body.length <= BODY_LIMIT, "GitHub refuses a longer body");
          issue.body = p.body;
        }
        if (p.state) Object.assign(issue, { state: p.state, state_reason: p.state_reason });
        return { data: issue };
      },
      createComment: async (p: any) => {
        calls.push(`comment #${p.issue_number}`);
        comments.push({ issue: p.issue_number, body: p.body });
        return { data: {} };
      },
      getLabel: async (p: any) => {
        if (!labels.includes(p.name)) throw notFound();
        return { data: { name: p.name } };
      },
      createLabel: async (p: any) => {
        calls.push(`label ${p.name}`);
        labels.push(p.name);
        return { data: { name: p.name } };
      },
    },
  };
  const paginate = async (fn: (p: any) => Promise<{ data: any[] }>, params: any) => (await fn(params)).data;
  return { rest, paginate, issues, comments, labels, calls };
}

const context = { repo: { owner: "acme-org", repo: "fleet" }, serverUrl: "https://github.com", runId: 4242, sha: "0123456789abcdef0123456789abcdef01234567" };
function fakeCore() {
  const said: string[] = [];
  const say = (level: string) => (m: string) => said.push(`${level}: ${m}`);
  return { said, info: say("info"), notice: say("notice"), warning: say("warning"), setFailed: say("failed") };
}

describe("CI workflows: drift (drift.yml)", () => {
  const drift = () => workflow("drift.yml");
  const job = () => drift().jobs.drift;
  const step = (id: string) => job().steps.find((s: any) => s.id === id) ?? assert.fail(`drift.yml › drift has no step ${id}`);
  const made: string[] = [];
  const tmp = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-drift-"));
    made.push(dir);
    return dir;
  };
  after(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it("runs daily on a schedule and by hand, never for a push or a pull request", () => {
    assert.deepEqual(triggers(drift()).sort(), ["schedule", "workflow_dispatch"]);
    const crons = drift().on.schedule.map((e: any) => e.cron);
    assert.equal(crons.length, 1);
    assert.match(crons[0], /^\d{1,2} \d{1,2} \* \* \*$/, "once a day");
    assert.ok(!pullRequestJobs(files).some((j) => j.file.endsWith("drift.yml")));
  });

  it("checks every discovered stack, from a discover job like up.yml's, and only on main", () => {
    const discover = drift().jobs.discover;
    assert.equal(environmentName(discover), "", "discover has no credentials");
    const list = discover.steps.find((s: any) => s.id === "discover");
    assert.match(list.run, /node -r ts-node\/register scripts\/stacks\.ts --matrix > stacks\.json/);
    assert.doesNotMatch(list.run, /--since/, "the stacks that exist, not deleted ones");
    assert.deepEqual(job().needs, ["discover"]);
    assert.equal(job().strategy.matrix.stack, "${{ fromJSON(needs.discover.outputs.stacks) }}");
    assert.equal(job().strategy["fail-fast"], false, "one stack's failure does not hide the others' drift");
    assert.deepEqual(Object.keys(drift().jobs).sort(), ["discover", "drift"], "no job per stack");
    // The first step stops a run started by hand on another branch.
    const guard = discover.steps[0].run;
    assert.equal(runStep(guard, tmp(), { GITHUB_REF: "refs/heads/main" }).status, 0);
    const other = runStep(guard, tmp(), { GITHUB_REF: "refs/heads/feature" });
    assert.equal(other.status, 1);
    assert.match(other.stdout, /^::error title=drift runs on main only::this run is on refs\/heads\/feature/m);
  });

  it("the drift workflow's gate is tested the way the preview workflow's is", () => {
    const jobs: [string, any, string][] = [
      ["preview.yml › preview", workflow("preview.yml").jobs.preview, "preview"],
      ["drift.yml › drift", job(), "preview --refresh"],
      ["status.yml › status", workflow("status.yml").jobs.status, "status"],
    ];
    for (const [where, j, command] of jobs) {
      const { gate, after } = gated(j);
      assert.equal(gate.id, "gate", where);
      assert.equal(gate.with.stack, "${{ matrix.stack }}", where);
      assert.equal(gate.with.command, command, where);
      assert.equal(gate.with["github-token-secret"], "FLEET_GITHUB_READ_TOKEN", `${where}: a missing read token is named`);
      assert.deepEqual(j.steps.slice(0, j.steps.indexOf(gate)).map((s: any) => String(s.uses).split("@")[0]), ["actions/checkout"], `${where}: only the checkout runs before the gate`);
      // status.yml's two exceptions touch no credential: the report of a stack the gate skips (jq
      // only), and the upload of whatever report there is.
      const exempt = (s: any) => where.startsWith("status.yml") &&
        ((s.if === "steps.gate.outputs.run != 'true'" && /^jq -n /.test(String(s.run))) || (s.if === "always()" && String(s.uses).startsWith("actions/upload-artifact@")));
      for (const s of after.filter((x: any) => !exempt(x))) assert.match(String(s.if ?? ""), /^steps\.gate\.outputs\.run == 'true'( && |$)/, `${where}: ${s.name ?? s.uses ?? s.run} runs only when the gate lets it`);
    }
    const action = files.actions.get(".github/actions/stack-gate/action.yml")!.doc;
    assert.equal(action.inputs.hint.default, "The offline render diff shows the change.", "preview and up keep their notice");
    assert.match(gated(job()).gate.with.hint, /drift is not checked/);
  });

  it("runs in <stack>-preview with exactly a preview's credentials, and never references FLEET_GITHUB_TOKEN", () => {
    assert.equal(environmentName(job()), "${{ matrix.stack }}-preview");
    assert.deepEqual(job().env, workflow("preview.yml").jobs.preview.env, "the same secrets as the stack's preview");
    assert.equal(job().env.GITHUB_TOKEN, "${{ secrets.FLEET_GITHUB_READ_TOKEN }}");
    assert.doesNotMatch(files.workflows.get(".github/workflows/drift.yml")!.text, /FLEET_GITHUB_TOKEN/);
    assert.doesNotMatch(files.actions.get(".github/actions/drift-issue/action.yml")!.text, /FLEET_GITHUB_TOKEN|secrets\./);
    assert.ok(!secretRefs(job()).some((r) => mayBe(r, ADMIN_TOKEN)));
    assert.deepEqual(job().permissions, { contents: "read", issues: "write" });
    assert.deepEqual(drift().permissions, { contents: "read" });
    assert.equal(job().concurrency.group, "drift-${{ matrix.stack }}", "one run per stack at a time: never two issues for one stack");
    assert.equal(job().concurrency["cancel-in-progress"], false);
  });

  it("runs pulumi preview --refresh --expect-no-changes --diff of the stack, and reports every exit but 0 as drift: changes, a field conflict, a failure", () => {
    const preview = step("preview");
    assert.deepEqual(preview.env, { STACK: "${{ matrix.stack }}" });
    const command = /^\s*pulumi preview (.*)$/m.exec(preview.run)?.[1] ?? assert.fail("no pulumi preview line");
    for (const flag of ["--refresh", "--expect-no-changes", "--diff", '--stack "$STACK"']) assert.ok(command.includes(flag), `pulumi preview ${flag}`);
    assert.match(command, /> drift\.diff 2> preview\.err$/);
    const bin = tmp();
    fs.writeFileSync(
      path.join(bin, "pulumi"),
      '#!/usr/bin/env bash\necho "$*" >> "$FAKE_LOG"\n[ "$1" = preview ] || exit 0\nprintf "%s" "$FAKE_OUT"\nprintf "%s" "$FAKE_ERR" >&2\nexit "$FAKE_STATUS"\n',
      { mode: 0o755 },
    );
    const run = (status: number, out: string, err = "") => {
      const cwd = tmp();
      const output = path.join(cwd, "github-output");
      fs.writeFileSync(output, "");
      const env = { PATH: `${bin}:${process.env.PATH}`, STACK: "staging", GITHUB_OUTPUT: output, GITHUB_WORKSPACE: ROOT, FAKE_LOG: path.join(cwd, "log"), FAKE_OUT: out, FAKE_ERR: err, FAKE_STATUS: String(status) };
      const r = runStep(preview.run, cwd, env);
      return { status: r.status, stdout: r.stdout, output: fs.readFileSync(output, "utf8"), diff: fs.readFileSync(path.join(cwd, "drift.diff"), "utf8"), args: fs.readFileSync(path.join(cwd, "log"), "utf8") };
    };
    const clean = run(0, "Resources:\n    42 unchanged\n");
    assert.deepEqual([clean.status, clean.output], [0, "drift=false\npreview=clean\n"]);
    assert.match(clean.args, /^preview --stack staging --refresh --expect-no-changes --diff /);
    const changed = "  ~ rbac.authorization.k8s.io/v1:RoleBinding: (update)\n      ~ subjects: [...]\nResources:\n    ~ 1 to update\n";
    for (const [status, err] of [
      [7, "error: no changes were expected but changes were proposed\n"], // the CLI's exit code for it
      [255, "error: no changes were expected but changes were proposed\n"], // CLIs before that code
      [255, "error: error: no changes were expected but changes occurred\n"],
    ] as [number, string][]) {
      const r = run(status, changed, err);
      assert.deepEqual([r.status, r.output, r.diff], [0, "drift=true\npreview=changes\n", changed], `status ${status}: ${err.trim()}`);
    }
    // A field the program owns, changed with kubectl: the provider's dry run stops on the conflict.
    const conflict = "error: Preview failed: 1 error occurred:\n\t* the Kubernetes API server reported that \"team-a\" failed to fully initialize or become live: Server-Side Apply field conflict detected. The resource managed by field manager \"pulumi-kubernetes-abc\" had an apply conflict: Apply failed with 1 conflict: conflict with \"kubectl-label\" using v1: .metadata.labels.pod-security.kubernetes.io/enforce\n";
    const c = run(255, "", conflict);
    assert.deepEqual([c.status, c.output], [0, "drift=true\npreview=conflict\n"]);
    assert.match(c.diff, /field conflict: a field the program owns was changed by hand[\s\S]*conflict with "kubectl-label"/);
    // Failures are reported too (the stack cannot be vouched for), with their error in the issue.
    for (const [status, err] of [
      [255, "error: decrypting secret value: failed to decrypt: incorrect passphrase\n"],
      [3, "error: this command requires logging in\n"],
      [1, "error: an unhandled error occurred: program exited with non-zero exit code: 1\n"],
    ] as [number, string][]) {
      const r = run(status, "", err);
      assert.deepEqual([r.status, r.output], [0, "drift=true\npreview=failed\n"], err.trim());
      assert.match(r.stdout, /^::error title=drift check failed \(staging\)::pulumi preview exited with status \d+/m);
      assert.ok(r.diff.includes(`could not be checked:\n${err}`), r.diff);
    }
    // A value read from the cluster cannot act as a workflow command.
    const hostile = "      + data: {\n      +     note: \"error: no changes were expected\"\n::add-mask::x\n";
    const r = run(1, hostile, "error: update failed\n");
    assert.deepEqual([r.status, r.output], [0, "drift=true\npreview=failed\n"]);
    const lines = r.stdout.split("\n");
    const stop = lines.findIndex((l) => /^::stop-commands::[0-9a-f]{32}$/.test(l));
    const resume = lines.indexOf(`::${lines[stop]?.slice("::stop-commands::".length)}::`);
    const injected = lines.indexOf("::add-mask::x");
    assert.ok(stop >= 0 && stop < injected && injected < resume, "the output is printed between ::stop-commands:: and its token");
  });

  it("preview-verdict.js: 0 is clean and nothing else is", () => {
    assert.deepEqual(previewVerdict(0, "error: no changes were expected", ""), { drift: false, preview: "clean" });
    for (const status of [1, 2, 3, 7, 255]) assert.equal(previewVerdict(status, "", "").drift, true, `status ${status}`);
    assert.equal(previewVerdict(7, "", "").preview, "changes");
    assert.equal(previewVerdict(255, "", "error: Apply failed with 2 conflicts: conflicts with \"kubectl-patch\"").preview, "conflict");
    assert.equal(previewVerdict(255, "    \t* the API server reported: Server-Side Apply field conflict detected", "").preview, "conflict");
    // A value read from the cluster, in a diff line, is not a diagnostic: the failure stays a failure.
    assert.equal(previewVerdict(255, '      ~ ignore: "x Server-Side Apply field conflict detected"\n', "error: update failed\n").preview, "failed");
    const usage = spawnSync(process.execPath, [path.join(ROOT, ".github/actions/drift-issue/preview-verdict.js"), "x"], { encoding: "utf8" });
    assert.equal(usage.status, 2);
  });

  it("runs npm run drift with the stack's kubeconfig whatever the preview said, adds its differences and failures to the issue", () => {
    const exact = step("exact");
    assert.deepEqual(exact.env, { STACK: "${{ matrix.stack }}", PREVIEW_DRIFT: "${{ steps.preview.outputs.drift }}" });
    const bin = tmp();
    // pulumi config get prints the kubeconfig; npm run drift checks it was handed that file.
    fs.writeFileSync(path.join(bin, "pulumi"), '#!/usr/bin/env bash\n[ "$1 $2" = "config get" ] && [ "$5" = fleet:kubeconfig ] || exit 9\necho "kubeconfig-of-$4"\n', { mode: 0o755 });
    fs.writeFileSync(
      path.join(bin, "npm"),
      '#!/usr/bin/env bash\necho "$*" >> "$FAKE_LOG"\nk="${@: -1}"\ngrep -q "kubeconfig-of-$STACK" "$k" || { echo "no kubeconfig" >&2; exit 2; }\nprintf "%s" "$FAKE_OUT"\nprintf "%s" "$FAKE_ERR" >&2\nexit "$FAKE_STATUS"\n',
      { mode: 0o755 },
    );
    const run = (status: number, previewDrift: string, out = "", err = "") => {
      const cwd = tmp();
      const output = path.join(cwd, "github-output");
      fs.writeFileSync(output, "");
      fs.writeFileSync(path.join(cwd, "drift.diff"), "PREVIEW\n");
      const env = { PATH: `${bin}:${process.env.PATH}`, STACK: "staging", PREVIEW_DRIFT: previewDrift, GITHUB_OUTPUT: output, FAKE_LOG: path.join(cwd, "log"), FAKE_OUT: out, FAKE_ERR: err, FAKE_STATUS: String(status) };
      const r = runStep(exact.run, cwd, env);
      return { status: r.status, stdout: r.stdout, output: fs.readFileSync(output, "utf8"), diff: fs.readFileSync(path.join(cwd, "drift.diff"), "utf8"), args: fs.existsSync(path.join(cwd, "log")) ? fs.readFileSync(path.join(cwd, "log"), "utf8") : "" };
    };
    const clean = run(0, "false", "drift: none.\n");
    assert.deepEqual([clean.status, clean.output, clean.diff], [0, "drift=false\n", "PREVIEW\n"]);
    assert.match(clean.args, /^run --silent drift -- staging --kubeconfig \S+$/m);
    assert.deepEqual([run(0, "true").output], ["drift=true\n"], "the preview's drift stays drift");
    const found = run(1, "false", "drift: 1 difference(s)\n  RoleBinding shop/flux: subjects[1] added\n");
    assert.deepEqual([found.status, found.output], [0, "drift=true\n"]);
    assert.match(found.diff, /^PREVIEW\n\nFound by npm run drift \(pulumi preview --refresh does not show these\):\ndrift: 1 difference\(s\)\n {2}RoleBinding shop\/flux: subjects\[1\] added\n$/);
    const failed = run(2, "false", "", "kubectl: connection refused\n");
    assert.deepEqual([failed.status, failed.output], [0, "failed=true\ndrift=true\n"]);
    assert.match(failed.stdout, /^::error title=drift check failed \(staging\)::npm run drift exited with status 2/m);
    assert.match(failed.diff, /npm run drift exited with status 2, so the exact comparison did not run:\nkubectl: connection refused\n$/);
  });

  it("always writes the issue once both checks have run, and fails the job afterwards when one could not run", () => {
    const steps: any[] = job().steps;
    const issue = steps.find((s) => s.uses === "./.github/actions/drift-issue") ?? assert.fail("no drift-issue step");
    assert.ok(steps.indexOf(issue) > steps.indexOf(step("preview")));
    assert.ok(steps.indexOf(issue) > steps.indexOf(step("exact")));
    assert.deepEqual(issue.with, { stack: "${{ matrix.stack }}", drift: "${{ steps.exact.outputs.drift }}", "diff-file": "drift.diff" });
    // Neither check fails its step, so the issue step runs after both; only with the verdict both wrote.
    assert.doesNotMatch(issue.if, /always\(\)|failure\(\)|cancelled\(\)/);
    assert.match(issue.if, /steps\.exact\.outputs\.drift == 'true'/);
    assert.match(issue.if, /steps\.exact\.outputs\.drift == 'false'/);
    assert.match(step("exact").if, /steps\.preview\.outputs\.drift == 'true'/);
    assert.match(step("exact").if, /steps\.preview\.outputs\.drift == 'false'/);
    const last = steps[steps.length - 1];
    assert.ok(steps.indexOf(last) > steps.indexOf(issue), "the job fails only after the issue is written");
    assert.match(last.if, /steps\.preview\.outputs\.preview == 'failed'/);
    assert.match(last.if, /steps\.exact\.outputs\.failed == 'true'/);
    assert.equal(runStep(last.run, tmp(), { STACK: "staging" }).status, 1);
  });
});

describe("CI workflows: the drift issue (.github/actions/drift-issue)", () => {
  const action = () => files.actions.get(".github/actions/drift-issue/action.yml")!.doc;
  const made: string[] = [];
  after(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  /** Runs the action's github-script `script:` as github-script does, against the fakes. */
  async function runAction(github: ReturnType<typeof fakeGitHub>, stack: string, verdict: string, diff = "") {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-drift-issue-"));
    made.push(dir);
    fs.writeFileSync(path.join(dir, "drift.diff"), diff);
    const [script] = action().runs.steps;
    assert.ok(String(script.uses).startsWith("actions/github-script@"));
    const env = { STACK: stack, DRIFT: verdict, DIFF_FILE: path.join(dir, "drift.diff"), ACTION_PATH: path.join(ROOT, ".github", "actions", "drift-issue") };
    assert.deepEqual(Object.keys(script.env).sort(), Object.keys(env).sort());
    const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor;
    const core = fakeCore();
    await new AsyncFunction("require", "github", "context", "core", "process", script.with.script)(require, github, context, core, { env });
    return core;
  }
  const drifted = (n: number) => `  ~ networking.k8s.io/v1:NetworkPolicy: (update)\n      ~ spec: { ingress: [${n}] }\nView Live: https://app.pulumi.com/acme/fleet/staging/previews/${n}\nResources:\n    ~ 1 to update\n`;

  it("one issue per stack: opened on drift, updated while the stack drifts, closed with a comment once it is clean", async () => {
    const gh = fakeGitHub([{ number: 7, title: issueTitle("staging-eu"), body: "<!-- fleet-drift stack=staging-eu -->", labels: [LABEL], state: "open" }]);
    const core = await runAction(gh, "staging", "true", drifted(1));
    const opened = gh.issues.find((i) => i.title === "Drift: staging") ?? assert.fail("no issue opened");
    assert.deepEqual([opened.labels, opened.state], [["drift"], "open"]);
    assert.ok(opened.body.includes("~ spec: { ingress: [1] }"), "the diff is in the body");
    assert.ok(opened.body.includes("https://github.com/acme-org/fleet/actions/runs/4242"), "the run is linked");
    assert.ok(gh.labels.includes("drift"), "the label is created when missing");
    assert.match(core.said.join("\n"), /warning: staging: drift; opened #8/);

    // The next run: the same drift (only Pulumi Cloud's link differs) updates the body, quietly.
    gh.calls.length = 0;
    await runAction(gh, "staging", "true", drifted(1).replace("previews/1", "previews/2"));
    assert.deepEqual(gh.calls, ["list", "update #8"]);
    assert.equal(gh.issues.filter((i) => i.title === "Drift: staging").length, 1, "never a second issue");

    // A different drift updates the body and comments, so watchers hear of it.
    gh.calls.length = 0;
    await runAction(gh, "staging", "true", drifted(2));
    assert.deepEqual(gh.calls, ["list", "update #8", "comment #8"]);
    assert.ok(gh.issues.find((i) => i.number === 8)!.body.includes("ingress: [2]"));

    // Clean: a comment naming the run, then closed. The other stack's issue stays open.
    gh.calls.length = 0;
    await runAction(gh, "staging", "false");
    assert.deepEqual(gh.calls, ["list", "comment #8", "update #8"]);
    assert.deepEqual([gh.issues.find((i) => i.number === 8)!.state, gh.issues.find((i) => i.number === 8)!.state_reason], ["closed", "completed"]);
    assert.match(gh.comments.at(-1)!.body, /^No drift any more: in \[this run\]\(https:\/\/github\.com\/acme-org\/fleet\/actions\/runs\/4242\)/);
    assert.equal(gh.issues.find((i) => i.number === 7)!.state, "open");

    // Clean again, and no issue open: nothing to do.
    gh.calls.length = 0;
    await runAction(gh, "staging", "false");
    assert.deepEqual(gh.calls, ["list"]);
  });

  it("finds the stack's issue by its marker when renamed, and ignores pull requests and other stacks' markers", async () => {
    const gh = fakeGitHub(
      [
        { number: 3, title: "staging drifts (RBAC)", body: "<!-- fleet-drift stack=staging -->\nold", labels: [LABEL], state: "open" },
        { number: 4, title: "Drift: staging", body: "", labels: [LABEL], state: "open", pull_request: {} },
        { number: 5, title: "Drift: production", body: "quoting <!-- fleet-drift stack=staging -->", labels: [LABEL], state: "open" },
      ],
      [LABEL],
    );
    await runAction(gh, "staging", "true", drifted(1));
    assert.deepEqual(gh.calls, ["list", "update #3", "comment #3"]);
    gh.calls.length = 0;
    await runAction(gh, "staging", "false");
    assert.deepEqual(gh.calls, ["list", "comment #3", "update #3"]);
  });

  it("a missing verdict (the preview did not finish) changes nothing", async () => {
    for (const verdict of ["", "maybe"]) {
      const gh = fakeGitHub([{ number: 1, title: "Drift: staging", body: "", labels: [LABEL], state: "open" }]);
      await assert.rejects(runAction(gh, "staging", verdict), /not "true" or "false"/);
      assert.deepEqual(gh.calls, []);
    }
    await assert.rejects(reportDrift({ github: fakeGitHub(), context, core: fakeCore(), stack: "a b", drift: "false" }), /not a stack name/);
  });

  it("the body fits GitHub's 65536 characters, keeps the diff's start and summary, and the diff cannot end its code block", () => {
    const args = { stack: "production", runUrl: "https://github.com/acme-org/fleet/actions/runs/1", sha: context.sha, docsUrl: "https://x/docs/operations.md#drift" };
    const small = driftBody({ ...args, diff: drifted(1) });
    assert.ok(small.startsWith("<!-- fleet-drift stack=production -->\n"));
    assert.ok(small.includes(drifted(1).trimEnd()), "a short diff is there whole");

    const lines = Array.from({ length: 5000 }, (_, i) => `      ~ data: { key${i}: "${"x".repeat(40)}" }`);
    const long = `FIRST LINE\n${lines.join("\n")}\nResources:\n    ~ 5000 to update\n`;
    const body = driftBody({ ...args, diff: long });
    assert.ok(long.length > 2 * BODY_LIMIT);
    assert.ok(body.length <= BODY_LIMIT, `${body.length} characters`);
    assert.ok(body.length > BODY_LIMIT - 200, "the room is used");
    assert.ok(body.includes("FIRST LINE") && body.includes("~ 5000 to update"), "the start and the summary are kept");
    assert.match(body, /\[… \d+ characters cut; the whole output is in the workflow run's log …\]/);

    // Backticks in a value read from the cluster: the fence is longer than any run of them.
    const sneaky = driftBody({ ...args, diff: '      + note: "```\\n@org/admins ![x](https://evil)\\n````"\n' });
    const fences = sneaky.split("\n").filter((l) => /^`{3,}$/.test(l));
    assert.deepEqual(fences, ["`````", "`````"]);

    // A cut never splits a character in two.
    const emoji = driftBody({ ...args, diff: "😀".repeat(50000) });
    assert.ok(emoji.length <= BODY_LIMIT);
    assert.doesNotMatch(emoji, /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
  });
});

describe("CI workflows: stacks come from the repository, not from the workflows", () => {
  it("no workflow or action hard-codes a stack: no literal matrix list, stack input or environment", () => {
    assert.deepEqual(hardCodedStackViolations(files, discoverStacks(ROOT)), []);
  });

  it("every job over the stacks takes its matrix from the discover job, which runs scripts/stacks.ts --matrix", () => {
    assert.deepEqual(matrixSourceViolations(files), []);
    const jobs = [...files.workflows].flatMap(([f, s]) =>
      Object.entries(s.doc?.jobs ?? {}).filter(([, j]: [string, any]) => j?.strategy?.matrix?.stack).map(([id]) => `${short(f)} › ${id}`),
    );
    assert.deepEqual(jobs.sort(), ["drift.yml › drift", "preview.yml › preview", "preview.yml › render-diff", "status.yml › status", "up.yml › up"], "the checks are not vacuous");
  });

  it("the checks catch a literal stack list, a literal stack or environment, and a matrix from elsewhere", () => {
    const w = (jobs: string) => fixture({ ".github/workflows/w.yml": `on: push\npermissions: {contents: read}\njobs:\n${jobs}` });
    const stacks = ["staging", "production"];
    assert.equal(hardCodedStackViolations(w(`  j: {runs-on: x, strategy: {matrix: {stack: [staging, production]}}}`), stacks).length, 1);
    assert.equal(hardCodedStackViolations(w(`  j: {runs-on: x, strategy: {matrix: {target: [qa]}}}`), stacks).length, 0, "a matrix over something else");
    assert.equal(hardCodedStackViolations(w(`  j: {runs-on: x, strategy: {matrix: {target: [staging]}}}`), stacks).length, 1);
    assert.equal(hardCodedStackViolations(w(`  staging: {uses: ./.github/workflows/up-stack.yml, with: {stack: staging, environment: staging}}`), stacks).length, 2);
    assert.equal(hardCodedStackViolations(w(`  j: {runs-on: x, environment: {name: production}}`), stacks).length, 1);
    assert.deepEqual(hardCodedStackViolations(w(`  j: {runs-on: x, environment: "\${{ matrix.stack }}-preview"}`), stacks), []);

    const discover = `  discover:\n    runs-on: x\n    outputs: {stacks: "\${{ steps.d.outputs.stacks }}"}\n    steps: [{id: d, run: "echo \\"stacks=$(node -r ts-node/register scripts/stacks.ts --matrix)\\" >> $GITHUB_OUTPUT"}]\n`;
    const job = (needs: string, matrix: string) => `  j: {runs-on: x, needs: ${needs}, strategy: {matrix: {stack: "${matrix}"}}, environment: "\${{ matrix.stack }}"}\n`;
    assert.deepEqual(matrixSourceViolations(w(discover + job("[discover]", "${{ fromJSON(needs.discover.outputs.stacks) }}"))), []);
    assert.equal(matrixSourceViolations(w(discover + job("[test]", "${{ fromJSON(needs.discover.outputs.stacks) }}"))).length, 1, "not needing discover");
    assert.equal(matrixSourceViolations(w(discover + job("[discover]", "${{ fromJSON(vars.STACKS) }}"))).length, 1, "a matrix from a variable");
    assert.equal(matrixSourceViolations(w(discover.replace("node -r ts-node/register scripts/stacks.ts --matrix", "echo qa") + job("[discover]", "${{ fromJSON(needs.discover.outputs.stacks) }}"))).length, 1, "an output not from stacks.ts");
    assert.equal(matrixSourceViolations(w(`  j: {runs-on: x, steps: [{env: {S: "\${{ matrix.stack }}"}, run: echo}]}`)).length, 1, "matrix.stack without a matrix");
  });
});

describe("CI: stack discovery (scripts/stacks.ts)", () => {
  const made: string[] = [];
  after(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  /** A directory with the given stack files (name → config) and stacks.yaml text. */
  function repo(stacks: Record<string, object>, order?: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-stacks-"));
    made.push(dir);
    for (const [name, config] of Object.entries(stacks)) fs.writeFileSync(path.join(dir, `Pulumi.${name}.yaml`), JSON.stringify({ config }));
    if (order !== undefined) fs.writeFileSync(path.join(dir, ORDER_FILE), order);
    return dir;
  }
  // The owning stack's template lists the environments of every stack these cases use.
  const owner = { "github:owner": "acme-org", "fleet:repository": { create: true, templateEnvironments: ["a", "b", "c", "staging", "qa", "production"] } };
  const lookup = { "github:owner": "acme-org" };
  const problems = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof StackListError, String(e));
      return e.problems;
    }
    assert.fail("no error");
  };

  it("returns exactly this repository's Pulumi.<stack>.yaml stacks, in stacks.yaml's order", () => {
    const order = parseYaml(fs.readFileSync(path.join(ROOT, ORDER_FILE), "utf8")).stacks;
    const discovered = discoverStacks(ROOT);
    assert.deepEqual(discovered, order);
    assert.deepEqual([...discovered].sort(), stackFiles(ROOT));
    assert.ok(discovered.indexOf("staging") < discovered.indexOf("production"), "the stack that creates the repositories first");
  });

  it("follows the order file, not the names", () => {
    const dir = repo({ a: lookup, b: lookup, c: owner }, "stacks: [c, a, b]\n");
    assert.deepEqual(discoverStacks(dir), ["c", "a", "b"]);
  });

  it("a stack file missing from stacks.yaml, and an entry without its file, are errors naming them", () => {
    const dir = repo({ staging: owner, qa: lookup, production: lookup }, "stacks:\n  - staging\n  - production\n  - prod-eu\n");
    assert.deepEqual(problems(() => discoverStacks(dir)), [
      "Pulumi.qa.yaml: stack qa is not listed in stacks.yaml; add it where it should be applied",
      "stacks.yaml: prod-eu has no Pulumi.prod-eu.yaml; remove the entry, or add the stack file",
    ]);
  });

  it("a missing or malformed stacks.yaml, and a stack listed twice, are errors", () => {
    assert.match(problems(() => discoverStacks(repo({ staging: owner })))[0], /^stacks\.yaml: not found in /);
    assert.match(problems(() => discoverStacks(repo({ staging: owner }, "- staging\n")))[0], /^stacks\.yaml: has no list "stacks"/);
    assert.deepEqual(problems(() => discoverStacks(repo({ staging: owner }, "stacks: [staging, staging]\n"))), ["stacks.yaml: staging is listed twice"]);
  });

  it("a stack listed before the stack that creates a repository it looks up, and two creators, are errors", () => {
    assert.deepEqual(problems(() => discoverStacks(repo({ staging: owner, production: lookup }, "stacks: [production, staging]\n"))), [
      "stacks.yaml: production looks up repository flux-fleet, which staging creates; list staging before production",
    ]);
    const search = { ...lookup, "fleet:tenants": [{ name: "search", repository: { create: true } }] };
    const production = { ...lookup, "fleet:tenants": [{ name: "search" }] };
    assert.deepEqual(problems(() => discoverStacks(repo({ staging: owner, qa: search, production }, "stacks: [staging, production, qa]\n"))), [
      "stacks.yaml: production looks up repository search-deploy, which qa creates; list qa before production",
    ]);
    assert.deepEqual(discoverStacks(repo({ staging: owner, qa: search, production }, "stacks: [staging, qa, production]\n")), ["staging", "qa", "production"]);
    assert.deepEqual(problems(() => discoverStacks(repo({ staging: owner, qa: owner }, "stacks: [staging, qa]\n"))), [
      "repository flux-fleet is created by staging and qa; only one stack may create it: set repository.create: false in the others",
    ]);
  });

  it("an environment of the fleet that the owning stack's tenant template lacks is an error naming the key and the environments", () => {
    const staging = { "github:owner": "acme-org", "fleet:repository": { create: true } };
    const eu = { ...lookup, "fleet:environment": "production" };
    assert.deepEqual(problems(() => discoverStacks(repo({ staging, qa: lookup, "production-eu": eu, "production-us": eu }, "stacks: [staging, qa, production-eu, production-us]\n"))), [
      "Pulumi.staging.yaml: fleet:repository.templateEnvironments lacks qa, production (environments of stacks on flux-fleet); add them, so the tenant repositories staging generates already hold flux/<environment>/kustomization.yaml",
    ]);
    const other = { ...lookup, "fleet:repository": { name: "other-fleet" } };
    assert.deepEqual(discoverStacks(repo({ staging, other }, "stacks: [staging, other]\n")), ["staging", "other"], "a stack of another fleet repository is not this template's business");
  });

  it("--matrix prints the stacks as one JSON list for GitHub Actions; --since adds the stacks deleted since a ref", function () {
    this.timeout(60000);
    const run = (...args: string[]) => execFileSync(process.execPath, ["-r", "ts-node/register", "scripts/stacks.ts", ...args], { cwd: ROOT, encoding: "utf8" });
    const stacks = discoverStacks(ROOT);
    assert.equal(run("--matrix"), `${JSON.stringify(stacks)}\n`);
    const deleted = stackFilesAt("HEAD", ROOT).filter((s) => !stacks.includes(s));
    assert.equal(run("--matrix", "--since", "HEAD"), `${JSON.stringify([...stacks, ...deleted])}\n`);
  });

  it("a stack deleted since the base ref is rendered (as removed) after the others, never applied", function () {
    this.timeout(60000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-stacks-wt-"));
    const tree = path.join(dir, "tree");
    execFileSync("git", ["-C", ROOT, "worktree", "add", "--quiet", "--detach", tree, "HEAD"], { stdio: "ignore" });
    try {
      const at = stackFilesAt("HEAD", tree);
      assert.ok(at.includes("production") && at.length > 1, at.join(", "));
      fs.rmSync(path.join(tree, "Pulumi.production.yaml"));
      const rest = at.filter((s) => s !== "production");
      fs.writeFileSync(path.join(tree, ORDER_FILE), `stacks: ${JSON.stringify(rest)}\n`);
      assert.deepEqual(matrixStacks(tree), rest);
      assert.deepEqual(matrixStacks(tree, "HEAD"), [...rest, "production"]);
    } finally {
      execFileSync("git", ["-C", ROOT, "worktree", "remove", "--force", tree], { stdio: "ignore" });
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("CI workflows: the policy checks catch what they are for", () => {
  const gate = `runs: {using: composite, steps: [{shell: bash, run: echo ok}]}`;
  const pr = (jobs: string) => fixture({ ".github/workflows/pr.yml": `on: pull_request\npermissions: {contents: read}\njobs:\n${jobs}` });

  it("a production secret in a pull-request job without a *-preview environment", () => {
    assert.equal(productionSecretViolations(pr(`  p: {runs-on: x, env: {P: "\${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"}}`)).length, 1);
    assert.equal(productionSecretViolations(pr(`  p: {runs-on: x, environment: production, env: {P: "\${{ secrets.pulumi_access_token }}"}}`)).length, 1);
    assert.equal(productionSecretViolations(pr(`  p: {runs-on: x, env: {K: "\${{ secrets[format('KUBECONFIG_{0}', matrix.stack)] }}"}}`)).length, 1);
    assert.equal(productionSecretViolations(pr(`  p: {runs-on: x, env: {K: "\${{ secrets.KUBECONFIG_production }}"}}`)).length, 1);
    assert.equal(productionSecretViolations(pr(`  p: {runs-on: x, env: {A: "\${{ toJSON(secrets) }}"}}`)).length, 1);
    assert.deepEqual(productionSecretViolations(pr(`  p: {runs-on: x, environment: "\${{ matrix.stack }}-preview", env: {P: "\${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"}}`)), []);
    assert.deepEqual(productionSecretViolations(pr(`  p: {runs-on: x, environment: {name: staging-preview}, env: {K: "\${{ secrets.KUBECONFIG_STAGING }}"}}`)), []);
  });

  it("the admin token in a pull-request job, even in a *-preview environment or through a reusable workflow", () => {
    assert.equal(productionSecretViolations(pr(`  p: {runs-on: x, environment: staging-preview, env: {T: "\${{ secrets.FLEET_GITHUB_TOKEN }}"}}`)).length, 1);
    assert.equal(productionSecretViolations(pr(`  p: {runs-on: x, environment: staging-preview, env: {T: "\${{ secrets[matrix.name] }}"}}`)).length, 1);
    const called = fixture({
      ".github/workflows/pr.yml": `on: {pull_request: {}}\njobs:\n  c: {uses: ./.github/workflows/r.yml, secrets: inherit}`,
      ".github/workflows/r.yml": `on: workflow_call\njobs:\n  r: {runs-on: x, environment: production, env: {T: "\${{ secrets.FLEET_GITHUB_TOKEN }}"}}`,
    });
    assert.deepEqual(productionSecretViolations(called), ["pr.yml › c → r.yml › r can run for a pull request and references secrets.FLEET_GITHUB_TOKEN, which can be FLEET_GITHUB_TOKEN"]);
    assert.equal(productionSecretViolations(pr(`  c: {uses: someone/else/.github/workflows/r.yml@${"a".repeat(40)}, secrets: inherit}`)).length, 1);
    // The same reusable workflow called on push only is not a pull-request job.
    const onPush = fixture({ ".github/workflows/up.yml": `on: push\njobs:\n  c: {uses: ./.github/workflows/r.yml, secrets: inherit}`, ".github/workflows/r.yml": called.workflows.get(".github/workflows/r.yml")!.text });
    assert.deepEqual(productionSecretViolations(onPush), []);
  });

  it("any secret in a pull-request job outside a preview environment, and an admin GITHUB_TOKEN", () => {
    assert.equal(credentialFreeViolations(pr(`  t: {runs-on: x, steps: [{run: echo, env: {S: "\${{ secrets.ANYTHING }}"}}]}`)).length, 1);
    assert.deepEqual(credentialFreeViolations(pr(`  t: {runs-on: x, steps: [{uses: a/b@c, with: {token: "\${{ secrets.GITHUB_TOKEN }}"}}]}`)), []);
    assert.equal(githubTokenViolations(pr(`  p: {runs-on: x, environment: s-preview, env: {GITHUB_TOKEN: "\${{ secrets.OTHER }}"}}`)).length, 1);
  });

  it("pull_request_target, in any of the forms `on:` takes", () => {
    for (const on of ["pull_request_target", "[push, pull_request_target]", "{pull_request_target: {types: [opened]}}"]) {
      assert.equal(pullRequestTargetViolations(fixture({ ".github/workflows/w.yml": `on: ${on}\njobs: {}` })).length, 1, on);
    }
  });

  it("an expression inside a run: script, in a workflow or in an action, or inside a github-script script", () => {
    const w = fixture({ ".github/workflows/w.yml": `on: push\njobs:\n  j: {runs-on: x, steps: [{run: "echo \${{ github.base_ref }}"}]}` }, { ".github/actions/a/action.yml": gate.replace("echo ok", '"echo ${{ inputs.stack }}"') });
    assert.equal(runExpressionViolations(w).length, 2);
    const script = (body: string) => fixture({ ".github/workflows/w.yml": `on: schedule\njobs:\n  j: {runs-on: x, steps: [{uses: a/b@c, with: {script: "${body}"}}]}` });
    assert.equal(runExpressionViolations(script("core.info('${{ inputs.stack }}')")).length, 1);
    assert.deepEqual(runExpressionViolations(script("core.info(process.env.STACK)")), []);
  });

  it("a secret outside an environment on any trigger, and the admin token in a *-preview job that no pull request starts", () => {
    const on = (trigger: string, jobs: string) => fixture({ ".github/workflows/w.yml": `on: ${trigger}\npermissions: {contents: read}\njobs:\n${jobs}` });
    assert.equal(secretOutsideEnvironmentViolations(on("schedule", `  d: {runs-on: x, env: {P: "\${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"}}`)).length, 1);
    assert.equal(secretOutsideEnvironmentViolations(on("push", `  d: {runs-on: x, steps: [{run: echo, env: {K: "\${{ secrets[format('KUBECONFIG_{0}', matrix.stack)] }}"}}]}`)).length, 1);
    assert.deepEqual(secretOutsideEnvironmentViolations(on("schedule", `  d: {runs-on: x, environment: "\${{ matrix.stack }}-preview", env: {P: "\${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"}}`)), []);
    assert.deepEqual(secretOutsideEnvironmentViolations(on("schedule", `  d: {runs-on: x, steps: [{uses: a/b@c, with: {token: "\${{ secrets.GITHUB_TOKEN }}"}}]}`)), []);
    const scheduled = (env: string) => on("{schedule: [{cron: '0 5 * * *'}]}", `  d: {runs-on: x, environment: "\${{ matrix.stack }}-preview", env: {${env}}}`);
    assert.equal(previewAdminTokenViolations(scheduled(`T: "\${{ secrets.FLEET_GITHUB_TOKEN }}"`)).length, 1);
    assert.equal(previewAdminTokenViolations(scheduled(`T: "\${{ secrets[matrix.token] }}"`)).length, 1);
    assert.equal(githubTokenViolations(scheduled(`GITHUB_TOKEN: "\${{ secrets.OTHER }}"`)).length, 1);
    assert.deepEqual(previewAdminTokenViolations(scheduled(`GITHUB_TOKEN: "\${{ secrets.FLEET_GITHUB_READ_TOKEN }}"`)), []);
  });

  it("a tag pin, a short SHA, a missing tag comment, and two pins of one action", () => {
    const sha = "0123456789abcdef0123456789abcdef01234567";
    const uses = (...lines: string[]) => fixture({ ".github/workflows/w.yml": `on: push\njobs:\n  j:\n    runs-on: x\n    steps:\n${lines.map((l) => `      - uses: ${l}\n`).join("")}` });
    assert.deepEqual(pinViolations(uses(`a/b@${sha} # v1.2.3`, "./.github/actions/x", `a/b/sub/path@${sha} # v1`)), []);
    for (const bad of ["a/b@v4", "a/b@0123456 # v1", `a/b@${sha}`, `a/b@${sha} # main`, `"a/b@${sha}"`]) assert.equal(pinViolations(uses(bad)).length, 1, bad);
    assert.ok(pinViolations(fixture({ ".github/workflows/w.yml": `on: push\njobs:\n  j: {runs-on: x, steps: [{uses: a/b@v4}]}` })).length > 0, "flow style");
    assert.equal(pinConsistencyViolations(uses(`a/b@${sha} # v1`, `a/b@${"f".repeat(40)} # v2`)).length, 1);
  });

  it("write permissions for every job, a job writing contents, and issues: write for a pull request", () => {
    assert.equal(permissionViolations(fixture({ ".github/workflows/w.yml": `on: push\npermissions: {contents: write}\njobs: {}` })).length, 1);
    assert.equal(permissionViolations(fixture({ ".github/workflows/w.yml": `on: schedule\npermissions: {issues: write}\njobs: {}` })).length, 1);
    assert.deepEqual(permissionViolations(fixture({ ".github/workflows/w.yml": `on: schedule\npermissions: {contents: read}\njobs:\n  j: {permissions: {contents: read, issues: write}}` })), []);
    assert.equal(permissionViolations(fixture({ ".github/workflows/w.yml": `on: pull_request\npermissions: {contents: read}\njobs:\n  j: {permissions: {issues: write}}` })).length, 1);
    assert.equal(permissionViolations(fixture({ ".github/workflows/w.yml": `on: push\njobs: {}` })).length, 1);
    assert.equal(permissionViolations(fixture({ ".github/workflows/w.yml": `on: push\npermissions: {}\njobs:\n  j: {permissions: {contents: write}}` })).length, 1);
  });
});

describe("CI workflows: the fleet status (status.yml, .github/actions/fleet-status-issue)", () => {
  const w = () => workflow("status.yml");
  const made: string[] = [];
  after(() => made.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  const scratch = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-status-wf-"));
    made.push(d);
    return d;
  };

  it("runs every six hours and by hand; each stack's job reads with a preview's credentials and writes nothing, the report holds none and writes the issue", () => {
    assert.deepEqual(Object.keys(w().on).sort(), ["schedule", "workflow_dispatch"]);
    assert.equal(w().on.schedule[0].cron, "41 */6 * * *");
    const { status, report } = w().jobs;
    assert.equal(status.environment, "${{ matrix.stack }}-preview");
    assert.deepEqual(status.permissions, { contents: "read" });
    assert.equal(status.env.GITHUB_TOKEN, "${{ secrets.FLEET_GITHUB_READ_TOKEN }}");
    assert.equal(report.environment, undefined);
    assert.ok(!JSON.stringify(report).includes("secrets."), "the report job sees no secret");
    assert.deepEqual(report.permissions, { contents: "read", issues: "write" });
    assert.deepEqual(report.needs, ["discover", "status"]);
    assert.match(report.if, /always\(\)/, "a failed stack job still leaves a report, naming it not checked");
    const read = status.steps.find((s: any) => String(s.run ?? "").includes("npm run --silent status"));
    assert.match(read.run, /npm run --silent status -- "\$STACK" --json/);
  });

  it("the status step writes a stack's error as its report when status cannot read it (exit 2), and keeps exit 1's JSON", () => {
    const read = w().jobs.status.steps.find((s: any) => String(s.run ?? "").includes("npm run --silent status"));
    const dir = scratch();
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    const fakeNpm = (code: number, out: string, err: string) => fs.writeFileSync(path.join(bin, "npm"), `#!/bin/sh\nprintf '%s' '${out}'\nprintf '%s' '${err}' >&2\nexit ${code}\n`, { mode: 0o755 });
    fakeNpm(2, "", "status: pulumi stack output --stack staging failed: no stack named staging");
    assert.equal(runStep(read.run, dir, { STACK: "staging", PATH: `${bin}:${process.env.PATH}` }).status, 0);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, "status-staging.json"), "utf8")), { stacks: ["staging"], cells: [], errors: [{ stack: "staging", error: "status: pulumi stack output --stack staging failed: no stack named staging" }] });
    fakeNpm(1, '{"stacks":["staging"],"cells":[]}', "");
    assert.equal(runStep(read.run, dir, { STACK: "staging", PATH: `${bin}:${process.env.PATH}` }).status, 0);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, "status-staging.json"), "utf8")), { stacks: ["staging"], cells: [] });
  });

  it("the render step, run as written: the stacks' reports as one matrix, a stack that could not be read and one not checked named, unhealthy=true", () => {
    const render = w().jobs.report.steps.find((s: any) => s.id === "render");
    const dir = scratch();
    fs.mkdirSync(path.join(dir, "statuses"));
    const cell = (stack: string, tenant: string, state: string) => ({ stack, tenant, state, applied: "main@sha1:0123456789abcdef", behind: false, notReady: [] });
    fs.writeFileSync(path.join(dir, "statuses", "status-staging.json"), JSON.stringify({ stacks: ["staging"], cells: [cell("staging", "shop", "Ready"), cell("staging", "media", "Ready")] }));
    fs.writeFileSync(path.join(dir, "statuses", "status-production.json"), JSON.stringify({ stacks: ["production"], cells: [], errors: [{ stack: "production", error: "kubectl: connection refused" }] }));
    const out = path.join(dir, "out");
    fs.writeFileSync(out, "");
    const shim = path.join(dir, "bin");
    fs.mkdirSync(shim);
    fs.writeFileSync(path.join(shim, "npm"), `#!/bin/sh\nshift 3\ncd ${JSON.stringify(ROOT)} && exec node -r ts-node/register scripts/status.ts "$@"\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "statuses", "status-kind.json"), JSON.stringify({ stacks: [], cells: [], skipped: [{ stack: "kind", reason: "CI does not read it" }] }));
    // The step's `npm run --silent status -- …` with the files' paths made absolute (the shim runs in the repository).
    const script = render.run.replace("statuses/*.json", `${dir}/statuses/*.json`);
    const r = runStep(script, dir, { STACKS: JSON.stringify(["staging", "production", "production-us", "kind"]), GITHUB_OUTPUT: out, PATH: `${shim}:${process.env.PATH}` });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.readFileSync(out, "utf8"), "unhealthy=true\n");
    const matrix = fs.readFileSync(path.join(dir, "matrix.txt"), "utf8");
    assert.match(matrix, /^TENANT +staging\nmedia +Ready 0123456 *\nshop +Ready 0123456/);
    assert.match(matrix, /^production: could not be read: kubectl: connection refused$/m);
    assert.match(matrix, /^production-us: could not be read: no report: its job did not finish/m, "a job that left no report is not healthy");
    assert.match(matrix, /^kind: not checked: CI does not read it$/m);
    assert.match(matrix, /^unhealthy: production \(not read\), production-us \(not read\)$/m);

    // Only stacks CI does not read (both of this repository's are kind stacks): a report, not a failure.
    fs.rmSync(path.join(dir, "statuses"), { recursive: true });
    fs.mkdirSync(path.join(dir, "statuses"));
    fs.writeFileSync(path.join(dir, "statuses", "status-kind.json"), JSON.stringify({ stacks: [], cells: [], skipped: [{ stack: "kind", reason: "CI does not read it" }] }));
    fs.writeFileSync(out, "");
    const only = runStep(script, dir, { STACKS: JSON.stringify(["kind"]), GITHUB_OUTPUT: out, PATH: `${shim}:${process.env.PATH}` });
    assert.equal(only.status, 0, only.stderr);
    assert.equal(fs.readFileSync(out, "utf8"), "unhealthy=false\n");
    assert.match(fs.readFileSync(path.join(dir, "matrix.txt"), "utf8"), /^kind: not checked: CI does not read it\nhealthy: every tenant of every stack read\n$/);
    // No report at all (every job failed before writing one): each stack named, not a crash.
    fs.rmSync(path.join(dir, "statuses"), { recursive: true });
    fs.writeFileSync(out, "");
    assert.equal(runStep(script, dir, { STACKS: JSON.stringify(["staging"]), GITHUB_OUTPUT: out, PATH: `${shim}:${process.env.PATH}` }).status, 0);
    assert.equal(fs.readFileSync(out, "utf8"), "unhealthy=true\n");
  });

  it("the status job reports a stack it does not read (stack-gate) as not checked, and uploads whatever happened", () => {
    const steps = w().jobs.status.steps;
    const skipped = steps.find((s: any) => String(s.if ?? "").includes("steps.gate.outputs.run != 'true'"));
    const dir = scratch();
    assert.equal(runStep(skipped.run, dir, { STACK: "staging" }).status, 0);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, "status-staging.json"), "utf8")).skipped[0].stack, "staging");
    const upload = steps.find((s: any) => String(s.uses ?? "").startsWith("actions/upload-artifact@"));
    assert.equal(upload.if, "always()");
  });

  it("one standing issue: opened once, rewritten quietly while nothing changes, commented when the verdict or the unhealthy cells change", async () => {
    const gh = fakeGitHub([{ number: 3, title: "Drift: staging", body: "<!-- fleet-drift stack=staging -->", labels: ["drift"], state: "open" }]);
    const core = fakeCore();
    const healthy = "TENANT  staging\nshop    Ready 0123456 2h\n\nhealthy: every tenant of every stack read\n";
    const failing = "TENANT  staging\nshop    Failing 0123456 5m\n\nstaging/shop: Failing: kustomize build failed\nunhealthy: staging/shop (Failing)\n";
    assert.deepEqual(await reportStatus({ github: gh, context, core, text: healthy, unhealthy: "false" }), { action: "opened", number: 4, commented: false });
    const issue = gh.issues.find((i) => i.number === 4)!;
    assert.deepEqual([issue.title, issue.labels], [STATUS_TITLE, ["fleet-status"]]);
    assert.match(issue.body, /Every tenant is Ready, Suspended or Progressing/);
    assert.ok(issue.body.includes("shop    Ready 0123456 2h"));

    gh.calls.length = 0;
    assert.equal((await reportStatus({ github: gh, context, core, text: healthy.replace("2h", "8h"), unhealthy: "false" })).commented, false);
    assert.deepEqual(gh.calls, ["list", "update #4"], "healthy again: the body only");
    gh.calls.length = 0;
    assert.equal((await reportStatus({ github: gh, context, core, text: failing, unhealthy: "true" })).commented, true);
    assert.deepEqual(gh.calls, ["list", "update #4", "comment #4"]);
    assert.match(gh.comments.at(-1)!.body, /^\*\*Now unhealthy\*\*/);
    assert.match(issue.body, /\*\*Something needs someone\*\*/);
    gh.calls.length = 0;
    await reportStatus({ github: gh, context, core, text: failing.replace("5m", "6h"), unhealthy: "true" });
    assert.deepEqual(gh.calls, ["list", "update #4"], "the same cells, older: no comment");
    await reportStatus({ github: gh, context, core, text: failing.replace("unhealthy: staging/shop (Failing)", "unhealthy: staging/media (Failing), staging/shop (Failing)"), unhealthy: "true" });
    assert.match(gh.comments.at(-1)!.body, /^The unhealthy cells changed/);
    await reportStatus({ github: gh, context, core, text: healthy, unhealthy: "false" });
    assert.match(gh.comments.at(-1)!.body, /^Healthy again/);
    assert.equal(gh.issues.filter((i) => i.title === STATUS_TITLE).length, 1, "never a second issue");
    assert.equal(gh.issues.find((i) => i.number === 3)!.body, "<!-- fleet-drift stack=staging -->", "a drift issue is not touched");
    await assert.rejects(reportStatus({ github: gh, context, core, text: healthy, unhealthy: "" }), /not "true" or "false": the matrix was not rendered/);
  });

  it("the body fits GitHub's limit, the matrix in a fence it cannot close", () => {
    const huge = "x".repeat(100_000) + "\n```\n";
    const body = statusBody({ text: huge, unhealthy: true, runUrl: "r", sha: "s", docsUrl: "d" });
    assert.ok(body.length <= BODY_LIMIT, `${body.length}`);
    const fences = body.split("\n").filter((l) => /^`{3,}$/.test(l));
    assert.ok(fences[0].length > 3 && fences.at(-1) === fences[0]);
  });
});
