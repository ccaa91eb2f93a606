/**
 * npm run adopt -- <stack> [--config-file FILE] [--kubeconfig FILE] [--context NAME] [--dry-run] [-- <pulumi up flags>]
 *
 * Rebuilds a lost state (an empty backend, a deleted stack) from what is live: the cluster the
 * stack's config names, and GitHub. It only ever adds to the state what the program would create
 * and finds live, so on a state that holds some of it (an adopt whose up failed) it goes on. A plain `up` there would fail on every object that exists
 * (pulumi-kubernetes 4.29 and later answer AlreadyExists), and would make every key pair anew:
 * GitHub would hold each cluster's old deploy key beside the new one, and each Secret would change.
 * Instead:
 * 1. the program's preview on the empty state says what it would create;
 * 2. each key pair is read back from the Secret that holds it (`identity`), checked against its
 *    `identity.pub`, and written into state with every output the TLS provider would have written
 *    (scripts/lib/key-state.ts; a `tls.PrivateKey` cannot be imported);
 * 3. each planned Kubernetes object, Helm release, deploy key (by the restored public key) and
 *    default branch that exists is listed for import; repositories and team grants the program
 *    finds and imports itself (components/github/adopt.ts);
 * 4. the upgrade preflight judges the live cluster (scripts/preflight.ts), then `pulumi up` runs with
 *    that list (FLEET_ADOPT_FILE, components/imports.ts): its preview shows `= import` for each,
 *    and `+ create` only for what is missing.
 * Nothing is written when anything cannot be decided (a kind cluster, a cluster that does not
 * answer): it says what to do. --dry-run prints the plan and writes nothing.
 * Exit status: 0 adopted (or the dry run), 1 the up failed, 2 it could not run or decide.
 */
import { randomUUID } from "crypto";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { repositoryExists } from "../components/github/client";
import { deployKeyWithPublicKey, keyMaterial } from "../components/github/pending-key";
import { AdoptLookups, importFile, keysInState, planAdoption, plannedKeys, PreviewStep, withKeys } from "./lib/adopt-plan";
import { commandArgs, flagValue } from "./lib/args";
import { keyState, KeyState } from "./lib/key-state";
import { kubectlJson, objectExists } from "./lib/kubectl";
import { configuredCluster, exportedState, flagCluster, pulumiCli, StackConfigValues, stackConfigValues, withBackend } from "./lib/state";

/** The program's preview steps on the stack's state (`pulumi preview --json`). */
function previewSteps(stack: string, env: NodeJS.ProcessEnv, withConfig: readonly string[]): PreviewStep[] {
  const r = pulumiCli(["preview", "--stack", stack, "--json", "--non-interactive", ...withConfig], env);
  let parsed: { steps?: PreviewStep[]; diagnostics?: { message?: string }[] } | undefined;
  try {
    parsed = JSON.parse(r.stdout);
  } catch {
    parsed = undefined;
  }
  if (r.status !== 0 || !parsed) {
    const why = (parsed?.diagnostics ?? []).map((d) => d.message ?? "").filter(Boolean).join("\n") || r.stderr.trim() || r.stdout.slice(-2000);
    throw new Error(`pulumi preview --stack ${stack} failed (exit ${r.status ?? r.signal}):\n${why}`);
  }
  return parsed.steps ?? [];
}

/** kubectl's --kubeconfig/--context: the flags', else the stack's config (`fleet:kubeconfig`, `fleet:cluster.context`). */
function clusterOf(config: StackConfigValues, dir: string, given: { kubeconfig?: string; context?: string }): string[] {
  const flags = flagCluster(given);
  if (flags) return flags;
  const cluster = configuredCluster(config, dir);
  if (cluster === "kind") {
    throw new Error("the stack's cluster is a kind cluster, which Pulumi cannot import: adopt it as an existing one (docs/operations.md, \"Recovering\", a lost state)");
  }
  if (!cluster) throw new Error("fleet:kubeconfig is not set for the stack: name the cluster with --kubeconfig and --context");
  return cluster;
}

