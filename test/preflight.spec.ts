/**
 * The upgrade preflight (scripts/preflight.ts, scripts/lib/preflight.ts) and the table it judges by
 * (scripts/lib/flux-api-versions.json, made by scripts/flux-apis.ts from Flux's Go modules; the real
 * tier regenerates it and compares). The real tier shows the preflight on a cluster and githubd.
 */
import { strict as assert } from "assert";
import * as semver from "semver";
import { DEFAULTS } from "../components/config";
import { apiRequires, FLUX_RELEASES, kindsOf } from "../scripts/flux-apis";
import { fluxApis, minorOf } from "../scripts/lib/flux-apis";
import { changesMinor, preflight, PreflightInput, renderFindings } from "../scripts/lib/preflight";
import { currentVersion, liveObjects, tenantFiles, tenantSources } from "../scripts/preflight";
import { runProgram, stackConfigAt, REPO_ROOT } from "../scripts/lib/evaluate";
import type { GitHubRequest } from "../components/github/client";

const table = fluxApis();
const served = (minor: string, kind: string) => table.minors[minor]?.kinds[kind]?.served;

describe("Flux API versions table (scripts/lib/flux-api-versions.json)", () => {
  it("has a minor for every Flux version the program can install under the lockdown, read from the release named", () => {
    for (const [operator, versions] of Object.entries(DEFAULTS.embeddedFluxVersions)) {
      for (const v of versions.filter((x) => semver.gte(x, "2.7.0"))) {
        assert.ok(table.minors[minorOf(v)!], `Flux ${v} (operator ${operator}) has no row: add its release to FLUX_RELEASES and run npm run flux-apis -- --write`);
      }
    }
    assert.deepEqual(Object.values(table.minors).map((m) => m.release), [...FLUX_RELEASES]);
  });

  it("pins what each minor removed, as Flux's modules mark it (+kubebuilder:skipversion)", () => {
    // 2.7: the v1beta1s and HelmRelease v2beta1 are gone.
    assert.deepEqual(served("2.6", "source.toolkit.fluxcd.io/GitRepository"), ["v1", "v1beta1", "v1beta2"]);
    assert.deepEqual(served("2.7", "source.toolkit.fluxcd.io/GitRepository"), ["v1", "v1beta2"]);
    assert.deepEqual(served("2.7", "helm.toolkit.fluxcd.io/HelmRelease"), ["v2", "v2beta2"]);
    // 2.8: source, kustomize v1beta2 and HelmRelease v2beta2 (the upgrade that failed HelmReleases).
    assert.deepEqual(served("2.8", "helm.toolkit.fluxcd.io/HelmRelease"), ["v2"]);
    assert.deepEqual(served("2.8", "kustomize.toolkit.fluxcd.io/Kustomization"), ["v1"]);
    assert.deepEqual(served("2.8", "source.toolkit.fluxcd.io/HelmRepository"), ["v1"]);
    assert.deepEqual(served("2.8", "notification.toolkit.fluxcd.io/Alert"), ["v1beta2", "v1beta3"]);
    assert.deepEqual(served("2.8", "image.toolkit.fluxcd.io/ImagePolicy"), ["v1", "v1beta2"]);
    // 2.9: notification and image v1beta2.
    assert.deepEqual(served("2.9", "notification.toolkit.fluxcd.io/Alert"), ["v1beta3"]);
    assert.deepEqual(served("2.9", "notification.toolkit.fluxcd.io/Receiver"), ["v1"]);
    assert.deepEqual(served("2.9", "image.toolkit.fluxcd.io/ImagePolicy"), ["v1"]);
    assert.equal(table.minors["2.9"].kinds["notification.toolkit.fluxcd.io/Provider"].storage, "v1beta3");
    assert.equal(table.minors["2.9"].modules["github.com/fluxcd/source-controller/api"], "v1.9.4");
  });

  it("reads kinds from kubebuilder markers the way controller-gen does, and the api modules from flux2's go.mod", () => {
    const files = new Map([
      ["v1/doc.go", "// +groupName=x.toolkit.fluxcd.io\npackage v1\n"],
      ["v1/a_types.go", "// +kubebuilder:object:root=true\n// +kubebuilder:storageversion\n\n// A is a kind.\ntype A struct {\n}\n\n// +kubebuilder:object:root=true\ntype AList struct {\n}\n\ntype ASpec struct {\n}\n"],
      ["v1beta1/doc.go", "// +groupName=x.toolkit.fluxcd.io\npackage v1beta1\n"],
      ["v1beta1/a_types.go", "// +kubebuilder:object:root=true\n// +kubebuilder:skipversion\ntype A struct {\n}\n"],
      ["v1beta2/doc.go", "// +groupName=x.toolkit.fluxcd.io\npackage v1beta2\n"],
      ["v1beta2/a_types.go", "// +kubebuilder:object:root=true\n// +kubebuilder:deprecatedversion:warning=\"old\"\ntype A struct {\n}\n"],
    ]);
    assert.deepEqual(kindsOf(files), { "x.toolkit.fluxcd.io/A": { served: ["v1", "v1beta2"], deprecated: ["v1beta2"], storage: "v1" } });
    const mod = "module m\n\nrequire (\n\tgithub.com/fluxcd/helm-controller/api v1.6.3\n\tgithub.com/fluxcd/image-automation-controller/api v1.2.4\n\tgithub.com/fluxcd/image-reflector-controller/api v1.2.4\n\tgithub.com/fluxcd/kustomize-controller/api v1.9.4\n\tgithub.com/fluxcd/notification-controller/api v1.9.3\n\tgithub.com/fluxcd/source-controller/api v1.9.4\n)\n";
    assert.equal(apiRequires(mod)["github.com/fluxcd/kustomize-controller/api"], "v1.9.4");
    assert.equal(apiRequires(mod)["github.com/fluxcd/source-watcher/api/v2"], undefined, "optional");
    assert.throws(() => apiRequires("module m\n"), /requires no github.com\/fluxcd\/source-controller\/api/);
  });
});

