/**
 * The real tier's view of the rig (rig/rig.sh): its environment, and the real CLIs (pulumi,
 * kubectl) run against it. Nothing here is mocked: every call is a process of the real program.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";

export const ROOT = path.resolve(__dirname, "..", "..");

export interface RigEnv {
  readonly env: Record<string, string>;
  readonly dir: string;
  readonly owner: string;
  readonly sshHost: string;
  readonly knownHosts: string;
  readonly githubUrl: string;
  readonly githubToken: string;
  readonly kubeconfig: string;
  /** The GitHub App githubd has installed on the organisation, and the file holding its private key. */
  readonly githubApp: { readonly appId: number; readonly installationId: number; readonly keyFile: string };
  /** The rig's container registry (rig/go/registry), host:port. */
  readonly registry: string;
}

/** The running rig's environment (`.rig/env`, written by `npm run rig -- start`); fails loudly without one. */
export function rigEnv(): RigEnv {
  const dir = process.env.FLEET_RIG_DIR ?? path.join(ROOT, ".rig");
  const file = path.join(dir, "env");
  if (!fs.existsSync(file)) {
    throw new Error(`the rig is not running (no ${file}): run npm run rig -- build, then npm run rig -- start`);
  }
  const env: Record<string, string> = {};
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    const m = /^export ([A-Z0-9_]+)="(.*)"$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
  return {
    env,
    dir,
    owner: env.FLEET_RIG_GITHUB_OWNER,
    sshHost: env.FLEET_RIG_SSH_HOST,
    knownHosts: fs.readFileSync(env.FLEET_RIG_KNOWN_HOSTS, "utf8"),
    githubUrl: env.GITHUB_API_URL,
    githubToken: env.GITHUB_TOKEN,
    kubeconfig: env.KUBECONFIG,
    githubApp: { appId: Number(env.FLEET_RIG_GITHUB_APP_ID), installationId: Number(env.FLEET_RIG_GITHUB_APP_INSTALLATION_ID), keyFile: env.FLEET_RIG_GITHUB_APP_KEY },
    registry: env.FLEET_RIG_REGISTRY,
  };
}

/**
 * The config every stack of this program on the rig starts from: the rig's GitHub double (no
 * write spacing: the provider waits 1 s after every write by default, `writeDelayMs`, and the double
 * needs none) and the rig's cluster by kubeconfig, through the program's own Kubernetes provider.
 */
export function rigBaseConfig(rig: RigEnv): Record<string, unknown> {
  return {
    "pulumi:disable-default-providers": ["kubernetes"],
    "github:owner": rig.owner,
    "github:baseUrl": `${rig.githubUrl}/`,
    "github:writeDelayMs": 0,
    "fleet:cluster": { type: "kubeconfig" },
  };
}

export interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion with the rig's environment; never throws on a non-zero exit. */
export function run(rig: RigEnv, cmd: string, args: readonly string[], opts: { input?: string; cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Ran {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...rig.env, ...(opts.env ?? {}) },
    input: opts.input,
    encoding: "utf8",
    timeout: opts.timeoutMs ?? 15 * 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Like `run`, but fails with the command's output when it exits non-zero. */
export function ok(rig: RigEnv, cmd: string, args: readonly string[], opts: Parameters<typeof run>[3] = {}): Ran {
  const r = run(rig, cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}\n--- stdout\n${tail(r.stdout)}\n--- stderr\n${tail(r.stderr)}`);
  return r;
}

function tail(s: string, lines = 80): string {
  return s.split("\n").slice(-lines).join("\n");
}

export function kubectl(rig: RigEnv, ...args: string[]): Ran {
  return run(rig, "kubectl", args, { timeoutMs: 120_000 });
}

/** A parsed object from `kubectl get -o json`, or undefined when it does not exist. */
export function getObject(rig: RigEnv, kind: string, name: string, namespace?: string): any {
  const r = kubectl(rig, "get", kind, name, ...(namespace ? ["-n", namespace] : []), "-o", "json");
  if (r.code !== 0) {
    if (/NotFound|not found/.test(r.stderr)) return undefined;
    throw new Error(`kubectl get ${kind} ${name}: ${r.stderr}`);
  }
  return JSON.parse(r.stdout);
}

/** Thrown from an `eventually` check: a definite failure, not worth waiting out. */
export class Fatal extends Error {}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs` with `what`. */
export async function eventually<T>(what: string, timeoutMs: number, check: () => T | undefined | Promise<T | undefined>, everyMs = 2000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      if (e instanceof Fatal) throw e;
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A Ready condition's status and message. */
export function ready(obj: any): { status: string; reason: string; message: string } | undefined {
  const c = (obj?.status?.conditions ?? []).find((x: any) => x.type === "Ready");
  return c ? { status: c.status, reason: c.reason, message: c.message } : undefined;
}

/** Calls the GitHub double's REST API as the program's token does. */
export async function github(rig: RigEnv, method: string, route: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${rig.githubUrl}/${route.replace(/^\//, "")}`, {
    method,
    headers: { authorization: `Bearer ${rig.githubToken}`, accept: "application/vnd.github+json", "content-type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** The GitHub double's request log (GET /_rig/log): every request it answered since the rig started, in order. */
export async function githubLog(rig: RigEnv): Promise<{ method: string; path: string; status: number }[]> {
  const answer = await fetch(`${rig.githubUrl}/_rig/log`, { headers: { authorization: `Bearer ${rig.githubToken}` } });
  if (answer.status !== 200) throw new Error(`GET /_rig/log answered ${answer.status}`);
  return (await answer.text()).trim().split("\n").map((l) => JSON.parse(l) as { method: string; path: string; status: number });
}

/** Standard input, and environment variables on top of the rig's, for one `pulumi` command. */
export interface PulumiOptions {
  readonly input?: string;
  readonly env?: Record<string, string>;
}

/**
 * One Pulumi stack of this program on the rig: the real CLI and engine, the local file backend in
 * a temporary directory, the stack's config in a temporary file (`--config-file`), so the
 * repository's own Pulumi.<stack>.yaml files are never touched.
 */
export class Stack {
  readonly backend: string;
  readonly configFile: string;
  private readonly pulumiHome: string;
  /** Where `stack rm` runs: the scratch project `init` made, or the bare program's directory. */
  private projectDir: string | undefined;

  constructor(readonly rig: RigEnv, readonly name: string) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-real-"));
    this.backend = path.join(tmp, "state");
    this.pulumiHome = path.join(tmp, "pulumi-home");
    fs.mkdirSync(this.backend);
    this.configFile = path.join(tmp, `Pulumi.${name}.yaml`);
  }

  private env(): Record<string, string> {
    return {
      PULUMI_BACKEND_URL: `file://${this.backend}`,
      PULUMI_CONFIG_PASSPHRASE: "fleet-real-tier",
      PULUMI_HOME: this.pulumiHome,
    };
  }

  /** `pulumi <args>` for this stack; the result, whatever the exit code. `env` adds to the rig's. */
  pulumi(args: readonly string[], opts: PulumiOptions = {}): Ran {
    // Commands that read no config (stack export, output, rm; state; cancel) refuse --config-file.
    const config = ["stack", "state", "cancel"].includes(args[0]) ? [] : ["--config-file", this.configFile];
    return run(this.rig, "pulumi", [...args, "--stack", this.name, ...config, "--non-interactive", "--color", "never"], {
      env: { ...this.env(), ...(opts.env ?? {}) },
      ...(opts.input !== undefined ? { input: opts.input } : {}),
    });
  }

  /**
   * `pulumi <args>` started and not waited for, in a process group of its own (the CLI, its
   * language host and what they start), to be killed mid-run with killTree.
   */
  start(args: readonly string[], opts: { cwd?: string; env?: Record<string, string> } = {}): { readonly child: ChildProcess; readonly output: () => string } {
    const child = spawn("pulumi", [...args, "--stack", this.name, "--config-file", this.configFile, "--non-interactive", "--color", "never"], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, ...this.rig.env, ...this.env(), ...(opts.env ?? {}) },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    return { child, output: () => tail(out, 400) };
  }

  /** `pulumi <args>` that must succeed. */
  must(args: readonly string[], opts: PulumiOptions = {}): Ran {
    const r = this.pulumi(args, opts);
    if (r.code !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${r.code}\n--- stdout\n${tail(r.stdout, 120)}\n--- stderr\n${tail(r.stderr, 60)}`);
    return r;
  }

  /**
   * A directory holding a `pulumi` that runs the rig's CLI for this stack as `pulumi()` does (its
   * backend, passphrase and config file, in the project's directory, as a workflow's checkout):
   * PATH for a workflow step's own script, which may then run in a scratch directory.
   */
  cliShim(): string {
    const dir = path.join(path.dirname(this.configFile), "shim");
    fs.mkdirSync(dir, { recursive: true });
    const real = spawnSync("sh", ["-c", "command -v pulumi"], { env: { ...process.env, ...this.rig.env }, encoding: "utf8" }).stdout.trim();
    if (!real) throw new Error("no pulumi on the rig's PATH");
    const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
    const exported = Object.entries(this.env()).map(([k, v]) => `export ${k}=${q(v)}`).join("\n");
    // As pulumi(): the commands that read no config (stack, state) refuse --config-file.
    fs.writeFileSync(
      path.join(dir, "pulumi"),
      `#!/bin/sh\n${exported}\ncd ${q(ROOT)} || exit 1\ncase "$1" in stack|state|cancel) exec ${q(real)} "$@" ;; esac\nexec ${q(real)} "$@" --config-file ${q(this.configFile)}\n`,
      { mode: 0o755 },
    );
    return dir;
  }

  /** Logs in to this stack's backend and makes the stack in the project of `dir`, where `stack rm` later runs. */
  private initIn(dir: string): void {
    run(this.rig, "pulumi", ["login", `file://${this.backend}`], { env: this.env() });
    const r = run(this.rig, "pulumi", ["stack", "init", this.name, "--non-interactive"], { env: this.env(), cwd: dir });
    if (r.code !== 0) throw new Error(`pulumi stack init: ${r.stderr}`);
    this.projectDir = dir;
  }

  init(config: Record<string, unknown>, kubeconfig: string): void {
    // `stack init` writes Pulumi.<stack>.yaml beside Pulumi.yaml and takes no --config-file: run it
    // in a scratch project of the same name, so nothing is written into the repository.
    const scratch = path.join(path.dirname(this.configFile), "init");
    fs.mkdirSync(scratch);
    fs.writeFileSync(path.join(scratch, "Pulumi.yaml"), "name: fleet\nruntime: nodejs\n");
    this.initIn(scratch);
    this.setConfig(config);
    this.must(["config", "set", "--secret", "fleet:kubeconfig"], { input: kubeconfig });
  }

  /**
   * A stack of another program, in `dir` (its Pulumi.yaml's project), with no config: the
   * benchmark's bare program (scripts/lib/bench-real.ts). `pulumi()` and `must()` still run in
   * the repository; `start()` takes the directory.
   */
  initBare(dir: string): void {
    this.initIn(dir);
    fs.writeFileSync(this.configFile, stringify({ config: {} }));
  }

  /** Replaces the plain config with `config`, keeping the secrets and the encryption salt. */
  setConfig(config: Record<string, unknown>): void {
    const doc = fs.existsSync(this.configFile) ? (parse(fs.readFileSync(this.configFile, "utf8")) ?? {}) : {};
    const kept = Object.fromEntries(Object.entries(doc.config ?? {}).filter(([, v]) => typeof v === "object" && v !== null && "secure" in (v as object)));
    fs.writeFileSync(this.configFile, stringify({ ...doc, config: { ...config, ...kept } }));
  }

  /** The plain config (the secrets left out). */
  config(): Record<string, unknown> {
    const doc = parse(fs.readFileSync(this.configFile, "utf8")) ?? {};
    return Object.fromEntries(Object.entries(doc.config ?? {}).filter(([, v]) => !(typeof v === "object" && v !== null && "secure" in (v as object))));
  }

  outputs(): any {
    return JSON.parse(this.must(["stack", "output", "--json"]).stdout);
  }

  /** Resources in state, by URN. */
  resources(): any[] {
    return JSON.parse(this.must(["stack", "export"]).stdout).deployment.resources ?? [];
  }

  /** Drops the stack and its temporary directory (backend, config, plugin home). */
  remove(): void {
    // From the scratch project: `stack rm` deletes Pulumi.<stack>.yaml beside the Pulumi.yaml it runs with.
    run(this.rig, "pulumi", ["stack", "rm", "--yes", "--force", "--stack", this.name, "--non-interactive"], {
      env: this.env(),
      cwd: this.projectDir ?? path.join(path.dirname(this.configFile), "init"),
    });
    fs.rmSync(path.dirname(this.configFile), { recursive: true, force: true });
  }
}

/**
 * A TCP server on loopback that records every connection made to it, whatever the protocol (HTTP,
 * a SOCKS5 or HTTP proxy handshake, Git), and closes it: a server-side request forgery shows as a
 * connection here, not as an error message somewhere else.
 */
export interface Canary {
  readonly port: number;
  /** Connections seen so far. */
  readonly connections: () => number;
  readonly close: () => Promise<void>;
}

export async function startCanary(): Promise<Canary> {
  let seen = 0;
  const server = net.createServer((socket) => {
    seen += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return { port, connections: () => seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/**
 * Runs `kubectl get events --watch-only` in `namespace` in the background, into a file (the tier's
 * pulumi runs block the event loop), until `stop`, which returns one `TYPE reason kind/name message`
 * line per watch event seen (TYPE: ADDED, MODIFIED for a repeated event, DELETED): events a
 * namespace's deletion would otherwise take with it, and does (as DELETED lines).
 */
export function watchEvents(rig: RigEnv, namespace: string): { stop: () => Promise<string[]> } {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "fleet-rig-events-")), "events");
  const out = fs.openSync(file, "w");
  const child = spawn("kubectl", ["get", "events", "-n", namespace, "--watch-only", "--output-watch-events", "-o",
    "jsonpath={.type} {.object.reason} {.object.involvedObject.kind}/{.object.involvedObject.name} {.object.message}{\"\\n\"}"], { env: { ...process.env, ...rig.env }, stdio: ["ignore", out, out] });
  return {
    stop: async () => {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once("exit", r)));
      fs.closeSync(out);
      const lines = fs.readFileSync(file, "utf8").split("\n").filter(Boolean);
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
      return lines;
    },
  };
}

/** Every process descended from `pid` (by /proc/<pid>/stat's parent), `pid` first. */
export function processTree(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of parents.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
}

/**
 * SIGKILL to `child` and every process under it, by the PIDs read just before: plugins run in
 * process groups of their own and would outlive a kill of the CLI's group alone.
 */
export async function killTree(child: ChildProcess): Promise<number[]> {
  const pids = processTree(child.pid!);
  const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once("exit", resolve));
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await exited;
  return pids;
}
