/**
 * kubectl, as the commands use it (drift, recover): on PATH or $KUBECTL, with the environment's
 * KUBECONFIG or the command's --kubeconfig and --context.
 */
import { spawnSync } from "child_process";

/**
 * kubectl's fully qualified `TYPE.VERSION.GROUP` for an object. The core group is the empty one, so
 * its form ends in a dot (`ConfigMap.v1.`): `ConfigMap.v1` would read `v1` as a group name, and
 * kubectl answers `the server doesn't have a resource type "ConfigMap"`.
 */
export function resourceArg(o: { readonly apiVersion: string; readonly kind: string }): string {
  const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
  return `${o.kind}.${version}.${group}`;
}

/** Runs kubectl; the parsed JSON of its stdout. */
export function kubectlJson(args: readonly string[], env: NodeJS.ProcessEnv): any {
  const bin = env.KUBECTL ?? "kubectl";
  const r = spawnSync(bin, [...args, "-o", "json"], { env, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw new Error(`cannot run ${bin}: ${r.error.message} (install kubectl, or set KUBECTL)`);
  if (r.status !== 0) throw new Error(`${bin} ${args.join(" ")} exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout.trim() ? JSON.parse(r.stdout) : { items: [] };
}
