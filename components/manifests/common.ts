/**
 * Builders every concern shares: object metadata, namespaces, Flux SSH source secrets, GitHub's
 * host keys and SSH URLs, and repository files serialised by the `yaml` library (byte-stable).
 */
import { posix } from "path";
import type * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { SSH_SECRET_KEYS } from "../constants";

/** GitHub's published SSH host keys (https://api.github.com/meta, "ssh_keys"), in known_hosts form. */
export const GITHUB_KNOWN_HOSTS = [
  "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
  "github.com ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg=",
  "github.com ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQCj7ndNxQowgcQnjshcLrqPEiiphnt+VTTvDP6mHBL9j1aNUkY4Ue1gvwnGLVlOhGeYrnZaMgRK6+PKCUXaDbC7qtbW8gIkhL7aGCsOr/C56SJMy/BCZfxd1nWzAOxSDPgVsmerOBYfNqltV9/hWCqBywINIR+5dIg6JTJ72pcEpEjcYgXkE2YEFXV1JHnsKgbLWNlhScqb2UmyRkQyytRLtL+38TGxkxCflmO+5Z8CSSNY7GidjMIZ7Q4zMjA2n1nGrlTDkzwDCsw+wqFPGQA179cnfGWOWRVruj16z6XyvxvjJwbz0wQZ75XK5tKSb7FNyeIEs4TT4jk+S4dhPeAUC5y+bDYirYgM4GC7uEnztnZyaVWQ7B381AK4Qdrwt51ZqExKbQpTUNn+EjqoTwvqNj4kqx5QUCI0ThS/YkOxJCXmPUWZbhjpCg56i+2aB6CmK2JGhn57K5mj0MNdBXA4/WnwH6XoPWJzK5Nyu2zB3nAZp+S5hpQs+p1vN1/wsjk=",
].join("\n") + "\n";

/**
 * Flux source URL for a GitHub repository over SSH. source-controller needs the `ssh://` form;
 * it rejects the scp form `git@github.com:owner/repo`. `host` may carry a port (`host:2222`).
 */
export function sshUrl(owner: string, repository: string, host = "github.com"): string {
  return `ssh://git@${host}/${owner}/${repository}.git`;
}

/** Kubernetes object metadata builder with a stable key order. */
export function metadata(name: string, namespace?: string, labels?: Record<string, string>) {
  return { name, ...(namespace ? { namespace } : {}), ...(labels ? { labels } : {}) };
}

export function namespace(name: string, labels?: Record<string, string>, annotations?: Record<string, string>) {
  return { apiVersion: "v1" as const, kind: "Namespace" as const, metadata: { ...metadata(name, undefined, labels), ...(annotations ? { annotations } : {}) } };
}

export interface SshSecretArgs {
  readonly name: string;
  readonly namespace: string;
  /** OpenSSH private key; pass a Pulumi secret. */
  readonly identity: pulumi.Input<string>;
  readonly identityPub: pulumi.Input<string>;
  /** known_hosts lines for the Git host. @default GitHub's published keys */
  readonly knownHosts?: string;
  readonly labels?: Record<string, string>;
}

/** A Flux SSH source secret (`identity`, `identity.pub`, `known_hosts`), as `flux create secret git` makes it. */
export function sshSecret(args: SshSecretArgs) {
  return {
    apiVersion: "v1" as const,
    kind: "Secret" as const,
    metadata: metadata(args.name, args.namespace, args.labels),
    type: "Opaque",
    stringData: {
      [SSH_SECRET_KEYS.identity]: args.identity,
      [SSH_SECRET_KEYS.identityPub]: args.identityPub,
      [SSH_SECRET_KEYS.knownHosts]: args.knownHosts ?? GITHUB_KNOWN_HOSTS,
    },
  };
}

/** A file to commit to a repository. */
export interface RepoFile {
  readonly path: string;
  readonly content: string;
}

export function yamlFile(path: string, ...docs: object[]): RepoFile {
  return { path, content: docs.map((d) => stringify(d, { lineWidth: 0 })).join("---\n") };
}

/**
 * A repository path flattened as `flux bootstrap` stores `--path` (securejoin within the root,
 * fluxcd/flux2 v2.9.5 internal/flags/safe_relative_path.go), without its `./`: `..` cannot leave
 * the root, `//` and `.` collapse, `./clusters//prod/` → `clusters/prod`.
 */
export function flattenedPath(path: string): string {
  return posix.normalize(`/${path.trim()}`).replace(/^\/+|\/+$/g, "");
}

/** Strips a leading `./` and trailing `/`: `./flux/staging/` → `flux/staging`. */
export function cleanPath(path: string): string {
  return path.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
}
