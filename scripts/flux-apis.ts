/**
 * npm run flux-apis -- [--write]
 *
 * Regenerates `scripts/lib/flux-api-versions.json`, the API versions each Flux minor serves, from Flux's own
 * Go modules, and checks the checked-in table against them (exit 1 on a difference; --write writes
 * it instead). Needs `go` and a Go module proxy (the rig's machine has both); the offline tests read
 * the checked-in table only.
 *
 * For each Flux release in FLUX_RELEASES (one per minor):
 * - the api modules it builds with: the `require`s of `github.com/fluxcd/flux2/v2`'s go.mod at that
 *   tag (`go mod download -json github.com/fluxcd/flux2/v2@vX`);
 * - each api module's kinds and versions: every `vN[alpha|beta]M` package's types marked
 *   `+kubebuilder:object:root=true`, in the group of its `+groupName=` marker. A type marked
 *   `+kubebuilder:skipversion` is left out of the CRD controller-gen makes from it, so that version
 *   is not served; `+kubebuilder:storageversion` marks the storage version, and
 *   `+kubebuilder:deprecatedversion` a served but deprecated one. These are the markers Flux's
 *   CRDs are generated from (each controller's `make manifests`, controller-gen `crd` on `./api/...`).
 * API versions change only in minor releases, so one patch per minor stands for the minor.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { FLUX_API_MODULES, OPTIONAL_API_MODULES, FluxApiTable, KindVersions, TABLE_PATH } from "./lib/flux-apis";

/**
 * The flux2 tag read for each minor: the highest whose api modules the Go module proxy served, every
 * one, when the table was made (2.8.3 requires notification-controller/api v1.8.2, which it refused).
 */
export const FLUX_RELEASES = ["2.6.4", "2.7.5", "2.8.1", "2.9.4"] as const;

/** `go mod download -json MODULE@VERSION`: the module's directory and go.mod. */
function download(module: string, version: string): { Dir: string; GoMod: string } {
  const r = spawnSync("go", ["mod", "download", "-json", `${module}@${version}`], { encoding: "utf8", env: { ...process.env, GOFLAGS: "-mod=mod", GOTOOLCHAIN: process.env.GOTOOLCHAIN ?? "local" } });
  if (r.error) throw new Error(`cannot run go: ${r.error.message} (install Go; this command reads Flux's Go modules)`);
  // On a refusal go exits 1 with the reason in the JSON's Error.
  const info = r.stdout.trim() ? JSON.parse(r.stdout) : {};
  if (info.Error || r.status !== 0) throw new Error(`${module}@${version}: ${info.Error ?? r.stderr.trim()}`);
  return info;
}

/** The versions of the api modules a flux2 go.mod requires. */
export function apiRequires(goMod: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of [...FLUX_API_MODULES, ...OPTIONAL_API_MODULES]) {
    const found = new RegExp(`^\\s*(?:require\\s+)?${m.replace(/[.]/g, "\\.")}\\s+(v\\S+)`, "m").exec(goMod);
    if (found) out[m] = found[1];
    else if ((FLUX_API_MODULES as readonly string[]).includes(m)) throw new Error(`flux2's go.mod requires no ${m}`);
  }
  return out;
}

/**
 * The kinds of one api module's version packages: `group/Kind` → served versions, the storage
 * version and the deprecated ones, from the kubebuilder markers above each root type.
 */
export function kindsOf(files: ReadonlyMap<string, string>): Record<string, KindVersions> {
  const out: Record<string, { served: string[]; storage?: string; deprecated: string[] }> = {};
  const groups = new Map<string, string>();
  for (const [file, text] of files) {
    const g = /\+groupName=(\S+)/.exec(text);
    if (g) groups.set(path.dirname(file), g[1]);
  }
  for (const [file, text] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const version = path.dirname(file);
    const group = groups.get(version);
    if (!group) continue;
    const lines = text.split("\n");
    lines.forEach((line, i) => {
      const type = /^type (\w+) struct/.exec(line);
      if (!type || type[1].endsWith("List")) return;
      const markers: string[] = [];
      // The comment block above the type, and the block before it when one blank line parts them:
      // controller-gen reads type markers from both (sigs.k8s.io/controller-tools markers/collect.go).
      let j = i - 1;
      for (; j >= 0 && lines[j].startsWith("//"); j--) markers.push(lines[j]);
      if (j > 0 && lines[j].trim() === "") for (j--; j >= 0 && lines[j].startsWith("//"); j--) markers.push(lines[j]);
      if (!markers.some((m) => m.includes("+kubebuilder:object:root=true"))) return;
      const key = `${group}/${type[1]}`;
      const entry = (out[key] ??= { served: [], deprecated: [] });
      if (markers.some((m) => m.includes("+kubebuilder:skipversion"))) return;
      entry.served.push(version);
      if (markers.some((m) => m.includes("+kubebuilder:storageversion"))) entry.storage = version;
      if (markers.some((m) => m.includes("+kubebuilder:deprecatedversion"))) entry.deprecated.push(version);
    });
  }
  for (const [key, e] of Object.entries(out)) {
    if (!e.storage && e.served.length === 1) e.storage = e.served[0];
    if (!e.storage) throw new Error(`${key} has no storage version among ${e.served.join(", ")}`);
  }
  return out as Record<string, KindVersions>;
}

function readModule(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const v of fs.readdirSync(dir).filter((d) => /^v\d+((alpha|beta)\d+)?$/.test(d))) {
    for (const f of fs.readdirSync(path.join(dir, v)).filter((n) => n.endsWith(".go") && !n.endsWith("_test.go") && !n.startsWith("zz_generated"))) {
      files.set(`${v}/${f}`, fs.readFileSync(path.join(dir, v, f), "utf8"));
    }
  }
  return files;
}

export function generate(): FluxApiTable {
  const minors: FluxApiTable["minors"] = {};
  for (const release of FLUX_RELEASES) {
    const flux2 = download("github.com/fluxcd/flux2/v2", `v${release}`);
    const requires = apiRequires(fs.readFileSync(flux2.GoMod, "utf8"));
    const kinds: Record<string, KindVersions> = {};
    for (const [module, version] of Object.entries(requires)) Object.assign(kinds, kindsOf(readModule(download(module, version).Dir)));
    const minor = release.split(".").slice(0, 2).join(".");
    minors[minor] = { release, modules: requires, kinds: Object.fromEntries(Object.entries(kinds).sort(([a], [b]) => a.localeCompare(b))) };
  }
  return { generatedBy: "npm run flux-apis -- --write (scripts/flux-apis.ts)", minors };
}

if (require.main === module) {
  try {
    const table = generate();
    const text = JSON.stringify(table, null, 2) + "\n";
    if (process.argv.includes("--write")) {
      fs.writeFileSync(TABLE_PATH, text);
      console.log(`wrote ${path.relative(process.cwd(), TABLE_PATH)}: Flux ${Object.keys(table.minors).join(", ")}`);
    } else if (fs.readFileSync(TABLE_PATH, "utf8") !== text) {
      console.error(`flux-apis: ${TABLE_PATH} differs from what Flux's modules say; run npm run flux-apis -- --write and review the diff`);
      process.exit(1);
    } else {
      console.log(`flux-apis: the table matches Flux's modules for ${FLUX_RELEASES.map((r) => `v${r}`).join(", ")}`);
    }
  } catch (e) {
    console.error(`flux-apis: ${(e as Error).message}`);
    process.exit(2);
  }
}
