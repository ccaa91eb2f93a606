import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseAllDocuments, parse as parseYaml, stringify } from "yaml";
import { joinGroups, presentable, renderAtRef, renderDiff, renderStack, RenderedGroup, unifiedDiff } from "../scripts/render";
import { REPO_ROOT, runProgram, stackConfig } from "./harness";

const rendered = new Map<string, Promise<RenderedGroup[]>>();
function render(stack: string): Promise<RenderedGroup[]> {
  if (!rendered.has(stack)) rendered.set(stack, renderStack({ stack }));
  return rendered.get(stack)!;
}

function documents(text: string): any[] {
  const docs = parseAllDocuments(text);
  for (const d of docs) assert.deepEqual(d.errors, [], "every document parses");
  return docs.map((d) => d.toJS()).filter((o) => o !== null);
}

/** Anything that would be a leak: key material, mock key bodies, Pulumi's secret marker. */
const LEAKS = [/PRIVATE KEY/, /mock-[a-z-]*deploy-key/, /1b47061264138c4ac30d75fd1eb44270/, /client-key-data: (?!"\[secret\]")/];

describe("render: desired state as YAML", () => {
  for (const stack of ["staging", "production"]) {
    it(`${stack}: finds the FluxInstance and every tenant's Kustomization`, async () => {
      const objects = documents(joinGroups(await render(stack)));
      assert.equal(objects.filter((o) => o.kind === "FluxInstance").length, 1);
      const tenants = (stackConfig(stack)["fleet:tenants"] as { name: string }[]).map((t) => t.name).sort();
      const kustomizations = objects.filter((o) => o.kind === "Kustomization").map((o) => o.metadata.name).sort();
      assert.deepEqual(kustomizations, tenants);
    });

    it(`${stack}: stdout is valid multi-document YAML, grouped by component in a stable order`, async () => {
      const groups = await render(stack);
      assert.deepEqual(groups.slice(0, 4).map((g) => g.name), ["cluster", "flux", "fleet-repository", "admission-policies"]);
      const tenantGroups = groups.slice(4).map((g) => g.name);
      assert.deepEqual(tenantGroups, [...tenantGroups].sort());
      assert.ok(tenantGroups.every((g) => g.startsWith("tenant-")));
      documents(joinGroups(groups));
    });

    it(`${stack}: is byte-identical when rendered twice`, async () => {
      assert.equal(joinGroups(await renderStack({ stack })), joinGroups(await render(stack)));
    });

    it(`${stack}: contains no private key material or secret values`, async () => {
      const text = joinGroups(await render(stack));
      for (const leak of LEAKS) assert.doesNotMatch(text, leak);
    });
  }

  it("summarises GitHub repositories, deploy keys and files as comments", async () => {
    const staging = joinGroups(await render("staging"));
    assert.match(staging, /^# github repository acme-org\/flux-fleet: created by this stack/m);
    assert.match(staging, /^# github deploy key flux-staging on acme-org\/flux-fleet \(read-only\)$/m);
    assert.match(staging, /^# github file acme-org\/flux-fleet@main: clusters\/staging\/kustomization\.yaml/m);
    const production = joinGroups(await render("production"));
    assert.match(production, /^# github repository acme-org\/flux-fleet: looked up/m);
    assert.doesNotMatch(production, /created by this stack/);
  });

  it("shows what a reviewer must not miss: protection, template generation and team grants", async () => {
    const staging = joinGroups(await render("staging"));
    const shop = (await render("staging")).find((g) => g.name === "tenant-shop")!.text;
    assert.match(shop, /^# protected: \d+ Kubernetes objects; removing them fails until offboard: true$/m);
    assert.match(staging, /^# github repository acme-org\/shop-deploy: created by this stack \(private, generated from acme-org\/flux-fleet-tenant-template, kept on destroy\)$/m);
    const teams = await renderStack({ stack: "staging", config: { ...stackConfig("staging"), "fleet:tenants": [{ name: "shop", team: "shop-devs" }] } });
    assert.match(joinGroups(teams), /^# github team shop-devs gets push on acme-org\/shop-deploy$/m);
  });

  it("redacts secrets even when their values are known (a kubeconfig stack, computed keys)", async () => {
    const kubeconfig = "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    client-key-data: TOPSECRETKEYDATA\n";
    const groups = await renderStack({
      stack: "production",
      config: { "github:owner": "acme-org", "fleet:cluster": { type: "kubeconfig" }, "fleet:kubeconfig": kubeconfig },
    });
    assert.doesNotMatch(joinGroups(groups), /TOPSECRETKEYDATA/);

    const computed = await runProgram({ stack: "staging", config: stackConfig("staging") });
    const secret = computed.resources.find((r) => r.type === "kubernetes:core/v1:Secret")!;
    const shown = stringify(presentable(secret.rawInputs));
    assert.match(JSON.stringify(secret.inputs), /PRIVATE KEY/, "the key is really there before redaction");
    for (const leak of LEAKS) assert.doesNotMatch(shown, leak);
    assert.match(shown, /identity: "\[secret\]"/);
  });
});

describe("render: diffs", () => {
  it("a tenant addition shows only that tenant's objects", async () => {
    const config = stackConfig("staging");
    const before = joinGroups(await render("staging"));
    const withSearch = { ...config, "fleet:tenants": [...(config["fleet:tenants"] as unknown[]), { name: "search" }] };
    const afterGroups = await renderStack({ stack: "staging", config: withSearch });
    const diff = unifiedDiff(before, joinGroups(afterGroups), "before", "after");
    const body = diff.split("\n").filter((l) => !l.startsWith("+++") && !l.startsWith("---") && !l.startsWith("@@"));
    assert.deepEqual(body.filter((l) => l.startsWith("-")), [], "nothing is removed");
    const added = body.filter((l) => l.startsWith("+")).map((l) => l.slice(1));
    const search = afterGroups.find((g) => g.name === "tenant-search");
    assert.ok(search, "the new tenant has its own group");
    const searchLines = new Set([...search.text.split("\n"), "---"]);
    assert.deepEqual(added.filter((l) => !searchLines.has(l)), [], "every added line belongs to tenant search");
    for (const kind of ["Namespace", "Kustomization", "GitRepository", "NetworkPolicy", "RoleBinding"]) {
      assert.ok(added.includes(`kind: ${kind}`), `the diff adds the tenant's ${kind}`);
    }
  });

  it("prints nothing when the two renders are equal", async () => {
    const text = joinGroups(await render("staging"));
    assert.equal(unifiedDiff(text, text, "a", "b"), "");
  });

  it("renders a git ref through a temporary worktree, and removes it", async function () {
    this.timeout(60000);
    const worktrees = () => execFileSync("git", ["-C", REPO_ROOT, "worktree", "list"], { encoding: "utf8" });
    const before = worktrees();
    const groups = await renderAtRef("HEAD", "staging");
    assert.ok(documents(joinGroups(groups)).some((o) => o.kind === "FluxInstance"));
    assert.equal(worktrees(), before, "the temporary worktree is gone");
  });
});

/**
 * A temporary worktree of this repository at HEAD (the base), with node_modules borrowed and this
 * checkout's render scripts over HEAD's: a pull request's working tree. Removed afterwards.
 */
async function withWorktree(fn: (tree: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-render-pr-"));
  const tree = path.join(dir, "tree");
  execFileSync("git", ["-C", REPO_ROOT, "worktree", "add", "--quiet", "--detach", tree, "HEAD"], { stdio: "ignore" });
  try {
    fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(tree, "node_modules"), "dir");
    for (const f of ["render.ts", "stacks.ts", "lib/args.ts", "lib/evaluate.ts", "lib/stacks.ts"]) fs.copyFileSync(path.join(REPO_ROOT, "scripts", f), path.join(tree, "scripts", f));
    await fn(tree);
  } finally {
    execFileSync("git", ["-C", REPO_ROOT, "worktree", "remove", "--force", tree], { stdio: "ignore" });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The changed lines of a unified diff, without its headers. */
function changed(diff: string): { added: string[]; removed: string[] } {
  const lines = diff.split("\n");
  const body = lines.slice(lines.findIndex((l) => l.startsWith("@@"))).filter((l) => !l.startsWith("@@"));
  return { added: body.filter((l) => l.startsWith("+")).map((l) => l.slice(1)), removed: body.filter((l) => l.startsWith("-")).map((l) => l.slice(1)) };
}

describe("render: diffs of a stack added or removed since the base", () => {
  it("a stack absent at the ref renders as nothing there, without a worktree", async () => {
    const worktrees = () => execFileSync("git", ["-C", REPO_ROOT, "worktree", "list"], { encoding: "utf8" });
    const before = worktrees();
    assert.deepEqual(await renderAtRef("HEAD", "qa"), []);
    assert.equal(worktrees(), before);
    await assert.rejects(renderAtRef("no-such-ref", "staging"), /no-such-ref is not a git commit/);
  });

  it("npm run render -- <new stack> --diff <base> shows everything as added and exits 0; a deleted stack, everything as removed", async function () {
    this.timeout(120000);
    await withWorktree(async (tree) => {
      const production = fs.readFileSync(path.join(tree, "Pulumi.production.yaml"), "utf8");
      fs.writeFileSync(path.join(tree, "Pulumi.qa.yaml"), production.replace("name: fleet-production", "name: fleet-qa"));
      fs.rmSync(path.join(tree, "Pulumi.staging.yaml"));
      const cli = (stack: string) =>
        execFileSync(process.execPath, ["-r", "ts-node/register", "scripts/render.ts", stack, "--diff", "HEAD"], { cwd: tree, encoding: "utf8", stdio: "pipe" });

      const added = cli("qa"); // exit 0, or execFileSync throws
      assert.match(added, /^--- qa@HEAD \(no Pulumi\.qa\.yaml\)$/m);
      const qa = joinGroups(await renderStack({ stack: "qa", root: tree }));
      assert.deepEqual(changed(added), { added: qa.replace(/\n$/, "").split("\n"), removed: [] }, "the whole render, added");
      assert.ok(changed(added).added.includes("kind: FluxInstance"));

      const removed = await renderDiff("staging", "HEAD", tree);
      assert.match(removed, /^\+\+\+ staging@working-tree \(no Pulumi\.staging\.yaml\)$/m);
      const staging = joinGroups(await renderAtRef("HEAD", "staging", tree));
      assert.deepEqual(changed(removed), { added: [], removed: staging.replace(/\n$/, "").split("\n") }, "the whole render, removed");
      assert.match(staging, /created by this stack/);

      assert.throws(() => cli("nope"), (e: { stderr: string }) => /no Pulumi\.nope\.yaml in .* nor at HEAD; stacks here: production, qa/.test(e.stderr));
    });
  });
});

describe("render: command line", () => {
  it("npm run render -- <stack> --out DIR prints the render and writes one file per component", function () {
    this.timeout(60000);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-render-out-"));
    try {
      const stdout = execFileSync(process.execPath, ["-r", "ts-node/register", "scripts/render.ts", "production", "--out", out], {
        cwd: REPO_ROOT,
        encoding: "utf8",
      });
      const files = fs.readdirSync(out).sort();
      assert.deepEqual(files.slice(0, 4), ["admission-policies.yaml", "cluster.yaml", "fleet-repository.yaml", "flux.yaml"]);
      assert.ok(files.includes("tenant-payments.yaml"));
      const joined = ["cluster", "flux", "fleet-repository", "admission-policies", ...files.filter((f) => f.startsWith("tenant-")).map((f) => f.slice(0, -5))]
        .map((g) => fs.readFileSync(path.join(out, `${g}.yaml`), "utf8"))
        .join("---\n");
      assert.equal(stdout, joined);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it("an unknown stack fails naming the stacks that exist", () => {
    assert.throws(
      () => execFileSync(process.execPath, ["-r", "ts-node/register", "scripts/render.ts", "prod"], { cwd: REPO_ROOT, encoding: "utf8", stdio: "pipe" }),
      (e: { stderr: string }) => /no Pulumi\.prod\.yaml.*stacks here: production, staging/.test(e.stderr),
    );
  });
});

describe("CI workflows: the render", () => {
  // The workflows' policies (secrets, environments, pins, scripts) are in test/workflows.spec.ts.
  const dir = path.join(REPO_ROOT, ".github", "workflows");
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yml"));
  const scripts = Object.keys(JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")).scripts);

  it("every npm script the workflows call exists", () => {
    const called = files.flatMap((f) =>
      [...fs.readFileSync(path.join(dir, f), "utf8").matchAll(/npm (?:run(?: --silent)?|test|ci)\b ?([\w:-]*)/g)].map((m) =>
        m[0].startsWith("npm test") ? "test" : m[0].startsWith("npm ci") ? undefined : m[1],
      ),
    );
    const missing = called.filter((s): s is string => s !== undefined && !scripts.includes(s));
    assert.ok(called.includes("test") && called.includes("render"), `called: ${called.join(", ")}`);
    assert.deepEqual(missing, []);
  });

  it("the render-diff job diffs each stack, and each stack the pull request deletes, against the base branch", () => {
    const preview = parseYaml(fs.readFileSync(path.join(dir, "preview.yml"), "utf8"));
    const job = preview.jobs["render-diff"];
    assert.equal(job.strategy.matrix.stack, "${{ fromJSON(needs.discover.outputs.render_stacks) }}");
    const discover = preview.jobs.discover.steps.find((s: any) => s.id === "discover");
    assert.match(discover.run, /scripts\/stacks\.ts --matrix --since "origin\/\$BASE_REF" > render-stacks\.json/);
    assert.match(discover.run, /^echo "render_stacks=\$\(cat render-stacks\.json\)" >> "\$GITHUB_OUTPUT"$/m);
    assert.deepEqual(discover.env, { BASE_REF: "${{ github.base_ref }}" });
    assert.equal(preview.jobs.discover.steps.find((s: any) => String(s.uses).startsWith("actions/checkout@"))?.with?.["fetch-depth"], 0, "the base branch is there");
    assert.equal(job.steps.find((s: any) => String(s.uses).startsWith("actions/checkout@"))?.with?.["fetch-depth"], 0, "the base branch's history is there");
    const render = job.steps.find((s: any) => String(s.run ?? "").includes("npm run --silent render"));
    assert.match(render.run, /npm run --silent render -- "\$STACK" --diff "origin\/\$BASE_REF"/);
    assert.deepEqual(render.env, { STACK: "${{ matrix.stack }}", BASE_REF: "${{ github.base_ref }}" });
  });
});
