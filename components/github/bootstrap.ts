/**
 * Taking over a cluster that `flux bootstrap github` set up (`fleet:flux.takeOverBootstrap`):
 * once the FluxInstance is Ready with this stack's own key, the deploy key bootstrap made on the
 * fleet repository for that cluster is revoked, as a Pulumi dynamic resource over GitHub's REST API.
 *
 * bootstrap titles its key `<namespace>-<branch>-<secret name>-<path>`: fluxcd/flux2 v2.9.5
 * pkg/bootstrap/bootstrap_provider.go:289 (`deployKeyName(options.Namespace, b.branch,
 * options.Name, options.TargetPath)`) and :611 (the non-empty parts joined by `-`), with the
 * namespace and secret name `flux-system`, `--branch` (default `main`, cmd/flux/bootstrap.go:97)
 * and `--path` as `flags.SafeRelativePath` stores it: securejoin-flattened and prefixed with `./`
 * (internal/flags/safe_relative_path.go), so `--path=clusters/production/` titles the key
 * `flux-system-main-flux-system-./clusters/production`. Only a key with exactly that title is
 * revoked: another cluster bootstrapped from the same repository has another path, so another
 * title, and keeps its key.
 */
import * as pulumi from "@pulumi/pulumi";
import { flattenedPath } from "../manifests/common";
import { providerRef } from "../provider-ref";
import { GitHubRequest, WithCode, diffOf, failure, fetchGitHub } from "./client";

/** The title `flux bootstrap github --branch=<branch> --path=<path>` gives its deploy key. */
export function bootstrapKeyTitle(branch: string, path: string): string {
  return `flux-system-${branch}-flux-system-./${flattenedPath(path)}`;
}

export interface BootstrapKeyRevocationSpec {
  readonly owner: string;
  readonly repository: string;
  /** Deploy keys with this title are revoked. */
  readonly title: string;
}

export interface BootstrapKeyRevocationState extends BootstrapKeyRevocationSpec {
  /** What was revoked: `<id> <title>`, empty when no such key was there. */
  readonly revoked: readonly string[];
}

export class BootstrapKeyRevocationProvider implements pulumi.dynamic.ResourceProvider {
  constructor(private readonly request: GitHubRequest = fetchGitHub) {}

  async create(inputs: BootstrapKeyRevocationSpec): Promise<pulumi.dynamic.CreateResult<BootstrapKeyRevocationState>> {
    const repo = `/repos/${encodeURIComponent(inputs.owner)}/${encodeURIComponent(inputs.repository)}`;
    const keys: { id: number; title: string }[] = [];
    // GitHub pages the list by 100 at most (REST API, "List deploy keys").
    for (let page = 1; page <= 50; page++) {
      const answer = await this.request("GET", `${repo}/keys?per_page=100&page=${page}`);
      if (answer.status !== 200) throw failure(`listing the deploy keys of ${inputs.owner}/${inputs.repository}`, answer);
      const batch = Array.isArray(answer.body) ? answer.body : [];
      keys.push(...batch);
      if (batch.length < 100) break;
    }
    const revoked: string[] = [];
    for (const key of keys.filter((k) => k.title === inputs.title)) {
      const answer = await this.request("DELETE", `${repo}/keys/${key.id}`);
      // 404: revoked meanwhile, by hand or by another run.
      if (answer.status !== 204 && answer.status !== 404) throw failure(`revoking deploy key ${key.id} (${key.title}) of ${inputs.owner}/${inputs.repository}`, answer);
      revoked.push(`${key.id} ${key.title}`);
    }
    return { id: `${inputs.owner}/${inputs.repository}:bootstrap-key`, outs: { ...inputs, revoked } };
  }

  async diff(_id: string, olds: WithCode<BootstrapKeyRevocationState>, news: WithCode<BootstrapKeyRevocationSpec>): Promise<pulumi.dynamic.DiffResult> {
    // Another title or another repository: revoke again (a replacement is a new create).
    return diffOf<BootstrapKeyRevocationSpec>(olds, news, ["owner", "repository", "title"]);
  }

  async update(_id: string, olds: BootstrapKeyRevocationState, news: BootstrapKeyRevocationSpec): Promise<pulumi.dynamic.UpdateResult<BootstrapKeyRevocationState>> {
    return { outs: { ...news, revoked: olds.revoked } };
  }

  async read(id: string, props?: BootstrapKeyRevocationState): Promise<pulumi.dynamic.ReadResult<BootstrapKeyRevocationState>> {
    return { id, props };
  }

  /** A revoked key is not restored: bootstrap's Secret holding it is not this stack's either. */
  async delete(): Promise<void> {}
}

export interface BootstrapKeyRevocationArgs {
  readonly owner: pulumi.Input<string>;
  readonly repository: pulumi.Input<string>;
  readonly title: pulumi.Input<string>;
}

export const bootstrapKeyRevocationProvider = new BootstrapKeyRevocationProvider();
const storedProvider = providerRef("./components/github/bootstrap", "bootstrapKeyRevocationProvider");

/** Revokes the deploy key `flux bootstrap github` made for this cluster, once what it dependsOn is done. */
export class BootstrapKeyRevocation extends pulumi.dynamic.Resource {
  declare readonly revoked: pulumi.Output<string[]>;
  constructor(name: string, args: BootstrapKeyRevocationArgs, opts?: pulumi.CustomResourceOptions, request?: GitHubRequest) {
    super(request ? new BootstrapKeyRevocationProvider(request) : storedProvider, name, { ...args, revoked: undefined }, opts, "fleet", "BootstrapKeyRevocation");
  }
}