const base = (over: Partial<PreflightInput>): PreflightInput => ({ table, target: "2.9.4", current: "2.8.8", crds: [], live: [], files: [], ...over });

describe("upgrade preflight: the judgement", () => {
  it("refuses a CRD that still stores a version the target drops, with flux migrate as the fix", () => {
    const findings = preflight(base({ target: "2.8.1", current: "2.7.5", crds: [{ name: "helmreleases.helm.toolkit.fluxcd.io", group: "helm.toolkit.fluxcd.io", kind: "HelmRelease", storedVersions: ["v2beta2", "v2"] }] }));
    assert.equal(findings.length, 1);
    assert.equal(findings[0].where, "CRD helmreleases.helm.toolkit.fluxcd.io");
    assert.match(findings[0].problem, /storedVersions still holds v2beta2, which Flux 2\.8 no longer serves/);
    assert.match(findings[0].fix, /flux migrate.*\(2\.7\.5\).*at v2 and leaves storedVersions \[v2\]/);
    assert.deepEqual(preflight(base({ target: "2.8.1", crds: [{ name: "helmreleases.helm.toolkit.fluxcd.io", group: "helm.toolkit.fluxcd.io", kind: "HelmRelease", storedVersions: ["v2"] }] })), []);
  });

  it("refuses a live object with managedFields entries at a dropped version (any manager, as flux migrate rewrites them all), naming its tenant, once", () => {
    const live = liveObjects(
      [{ kind: "Alert", metadata: { name: "slack", namespace: "team-a", managedFields: [
        { manager: "kustomize-controller", operation: "Apply", apiVersion: "notification.toolkit.fluxcd.io/v1beta2" },
        { manager: "notification-controller", operation: "Apply", apiVersion: "notification.toolkit.fluxcd.io/v1beta3" },
        { manager: "notification-controller", operation: "Update", subresource: "status", apiVersion: "notification.toolkit.fluxcd.io/v1beta2" },
      ] } }, { kind: "Alert", metadata: { name: "migrated", namespace: "team-a", managedFields: [
        { manager: "kustomize-controller", operation: "Apply", apiVersion: "notification.toolkit.fluxcd.io/v1beta3" },
      ] } }],
      (ns) => (ns === "team-a" ? "team-a" : undefined),
    );
    const findings = preflight(base({ live }));
    assert.equal(findings.length, 1, JSON.stringify(findings));
    assert.equal(findings[0].where, "Alert team-a/slack (tenant team-a)");
    assert.equal(findings[0].problem, "kustomize-controller (Apply) holds fields at notification.toolkit.fluxcd.io/v1beta2; notification-controller (Update status) holds fields at notification.toolkit.fluxcd.io/v1beta2, which Flux 2.9 no longer serves");
    assert.match(findings[0].fix, /^run `flux migrate` against this cluster: it rewrites every managedFields entry at notification\.toolkit\.fluxcd\.io\/v1beta3; the file it comes from must say notification\.toolkit\.fluxcd\.io\/v1beta3 too/);
  });

  it("refuses a tenant file at a dropped version, naming tenant, repository and file; leaves other groups and served versions alone", () => {
    const files = [{
      tenant: "team-a", source: "acme/team-a-deploy@main", path: "flux/staging/images.yaml",
      documents: [
        { apiVersion: "image.toolkit.fluxcd.io/v1beta2", kind: "ImagePolicy", name: "app" },
        { apiVersion: "image.toolkit.fluxcd.io/v1", kind: "ImageRepository", name: "app" },
        { apiVersion: "apps/v1", kind: "Deployment", name: "app" },
        { apiVersion: "example.com/v1beta2", kind: "Widget", name: "w" },
      ],
    }];
    const findings = preflight(base({ files }));
    assert.deepEqual(findings.map((f) => f.where), ["tenant team-a: acme/team-a-deploy@main:flux/staging/images.yaml"]);
    assert.match(findings[0].problem, /^ImagePolicy app is image\.toolkit\.fluxcd\.io\/v1beta2, which Flux 2\.9 no longer serves/);
    assert.match(findings[0].fix, /image\.toolkit\.fluxcd\.io\/v1 \(`flux migrate -f flux\/staging\/images\.yaml --version=2\.9`/);
    assert.deepEqual(preflight(base({ target: "2.8.1", files })), [], "2.8 still serves it");
  });

  it("refuses a target the table does not know, naming how to add it; a minor change is what it judges", () => {
    assert.throws(() => preflight(base({ target: "2.10.0" })), /Flux 2\.10\.0: its API versions are not in scripts\/lib\/flux-api-versions\.json.*npm run flux-apis -- --write/);
    assert.equal(changesMinor("2.9.1", "2.9.4"), false);
    assert.equal(changesMinor("2.8.8", "2.9.4"), true);
    assert.equal(changesMinor(undefined, "2.9.4"), true, "a cluster with no Flux it can tell: checked");
  });

  it("reports nothing changed, and what to do", () => {
    assert.match(renderFindings("staging", "2.8.8", "2.9.4", []), /^preflight staging: Flux 2\.8\.8 -> 2\.9\.4: nothing stored or used/);
    const text = renderFindings("staging", "2.8.8", "2.9.4", [{ where: "w", problem: "p", fix: "f" }]);
    assert.match(text, /REFUSED, 1 use of API versions 2\.9\.4 no longer serves:\n- w\n {4}p\n {4}fix: f\nNothing was changed/);
  });
});

describe("upgrade preflight: what it reads", () => {
  it("the version a cluster runs: the FluxInstance's last applied revision, else flux bootstrap's CRD label", () => {
    assert.equal(currentVersion([], [{ status: { lastAppliedRevision: "v2.9.4@sha256:0123" } }]), "2.9.4");
    assert.equal(currentVersion([{ metadata: { labels: { "app.kubernetes.io/version": "v2.8.3" } } }], []), "2.8.3");
    assert.equal(currentVersion([], []), undefined);
  });

  it("each tenant's repository, branch and synced path, from the program's own registrations", async () => {
    const { config, secretKeys } = stackConfigAt(REPO_ROOT, "staging");
    const result = await runProgram({ stack: "staging", config, secretKeys, preview: true, computed: false });
    assert.ifError(result.error);
    const sources = tenantSources(result.resources);
    const tenants = config["fleet:tenants"] as { name: string }[];
    assert.ok(tenants.length >= 2);
    assert.deepEqual(sources.map((s) => s.tenant).sort(), tenants.map((t) => t.name).sort());
    for (const s of sources) {
      assert.equal(s.owner, "acme-org");
      assert.match(s.path, /^([\w.-]+\/)*flux\/staging$/, s.tenant);
      assert.ok(s.namespaces.length >= 1 && s.branch, s.tenant);
    }
  });

  it("walks a tenant's path through GitHub's contents API: directories, base64 files, many documents; a missing path is a note", async () => {
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const paths: string[] = [];
    const request: GitHubRequest = async (_m, p) => {
      paths.push(p);
      const at = p === "/repos/acme/shop" ? p : p.replace(/^\/repos\/acme\/shop\/contents\/?/, "").replace(/\?ref=main$/, "");
      switch (at) {
        case "flux/staging": return { status: 200, body: [{ type: "file", path: "flux/staging/kustomization.yaml" }, { type: "dir", path: "flux/staging/apps" }, { type: "file", path: "flux/staging/README.md" }] };
        case "flux/staging/apps": return { status: 200, body: [{ type: "file", path: "flux/staging/apps/hr.yml" }] };
        case "flux/staging/kustomization.yaml": return { status: 200, body: { content: b64("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n") } };
        case "flux/staging/apps/hr.yml": return { status: 200, body: { content: b64("apiVersion: helm.toolkit.fluxcd.io/v2beta2\nkind: HelmRelease\nmetadata: {name: web}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n") } };
        case "/repos/acme/shop": return { status: 200, body: { name: "shop" } };
        default: return { status: 404, body: { message: "Not Found" } };
      }
    };
    const source = { tenant: "shop", namespaces: ["shop"], owner: "acme", repo: "shop", branch: "main", path: "flux/staging" };
    const { files, notes } = await tenantFiles(source, request);
    assert.deepEqual(files.map((f) => [f.path, f.documents.map((d) => `${d.apiVersion} ${d.kind} ${d.name ?? ""}`.trim())]), [
      ["flux/staging/kustomization.yaml", ["kustomize.config.k8s.io/v1beta1 Kustomization"]],
      ["flux/staging/apps/hr.yml", ["helm.toolkit.fluxcd.io/v2beta2 HelmRelease web", "v1 ConfigMap c"]],
    ]);
    assert.deepEqual(notes, []);
    assert.ok(!paths.some((p) => p.includes("README")), "only YAML is read");
    const findings = preflight(base({ target: "2.8.1", files }));
    assert.deepEqual(findings.map((f) => f.where), ["tenant shop: acme/shop@main:flux/staging/apps/hr.yml"]);

    const missing = await tenantFiles({ ...source, path: "flux/production" }, request);
    assert.deepEqual(missing.files, []);
    assert.match(missing.notes[0], /acme\/shop@main has no flux\/production/);
    // A repository GitHub answers 404 for: not made yet, if this stack makes it; else unreadable, an error.
    const gone = { ...source, repo: "gone" };
    assert.match((await tenantFiles({ ...gone, create: true }, request)).notes[0], /acme\/gone does not exist yet/);
    await assert.rejects(tenantFiles(gone, request), /GitHub answers 404 for acme\/gone, which this stack looks up: the token cannot see it/);
    await assert.rejects(tenantFiles(source, async () => ({ status: 401, body: { message: "Bad credentials" } })), /GitHub answered 401 for acme\/shop@main:flux\/staging/);
  });
});
