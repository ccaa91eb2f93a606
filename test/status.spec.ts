/**
 * npm run status (scripts/status.ts): each cell's state from Flux objects as the controllers write
 * them, the branch head against the applied revision, the matrix text and the exit rule. The real
 * tier reads a live cluster through a stack's outputs (test/real/fleet.spec.ts, 4g).
 */
import { strict as assert } from "assert";
import { repositoryOf } from "../components/github/client";
import { age, Cell, cellsOf, FluxObject, renderMatrix, stateOf, unhealthy } from "../scripts/lib/fleet-status";

const T0 = "2026-12-07T10:00:00Z";
const NOW = new Date("2026-12-07T12:30:00Z");
const HEAD = "0123456789abcdef0123456789abcdef01234567";
const OLD = "fedcba9876543210fedcba9876543210fedcba98";

const ready = (status: "True" | "False", message = "Applied revision", reason = status === "True" ? "ReconciliationSucceeded" : "BuildFailed") => ({ type: "Ready", status, reason, message, lastTransitionTime: T0 });

/** The program's sync objects of one tenant, labelled as components/manifests/tenant.ts labels them. */
function sync(tenant: string, ks: Partial<FluxObject>, sha = HEAD): FluxObject[] {
  const labels = { "toolkit.fluxcd.io/tenant": tenant };
  return [
    { kind: "GitRepository", metadata: { name: tenant, namespace: tenant, labels }, spec: { url: `ssh://git@github.com/acme-org/${tenant}-deploy.git`, ref: { branch: "main" } } },
    {
      kind: "Kustomization",
      metadata: { name: tenant, namespace: tenant, labels },
      spec: { sourceRef: { name: tenant }, ...(ks.spec ?? {}) },
      status: { lastAppliedRevision: `main@sha1:${sha}`, conditions: [ready("True")], ...(ks.status ?? {}) },
    },
  ];
}

