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

/** Whether kubectl's error says the API server has no such kind (its CRD is not installed): no object of it exists. */
export function unknownKind(message: string): boolean {
  return /the server doesn't have a resource type/.test(message);
}

/** A Kubernetes object, or a Helm release (by its release name), that may be in the cluster. */
export type KubeTarget = { readonly apiVersion: string; readonly kind: string; readonly name: string; readonly namespace?: string } | { readonly helmRelease: string; readonly namespace: string };

/**
 * Whether the cluster (`args`: --kubeconfig/--context) has `target`; a string when it could not be
 * asked (why). One object at a time: no list of a kind across the cluster (a list of Secrets would
 * read every Secret's data). A kind the API server does not have (its CRD absent) has no object.
 */
export function objectExists(args: readonly string[], target: KubeTarget, env: NodeJS.ProcessEnv): boolean | string {
  try {
    const ns = target.namespace ? ["-n", target.namespace] : [];
    if ("helmRelease" in target) {
      // Helm keeps each release revision in a Secret labelled owner=helm, name=<release>.
      return kubectlJson([...args, "get", "secrets", ...ns, "-l", `owner=helm,name=${target.helmRelease}`], env).items.length > 0;
    }
    // With --ignore-not-found, a missing object is no output (kubectlJson: an empty list).
    return "metadata" in kubectlJson([...args, "get", resourceArg(target), target.name, ...ns, "--ignore-not-found"], env);
  } catch (e) {
    const message = (e as Error).message;
    if (unknownKind(message)) return false;
    return message.split("\n")[0];
  }
}