/** Lookups against the cluster (kubectl, one object at a time) and GitHub (GITHUB_TOKEN). */
function liveLookups(cluster: readonly string[], env: NodeJS.ProcessEnv): AdoptLookups {
  return {
    kubeExists: (target) => objectExists(cluster, target, env),
    deployKey: (owner, repository, key) => deployKeyWithPublicKey(owner, repository, key),
    repositoryExists: (owner, name) => repositoryExists(owner, name),
  };
}

/** The key pair a live deploy-key Secret holds; undefined when the cluster has no such Secret. */
function keyFromSecret(cluster: readonly string[], env: NodeJS.ProcessEnv, secret: { namespace: string; name: string }): KeyState | undefined {
  const found = kubectlJson([...cluster, "get", "secret", secret.name, "-n", secret.namespace, "--ignore-not-found"], env);
  const data = (found.data ?? {}) as Record<string, string>;
  if (!data.identity) return undefined;
  let key: KeyState;
  try {
    key = keyState(Buffer.from(data.identity, "base64").toString("utf8"));
  } catch (e) {
    throw new Error(`Secret ${secret.namespace}/${secret.name}: identity: ${(e as Error).message}`, { cause: e });
  }
  const pub = data["identity.pub"] ? Buffer.from(data["identity.pub"], "base64").toString("utf8") : undefined;
  if (pub !== undefined && keyMaterial(pub) !== keyMaterial(key.outputs.publicKeyOpenssh)) {
    throw new Error(`Secret ${secret.namespace}/${secret.name}: identity.pub is not identity's public key; fix the Secret or delete it (the next up then makes a new key pair)`);
  }
  return key;
}