describe("npm run status: a tenant × cluster matrix", () => {
  it("a Flux object's state: suspended, stalled, ready, failing (a failed reconcile keeps Reconciling=True as ProgressingWithRetry), or progressing", () => {
    const o = (spec: object, conditions: object[]): FluxObject => ({ kind: "Kustomization", metadata: { name: "x", namespace: "x" }, spec, status: { conditions: conditions as any } });
    assert.equal(stateOf(o({ suspend: true }, [ready("False")])), "Suspended");
    assert.equal(stateOf(o({}, [ready("False"), { type: "Stalled", status: "True" }])), "Stalled");
    assert.equal(stateOf(o({}, [ready("True")])), "Ready");
    assert.equal(stateOf(o({}, [ready("False")])), "Failing");
    // kustomize-controller v1.9.4 finalizeStatus: after a failure, Reconciling stays True with this reason.
    assert.equal(stateOf(o({}, [ready("False"), { type: "Reconciling", status: "True", reason: "ProgressingWithRetry" }])), "Failing");
    assert.equal(stateOf(o({}, [{ type: "Ready", status: "Unknown", reason: "Progressing" }, { type: "Reconciling", status: "True", reason: "Progressing" }])), "Progressing");
    assert.equal(stateOf(o({}, [])), "Progressing", "never reconciled yet");
  });

  const heads = new Map([
    ["ssh://git@github.com/acme-org/shop-deploy.git#main", HEAD],
    ["ssh://git@github.com/acme-org/payments-deploy.git#main", HEAD],
    ["ssh://git@github.com/acme-org/search-deploy.git#main", HEAD],
    ["ssh://git@github.com/acme-org/media-deploy.git#main", HEAD],
  ]);
  const objects: FluxObject[] = [
    ...sync("shop", {}),
    ...sync("payments", { spec: { suspend: true } }),
    ...sync("media", { status: { conditions: [ready("False", "kustomize build failed: accumulating resources: 'missing.yaml': no such file\nmore")] } }),
    ...sync("search", {}, OLD),
    // A HelmRelease the shop tenant made, failing, in its second namespace; one of its own that is fine.
    { kind: "HelmRelease", metadata: { name: "web", namespace: "shop-jobs" }, status: { conditions: [ready("False", "install retries exhausted", "InstallFailed")] } },
    { kind: "Kustomization", metadata: { name: "apps", namespace: "shop" }, status: { conditions: [ready("True")] } },
    // One the tenant labelled as itself: still the tenant's own, not its sync (which is named after it).
    { kind: "Kustomization", metadata: { name: "aaa", namespace: "shop", labels: { "toolkit.fluxcd.io/tenant": "shop" } }, status: { conditions: [ready("False", "bad", "BuildFailed")] } },
    // Another tenant's failing object is not shop's.
    { kind: "HelmRelease", metadata: { name: "db", namespace: "elsewhere" }, status: { conditions: [ready("False")] } },
  ];
  const tenants = { shop: { namespaces: ["shop", "shop-jobs"] }, payments: { namespaces: ["payments"] }, media: { namespaces: ["media"] }, search: { namespaces: ["search"] }, gone: { namespaces: ["gone"] } };
  const cells = cellsOf({ stack: "production", tenants }, objects, heads);
  const cell = (t: string) => cells.find((c) => c.tenant === t)!;

  it("each tenant's cell: its Kustomization's state, what it applied against the branch head, since when, and its own objects that fail", () => {
    assert.deepEqual(cell("shop"), {
      stack: "production", tenant: "shop", state: "Ready", applied: `main@sha1:${HEAD}`, head: HEAD, behind: false, since: T0,
      notReady: ["HelmRelease/shop-jobs/web: Failing: install retries exhausted", "Kustomization/shop/aaa: Failing: bad"],
      kustomization: { namespace: "shop", name: "shop" },
    });
    assert.equal(cell("payments").state, "Suspended");
    assert.equal(cell("media").state, "Failing");
    assert.equal(cell("media").message, "kustomize build failed: accumulating resources: 'missing.yaml': no such file", "its first line");
    assert.equal(cell("search").state, "Ready");
    assert.equal(cell("search").behind, true);
    assert.deepEqual(cell("gone"), { stack: "production", tenant: "gone", state: "Missing", behind: false, notReady: [] });
  });

  it("without a branch head (no GITHUB_TOKEN), nothing is behind", () => {
    assert.equal(cellsOf({ stack: "production", tenants: { search: { namespaces: ["search"] } } }, objects, new Map())[0].behind, false);
  });

  it("unhealthy: failing, stalled, missing, or a tenant's own object failing; not suspended, progressing or behind", () => {
    assert.deepEqual(cells.filter(unhealthy).map((c) => c.tenant).sort(), ["gone", "media", "shop"]);
  });

  it("the matrix: a row per tenant, a column per stack, '-' where a stack has no such tenant, then what is wrong", () => {
    const staging: Cell = { stack: "staging", tenant: "shop", state: "Progressing", behind: false, notReady: [] };
    assert.equal(
      renderMatrix(["staging", "production"], [staging, ...cells], NOW),
      [
        "TENANT    staging      production",
        "gone      -            Missing",
        "media     -            Failing 0123456 2h",
        "payments  -            Suspended 0123456 2h",
        "search    -            Ready fedcba9 behind 0123456 2h",
        "shop      Progressing  Ready 0123456 (+2 failing) 2h",
        "",
        "production/media: Failing: kustomize build failed: accumulating resources: 'missing.yaml': no such file",
        "production/shop: HelmRelease/shop-jobs/web: Failing: install retries exhausted",
        "production/shop: Kustomization/shop/aaa: Failing: bad",
        "",
      ].join("\n"),
    );
  });

  it("ages and repository URLs as the matrix reads them", () => {
    assert.deepEqual(["2026-12-04T12:00:00Z", "2026-12-07T09:00:00Z", "2026-12-07T12:10:00Z", "2026-12-07T12:29:20Z"].map((t) => age(t, NOW)), ["3d", "3h", "20m", "40s"]);
    assert.deepEqual(repositoryOf("ssh://git@github.com/acme-org/shop-deploy.git"), { owner: "acme-org", name: "shop-deploy" });
    assert.deepEqual(repositoryOf("ssh://git@127.0.0.1:28022/acme/team-a-deploy.git"), { owner: "acme", name: "team-a-deploy" });
    assert.deepEqual(repositoryOf("https://github.com/acme-org/shop-deploy"), { owner: "acme-org", name: "shop-deploy" });
    assert.equal(repositoryOf("git@github.com:acme-org/shop.git"), undefined);
  });
});
