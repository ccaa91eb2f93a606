/**
 * The API versions each Flux minor serves, kind by kind: `flux-api-versions.json`, made from Flux's Go
 * modules by `npm run flux-apis` (scripts/flux-apis.ts says how), never written by hand.
 */
import * as fs from "fs";
import * as path from "path";

/** The api modules of Flux's controllers, as flux2's go.mod requires them. */
export const FLUX_API_MODULES = [
  "github.com/fluxcd/source-controller/api",
  "github.com/fluxcd/kustomize-controller/api",
  "github.com/fluxcd/helm-controller/api",
  "github.com/fluxcd/notification-controller/api",
  "github.com/fluxcd/image-reflector-controller/api",
  "github.com/fluxcd/image-automation-controller/api",
] as const;

/** source-watcher's (ArtifactGenerator, from Flux 2.7), where a release requires it. */
export const OPTIONAL_API_MODULES = ["github.com/fluxcd/source-watcher/api/v2"] as const;

/** One kind in one Flux minor: the versions its CRD serves, which one etcd stores, which are deprecated. */
export interface KindVersions {
  readonly served: readonly string[];
  readonly storage: string;
  readonly deprecated: readonly string[];
}

export interface FluxApiTable {
  readonly generatedBy: string;
  /** By minor (`2.9`): the flux2 release read, its api modules' versions, and `group/Kind` → versions. */
  readonly minors: Record<string, { readonly release: string; readonly modules: Record<string, string>; readonly kinds: Record<string, KindVersions> }>;
}

export const TABLE_PATH = path.join(__dirname, "flux-api-versions.json");

export const fluxApis = (): FluxApiTable => JSON.parse(fs.readFileSync(TABLE_PATH, "utf8"));

/** `2.9` of `2.9.4`, `v2.9.4@sha256:…` or `2.9.x`. */
export function minorOf(version: string): string | undefined {
  const m = /^[~^v]?(\d+)\.(\d+)/.exec(version);
  return m ? `${m[1]}.${m[2]}` : undefined;
}

/** The Flux API groups: every group a Flux minor's table names. */
export function fluxGroups(table: FluxApiTable): Set<string> {
  return new Set(Object.values(table.minors).flatMap((m) => Object.keys(m.kinds).map((k) => k.split("/")[0])));
}