async function main(argv: readonly string[]): Promise<number> {
  const usage = "usage: npm run adopt -- <stack> [--config-file FILE] [--kubeconfig FILE] [--context NAME] [--dry-run] [-- <pulumi up flags>]";
  const split = argv.indexOf("--");
  const [own, passed] = split < 0 ? [argv, []] : [argv.slice(0, split), argv.slice(split + 1)];
  const { positional: stack, problem } = commandArgs(own, usage, ["--config-file", "--kubeconfig", "--context"], ["--dry-run"]);
  if (!stack || problem) {
    console.error(problem);
    return 2;
  }
  const env = withBackend(process.env);
  const configFile = flagValue(own, "--config-file", usage);
  const withConfig = configFile ? ["--config-file", configFile] : [];
  // A stack lost with its backend is made again, empty (its config file keeps the secrets' salt).
  const selected = pulumiCli(["stack", "select", "--create", stack], env);
  if (selected.status !== 0) throw new Error(`pulumi stack select --create ${stack} failed: ${selected.stderr.trim()}`);
  const exported = exportedState(stack, env);
  const pending = exported.deployment.pending_operations ?? [];
  if (pending.length > 0) {
    console.error(`adopt: stack ${stack} has ${pending.length} pending operation(s) from an interrupted run: settle them first with npm run recover -- ${stack} (docs/operations.md, "Recovering")`);
    return 2;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-adopt-"));
  // Ctrl-C reaches the pulumi child too, which stops as it does; adopt outlives it, so the
  // directory (the stack's kubeconfig) is removed, and goes no further.
  let interrupted = false;
  const stop = () => (interrupted = true);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, stop);
  try {
    const config = stackConfigValues(stack, env, withConfig);
    const cluster = clusterOf(config, dir, { kubeconfig: flagValue(own, "--kubeconfig", usage), context: flagValue(own, "--context", usage) });
    const steps = previewSteps(stack, env, withConfig);
    const restored = new Map<string, KeyState>();
    for (const k of plannedKeys(steps)) {
      const key = k.secret && keyFromSecret(cluster, env, k.secret);
      if (key) restored.set(k.urn, key);
    }
    // A key pair the state holds already must be the one its Secret holds: a plain up after the
    // state was lost makes new ones, and would then write them over the cluster's.
    const differing = keysInState(exported.deployment, steps).filter((k) => {
      const live = k.secret && keyFromSecret(cluster, env, k.secret);
      return live && keyMaterial(live.outputs.publicKeyOpenssh) !== keyMaterial(k.publicKey);
    });
    if (differing.length > 0) {
      console.error(
        `adopt: nothing done: the state holds key pairs that are not the ones their Secrets hold, made by an up after the state was lost:\n${differing.map((k) => `  ${k.urn} (Secret ${k.secret!.namespace}/${k.secret!.name})`).join("\n")}\n` +
          "To take the cluster's keys back: delete each from the state (pulumi state delete '<urn>'), and each deploy key that up made with it (on GitHub and in the state), then run this again (docs/operations.md, \"Recovering\", a lost state)",
      );
      return 2;
    }
    const owner = config["github:owner"]?.value;
    const publicKeys = new Map([...restored].map(([urn, k]) => [urn, k.outputs.publicKeyOpenssh]));
    const plan = (await planAdoption(steps, owner, liveLookups(cluster, env), publicKeys)).filter((a) => !restored.has(a.urn));
    console.log(`adopt: stack ${stack}, from the preview of an empty state (${steps.length} steps):`);
    for (const [urn, k] of restored) console.log(`  restore: ${urn}\n      from the cluster's Secret (${k.outputs.publicKeyFingerprintSha256})`);
    for (const a of plan) console.log(`  ${a.ask ? "ask" : a.id !== undefined ? `import as ${a.id}` : "create"}: ${a.urn}\n      ${a.why}`);
    if (plan.some((a) => a.ask)) {
      console.error("adopt: nothing done: some resources could not be decided (ask, above); do what each says and run this again");
      return 2;
    }
    const imports = importFile(plan, steps);
    if (own.includes("--dry-run")) {
      console.log(`adopt: --dry-run: would write ${restored.size} key pair(s) into the state, then run the preflight and pulumi up, importing ${Object.keys(imports.imports).length} resource(s)`);
      return 0;
    }
    if (restored.size > 0) {
      // On stdin: the private keys are never written to a file.
      const r = pulumiCli(["stack", "import", "--stack", stack], env, JSON.stringify(withKeys(exported, steps, restored, randomUUID)));
      if (r.status !== 0) {
        console.error(`adopt: pulumi stack import failed (exit ${r.status ?? r.signal}): ${r.stderr.trim()}; the state is as it was`);
        return 1;
      }
      console.log(`adopt: ${restored.size} key pair(s) written into the state`);
    }
    const importsFile = path.join(dir, "imports.json");
    fs.writeFileSync(importsFile, JSON.stringify(imports, null, 2));
    // The live cluster is what the up imports: a Flux version the config changes is judged on it.
    if (interrupted) return 130;
    const preflight = spawnSync(process.execPath, ["-r", "ts-node/register", path.join(__dirname, "preflight.ts"), stack, ...withConfig, ...cluster], { stdio: "inherit", env });
    if (preflight.status !== 0) {
      console.error(`adopt: the preflight stopped the up (exit ${preflight.status ?? preflight.signal}); the key pairs are in the state: fix what it says and run npm run adopt -- ${stack} again`);
      return 1;
    }
    if (interrupted) return 130;
    const up = spawnSync(env.PULUMI ?? "pulumi", ["up", "--stack", stack, ...withConfig, ...passed], { stdio: "inherit", env: { ...env, FLEET_ADOPT_FILE: importsFile } });
    if (up.status !== 0) {
      console.error(`adopt: the up failed (exit ${up.status ?? up.signal}). The key pairs are in the state; run npm run adopt -- ${stack} again once it is fixed: what is in the state stays, the rest is planned again`);
      return 1;
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.off(signal, stop);
  }
  console.log(`adopt: done; the next preview should show no changes: pulumi preview --stack ${stack}`);
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`adopt: ${(e as Error).message}`);
      process.exit(2);
    },
  );
}
