package main

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clienttesting "k8s.io/client-go/testing"
)

const ns = "flux-system"

var gitGVR = fluxKinds["GitRepository"]

// fluxInstance is the FluxInstance the Pulumi program creates (components/manifests/flux.ts).
func fluxInstance(gen int64) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	_ = json.Unmarshal([]byte(`{
	  "apiVersion": "fluxcd.controlplane.io/v1", "kind": "FluxInstance",
	  "metadata": {"name": "flux", "namespace": "flux-system", "uid": "fi-1"},
	  "spec": {
	    "distribution": {"version": "2.9.x", "registry": "ghcr.io/fluxcd", "artifact": "oci://ghcr.io/controlplaneio-fluxcd/flux-operator-manifests:v0.58.1"},
	    "components": ["source-controller", "kustomize-controller", "helm-controller"],
	    "cluster": {"type": "kubernetes", "multitenant": true, "tenantDefaultServiceAccount": "flux", "networkPolicy": true, "domain": "cluster.local"},
	    "sync": {"kind": "GitRepository", "url": "ssh://git@git.example/fleet.git", "ref": "refs/heads/main",
	             "path": "clusters/staging", "pullSecret": "flux-system", "interval": "1m"}
	  }}`), &u.Object)
	u.SetGeneration(gen)
	return u
}

func TestSyncObjects(t *testing.T) {
	rg := newRig(t, fluxInstance(1))
	rg.pass() // finalizer + initial status
	fi := rg.get(fluxInstanceGVR, "flux")
	if got := fi.GetFinalizers(); !reflect.DeepEqual(got, []string{finalizer}) {
		t.Fatalf("finalizers = %v", got)
	}
	rg.expectReady(metav1.ConditionUnknown, reasonProgressing, 1)
	rg.pass() // apply

	git := rg.get(gitGVR, ns)
	wantGit := map[string]any{"interval": "1m0s", "ref": map[string]any{"name": "refs/heads/main"},
		"secretRef": map[string]any{"name": "flux-system"}, "url": "ssh://git@git.example/fleet.git"}
	if !reflect.DeepEqual(git.Object["spec"], wantGit) {
		t.Errorf("GitRepository spec = %v", git.Object["spec"])
	}
	ks := rg.get(kustomizationGVR, ns)
	wantKs := map[string]any{"interval": "10m0s", "path": "clusters/staging", "prune": true,
		"serviceAccountName": "kustomize-controller", "sourceRef": map[string]any{"kind": "GitRepository", "name": "flux-system"}}
	if !reflect.DeepEqual(ks.Object["spec"], wantKs) {
		t.Errorf("Kustomization spec = %v", ks.Object["spec"])
	}
	// Field manager on the apply.
	for _, a := range rg.client.Actions() {
		if pa, ok := a.(clienttesting.PatchActionImpl); ok && pa.GetPatchType() == types.ApplyPatchType {
			if pa.PatchOptions.FieldManager != "flux-operator" || pa.PatchOptions.Force == nil || !*pa.PatchOptions.Force {
				t.Errorf("apply options %+v", pa.PatchOptions)
			}
		}
	}
	// The inventory in the change set's order (ssa ApplyAllStaged and its sort).
	entries, _, _ := unstructured.NestedSlice(rg.get(fluxInstanceGVR, "flux").Object, "status", "inventory", "entries")
	want := []any{
		map[string]any{"id": "_flux-system__Namespace", "v": "v1"},
		map[string]any{"id": "flux-system_flux-system_kustomize.toolkit.fluxcd.io_Kustomization", "v": "v1"},
		map[string]any{"id": "flux-system_flux-system_source.toolkit.fluxcd.io_GitRepository", "v": "v1"},
	}
	if !reflect.DeepEqual(entries, want) {
		t.Errorf("inventory = %v", entries)
	}
}

func TestStatusTransitions(t *testing.T) {
	rg := newRig(t, fluxInstance(1))
	rg.pass()
	rg.pass()
	rg.expectReady(metav1.ConditionUnknown, reasonProgressing, 1)
	fi := rg.get(fluxInstanceGVR, "flux")
	if c := findCondition(conditionsOf(fi), reconcilingType); c == nil || c.Status != metav1.ConditionTrue {
		t.Fatalf("Reconciling = %+v", c)
	}
	attempted, _, _ := unstructured.NestedString(fi.Object, "status", "lastAttemptedRevision")
	if !strings.HasPrefix(attempted, "v2.9.5@sha256:") {
		t.Fatalf("lastAttemptedRevision = %q", attempted)
	}

	// Source ready, Kustomization not yet: still waiting.
	rg.setStatus(gitGVR, metav1.ConditionTrue, 1)
	rg.setStatus(kustomizationGVR, metav1.ConditionFalse, 1)
	rg.now = rg.now.Add(10 * time.Second)
	rg.pass()
	rg.expectReady(metav1.ConditionUnknown, reasonProgressing, 1)

	// Kustomization Ready=True at its generation: FluxInstance Ready=True, Reconciling removed.
	rg.setStatus(kustomizationGVR, metav1.ConditionTrue, 1)
	rg.now = rg.now.Add(2 * time.Second)
	rg.pass()
	c := rg.expectReady(metav1.ConditionTrue, reasonSucceeded, 1)
	if c.Message != "Reconciliation finished in 12s" {
		t.Errorf("message %q", c.Message)
	}
	fi = rg.get(fluxInstanceGVR, "flux")
	if findCondition(conditionsOf(fi), reconcilingType) != nil {
		t.Error("Reconciling still set")
	}
	applied, _, _ := unstructured.NestedString(fi.Object, "status", "lastAppliedRevision")
	if applied != attempted {
		t.Errorf("lastAppliedRevision %q != %q", applied, attempted)
	}
	comps, _, _ := unstructured.NestedSlice(fi.Object, "status", "components")
	if len(comps) != 3 || comps[2].(map[string]any)["tag"] != "v1.6.4" {
		t.Errorf("components = %v", comps)
	}

	// Steady state: nothing changes on further passes.
	rg.pass()
	rg.expectReady(metav1.ConditionTrue, reasonSucceeded, 1)

	// Spec change (generation 2): back to Unknown, new path applied, Kustomization generation 2
	// is not observed yet; after the 5m timeout Ready=False/ReconciliationFailed.
	fi = rg.get(fluxInstanceGVR, "flux")
	_ = unstructured.SetNestedField(fi.Object, "clusters/production", "spec", "sync", "path")
	fi.SetGeneration(2)
	if err := rg.tracker.Update(fluxInstanceGVR, fi, ns); err != nil {
		t.Fatal(err)
	}
	rg.pass()
	rg.expectReady(metav1.ConditionUnknown, reasonProgressing, 2)
	if p, _, _ := unstructured.NestedString(rg.get(kustomizationGVR, ns).Object, "spec", "path"); p != "clusters/production" {
		t.Fatalf("path = %q", p)
	}
	rg.now = rg.now.Add(5 * time.Minute)
	rg.pass()
	c = rg.expectReady(metav1.ConditionFalse, reasonFailed, 2)
	want := "reconciliation failed: timeout waiting for: [Kustomization/flux-system/flux-system status: 'InProgress']"
	if !strings.HasPrefix(c.Message, want) {
		t.Errorf("message %q, want prefix %q", c.Message, want)
	}
	if rc := findCondition(conditionsOf(rg.get(fluxInstanceGVR, "flux")), reconcilingType); rc == nil || rc.Reason != reasonProgressingRetry {
		t.Errorf("Reconciling = %+v", rc)
	}

	// Retry after the backoff; the controller catches up: Ready=True at generation 2.
	rg.setStatus(kustomizationGVR, metav1.ConditionTrue, 2)
	rg.now = rg.now.Add(time.Second)
	rg.pass() // new attempt: Unknown, then healthy in the same pass
	rg.expectReady(metav1.ConditionTrue, reasonSucceeded, 2)
}

func TestStalled(t *testing.T) {
	rg := newRig(t, fluxInstance(1))
	rg.pass()
	rg.pass()
	rg.setStatus(gitGVR, metav1.ConditionTrue, 1)
	rg.setStatus(kustomizationGVR, metav1.ConditionFalse, 1, metav1.Condition{Type: stalledType, Status: metav1.ConditionTrue, Reason: "BuildFailed", LastTransitionTime: metav1.NewTime(rg.now)})
	rg.pass()
	c := rg.expectReady(metav1.ConditionFalse, reasonFailed, 1)
	if !strings.HasPrefix(c.Message, "reconciliation failed: failed early due to stalled resources: [Kustomization/flux-system/flux-system status: 'Failed']\nKustomization/flux-system/flux-system status: ready False") {
		t.Errorf("message %q", c.Message)
	}
}

func TestDisabledAtInit(t *testing.T) {
	fi := fluxInstance(1)
	fi.SetAnnotations(map[string]string{reconcileAnn: "Disabled"})
	rg := newRig(t, fi)
	rg.pass()
	rg.pass()
	rg.expectReady(metav1.ConditionTrue, reasonDisabled, 1)
	if _, err := rg.client.Resource(gitGVR).Namespace(ns).Get(context.Background(), ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("sync source created while disabled: %v", err)
	}
}

func TestSyncDefaults(t *testing.T) {
	fi := fluxInstance(1)
	_ = unstructured.SetNestedField(fi.Object, false, "spec", "cluster", "multitenant")
	unstructured.RemoveNestedField(fi.Object, "spec", "sync", "interval")
	_ = unstructured.SetNestedField(fi.Object, "fleet", "spec", "sync", "name")
	objs, err := buildSyncObjects(fi)
	if err != nil {
		t.Fatal(err)
	}
	if objs[0].GetName() != "fleet" || objs[1].GetName() != "fleet" {
		t.Errorf("names %s %s", objs[0].GetName(), objs[1].GetName())
	}
	if v, _, _ := unstructured.NestedString(objs[0].Object, "spec", "interval"); v != "1m0s" {
		t.Errorf("interval %q", v)
	}
	if _, found, _ := unstructured.NestedString(objs[1].Object, "spec", "serviceAccountName"); found {
		t.Error("serviceAccountName without multitenancy")
	}
}

func TestSyncRemovedGarbageCollects(t *testing.T) {
	rg := newRig(t, fluxInstance(1))
	rg.pass()
	rg.pass()
	fi := rg.get(fluxInstanceGVR, "flux")
	unstructured.RemoveNestedField(fi.Object, "spec", "sync")
	fi.SetGeneration(2)
	if err := rg.tracker.Update(fluxInstanceGVR, fi, ns); err != nil {
		t.Fatal(err)
	}
	rg.pass()
	rg.expectReady(metav1.ConditionTrue, reasonSucceeded, 2)
	for _, gvr := range []schema.GroupVersionResource{gitGVR, kustomizationGVR} {
		if _, err := rg.client.Resource(gvr).Namespace(ns).Get(context.Background(), ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s not garbage collected: %v", gvr.Resource, err)
		}
	}
	if entries, _, _ := unstructured.NestedSlice(rg.get(fluxInstanceGVR, "flux").Object, "status", "inventory", "entries"); len(entries) != 1 {
		t.Errorf("inventory = %v, want the Namespace only", entries)
	}
}

// --- 1. The labels and annotations the operator sets (UPSTREAM.md §b) ---

// The flux-system Namespace and every applied object carry exactly the operator's labels and
// annotations, owned by the stand-in's field manager; another manager's labels stay.
func TestOperatorMetadata(t *testing.T) {
	rg := newRig(t, fluxInstance(1))
	rg.ssaApply("pulumi-kubernetes-0a1b2c", `{"apiVersion": "v1", "kind": "Namespace",
	  "metadata": {"name": "flux-system", "labels": {"fleet/kept": "yes"}}}`)
	rg.pass()
	rg.pass()

	labels := map[string]string{ // templates.go:359-372, ssa manager.go:66-78
		"app.kubernetes.io/managed-by":     "flux-operator",
		"app.kubernetes.io/instance":       "flux-system",
		"app.kubernetes.io/version":        "v2.9.5",
		"app.kubernetes.io/part-of":        "flux",
		"fluxcd.controlplane.io/name":      "flux",
		"fluxcd.controlplane.io/namespace": "flux-system",
	}
	anns := map[string]string{ // templates.go:374-385
		"kustomize.toolkit.fluxcd.io/ssa":   "Ignore",
		"kustomize.toolkit.fluxcd.io/prune": "Disabled",
	}
	nsLabels := maps.Clone(labels) // templates.go:387-397
	nsLabels["pod-security.kubernetes.io/warn"] = "restricted"
	nsLabels["pod-security.kubernetes.io/warn-version"] = "latest"
	nsAnns := maps.Clone(anns)
	nsAnns["fluxcd.controlplane.io/prune"] = "disabled"

	for _, c := range []struct {
		gvr          schema.GroupVersionResource
		labels, anns map[string]string
	}{{namespaceGVR, nsLabels, nsAnns}, {gitGVR, labels, anns}, {kustomizationGVR, labels, anns}} {
		o := rg.get(c.gvr, ns)
		gotLabels := o.GetLabels()
		if c.gvr == namespaceGVR {
			if gotLabels["fleet/kept"] != "yes" {
				t.Errorf("Namespace: another manager's label was dropped: %v", gotLabels)
			}
			delete(gotLabels, "fleet/kept")
		}
		if !reflect.DeepEqual(gotLabels, c.labels) || !reflect.DeepEqual(o.GetAnnotations(), c.anns) {
			t.Errorf("%s: labels %v annotations %v, want %v %v", o.GetKind(), gotLabels, o.GetAnnotations(), c.labels, c.anns)
		}
		if got := slices.Sorted(maps.Keys(ownedKeys(t, o, "flux-operator", "f:labels"))); !reflect.DeepEqual(got, slices.Sorted(maps.Keys(c.labels))) {
			t.Errorf("%s: labels owned by flux-operator %v", o.GetKind(), got)
		}
		if got := slices.Sorted(maps.Keys(ownedKeys(t, o, "flux-operator", "f:annotations"))); !reflect.DeepEqual(got, slices.Sorted(maps.Keys(c.anns))) {
			t.Errorf("%s: annotations owned by flux-operator %v", o.GetKind(), got)
		}
	}

	// spec.commonMetadata goes on every object and wins over the operator's own keys (:477-479).
	fi := fluxInstance(1)
	_ = unstructured.SetNestedStringMap(fi.Object, map[string]string{"app.kubernetes.io/part-of": "fleet", "team": "platform"}, "spec", "commonMetadata", "labels")
	_ = unstructured.SetNestedStringMap(fi.Object, map[string]string{"fluxcd.controlplane.io/prune": "enabled"}, "spec", "commonMetadata", "annotations")
	objs, err := buildObjects(fi, "v2.9.5", "flux-operator", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if l, a := o.GetLabels(), o.GetAnnotations(); l["app.kubernetes.io/part-of"] != "fleet" || l["team"] != "platform" || a["fluxcd.controlplane.io/prune"] != "enabled" {
			t.Errorf("%s: commonMetadata not applied: %v %v", o.GetKind(), l, a)
		}
	}
}

// ownedKeys returns the keys under metadata.<field> that manager's Apply entry owns.
func ownedKeys(t *testing.T, o *unstructured.Unstructured, manager, field string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, e := range o.GetManagedFields() {
		if e.Manager != manager || e.Operation != metav1.ManagedFieldsOperationApply || e.FieldsV1 == nil {
			continue
		}
		var f map[string]map[string]map[string]any
		if err := json.Unmarshal(e.FieldsV1.Raw, &f); err != nil {
			t.Fatal(err)
		}
		for k := range f["f:metadata"][field] {
			if k != "." {
				out[strings.TrimPrefix(k, "f:")] = true
			}
		}
	}
	return out
}

// --- 2. Taking fields over from other managers (UPSTREAM.md §f) ---

// What `flux bootstrap` (and kubectl, Helm) left on the sync objects and the Namespace does not
// survive the stand-in's apply: fields of the managers the operator takes over from are dropped when
// the stand-in does not set them, the bootstrap labels and kubectl/Helm annotations are stripped.
// Fields of any other manager stay.
func TestTakeOwnership(t *testing.T) {
	rg := newRigWith(t, Options{OverrideManagers: []string{"my-tool"}}, fluxInstance(1))
	ctx := context.Background()
	merge := func(gvr schema.GroupVersionResource, namespace, manager, patch string) {
		t.Helper()
		ri := rg.client.Resource(gvr)
		var err error
		if namespace == "" {
			_, err = ri.Patch(ctx, ns, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: manager})
		} else {
			_, err = ri.Namespace(namespace).Patch(ctx, ns, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: manager})
		}
		if err != nil {
			t.Fatalf("patch as %s: %v", manager, err)
		}
	}
	// Bootstrap's sync objects, applied as `flux` (real tier 7 applies them so), then by
	// kustomize-controller with its labels.
	rg.ssaApply("flux", `{"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
	  "metadata": {"name": "flux-system", "namespace": "flux-system"},
	  "spec": {"interval": "1m0s", "ref": {"branch": "main"}, "secretRef": {"name": "flux-system"}, "url": "ssh://git@git.example/fleet.git"}}`)
	rg.ssaApply("kustomize-controller", `{"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
	  "metadata": {"name": "flux-system", "namespace": "flux-system"}, "spec": {"ignore": "/tmp"}}`)
	// The bootstrap labels and the kubectl/Helm annotations are stripped whoever set them (here a
	// manager the operator does not take over from).
	merge(gitGVR, ns, "some-tool", `{"metadata": {"labels": {"kustomize.toolkit.fluxcd.io/name": "flux-system",
	  "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}, "annotations": {"meta.helm.sh/release-name": "x"}}}`)
	rg.ssaApply("pulumi-kubernetes-0a1b2c", `{"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
	  "metadata": {"name": "flux-system", "namespace": "flux-system"}, "spec": {"timeout": "2m0s"}}`)
	merge(gitGVR, ns, "kubectl-client-side-apply", `{"metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}}, "spec": {"suspend": true}}`)
	rg.ssaApply("flux", `{"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
	  "metadata": {"name": "flux-system", "namespace": "flux-system"},
	  "spec": {"interval": "10m0s", "path": "./clusters/bootstrap", "prune": true, "force": true, "sourceRef": {"kind": "GitRepository", "name": "flux-system"}}}`)
	merge(kustomizationGVR, ns, "my-tool", `{"spec": {"timeout": "3m0s"}}`)
	// flux-system: labelled with kubectl, annotated by Helm, and a label of the program's own.
	rg.ssaApply("pulumi-kubernetes-0a1b2c", `{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flux-system", "labels": {"fleet/kept": "yes"}}}`)
	merge(namespaceGVR, "", "kubectl-label", `{"metadata": {"labels": {"team": "platform"}}}`)
	merge(namespaceGVR, "", "some-tool", `{"metadata": {"annotations": {"meta.helm.sh/release-name": "flux-operator", "meta.helm.sh/release-namespace": "flux-system",
	  "kubectl.kubernetes.io/last-applied-configuration": "{}"}}}`)
	merge(namespaceGVR, "", "helm", `{"metadata": {"annotations": {"fleet/helm": "yes"}}}`)

	rg.pass()
	rg.pass()

	git := rg.get(gitGVR, ns)
	wantGit := map[string]any{"interval": "1m0s", "ref": map[string]any{"name": "refs/heads/main"},
		"secretRef": map[string]any{"name": "flux-system"}, "url": "ssh://git@git.example/fleet.git", "timeout": "2m0s"}
	if !reflect.DeepEqual(git.Object["spec"], wantGit) {
		t.Errorf("GitRepository spec = %v, want %v (ref.branch, ignore and suspend of flux/kustomize-controller/kubectl dropped, pulumi's timeout kept)", git.Object["spec"], wantGit)
	}
	for _, k := range []string{"kustomize.toolkit.fluxcd.io/name", "kustomize.toolkit.fluxcd.io/namespace"} {
		if _, ok := git.GetLabels()[k]; ok {
			t.Errorf("GitRepository: bootstrap label %s kept", k)
		}
	}
	for _, k := range []string{"kubectl.kubernetes.io/last-applied-configuration", "meta.helm.sh/release-name"} {
		if _, ok := git.GetAnnotations()[k]; ok {
			t.Errorf("GitRepository: annotation %s kept", k)
		}
	}
	ks := rg.get(kustomizationGVR, ns)
	if _, ok := ks.Object["spec"].(map[string]any)["force"]; ok {
		t.Errorf("Kustomization: flux's spec.force kept: %v", ks.Object["spec"])
	}
	if _, ok := ks.Object["spec"].(map[string]any)["timeout"]; ok {
		t.Errorf("Kustomization: --override-manager my-tool's spec.timeout kept: %v", ks.Object["spec"])
	}
	namespace := rg.get(namespaceGVR, ns)
	if l := namespace.GetLabels(); l["team"] != "" || l["fleet/kept"] != "yes" {
		t.Errorf("Namespace labels %v: kubectl's label must go, the program's stay", l)
	}
	for _, k := range []string{"meta.helm.sh/release-name", "meta.helm.sh/release-namespace", "kubectl.kubernetes.io/last-applied-configuration", "fleet/helm"} {
		if _, ok := namespace.GetAnnotations()[k]; ok {
			t.Errorf("Namespace: annotation %s kept (stripped, or set by helm)", k)
		}
	}
	for _, o := range []*unstructured.Unstructured{git, ks, namespace} {
		for _, e := range o.GetManagedFields() {
			if !slices.Contains([]string{"flux-operator", "pulumi-kubernetes-0a1b2c", "some-tool", "rig-apiserver"}, e.Manager) {
				t.Errorf("%s: manager %s/%s still owns fields", o.GetKind(), e.Manager, e.Operation)
			}
		}
	}
}

// TestInstallTakeover: the install objects `flux bootstrap` left (its gotk-components.yaml, applied
// by kustomize-controller with its owner labels) are applied again for spec.components with the
// operator's cleanup, so bootstrap's Kustomization no longer prunes them once its path moves
// (kustomize-controller deletes only objects with its owner labels and without
// kustomize.toolkit.fluxcd.io/prune: disabled, deleteObjects in kustomization_controller.go@v1.9.4).
// A component the FluxInstance does not list is left as bootstrap had it: still prunable. Uninstall
// keeps the ServiceAccounts and RBAC the rig's controllers run on, and the CRDs unless --delete-crds.
func TestInstallTakeover(t *testing.T) {
	install, err := loadInstallManifests([]string{"testdata/install"})
	if err != nil {
		t.Fatal(err)
	}
	kcLabels := map[string]string{"kustomize.toolkit.fluxcd.io/name": "flux-system", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}
	type ref struct {
		gvr  schema.GroupVersionResource
		name string
	}
	taken := []ref{{crdGVR, "gitrepositories.source.toolkit.fluxcd.io"}, {crdGVR, "kustomizations.kustomize.toolkit.fluxcd.io"},
		{serviceAccountGVR, "source-controller"}, {serviceAccountGVR, "kustomize-controller"},
		{clusterRoleGVR, "crd-controller-flux-system"}, {clusterRoleBindingGVR, "cluster-reconciler-flux-system"}}
	left := []ref{{crdGVR, "helmreleases.helm.toolkit.fluxcd.io"}, {serviceAccountGVR, "helm-controller"}}

	for _, deleteCRDs := range []bool{false, true} {
		fi := fluxInstance(1)
		_ = unstructured.SetNestedStringSlice(fi.Object, []string{"source-controller", "kustomize-controller"}, "spec", "components")
		rg := newRigWith(t, Options{Install: install, DeleteCRDs: deleteCRDs, TerminationInterval: time.Millisecond, TerminationTimeout: 20 * time.Millisecond}, fi)
		namespaced := func(r ref) string {
			if r.gvr == serviceAccountGVR {
				return ns
			}
			return ""
		}
		lookup := func(r ref) (*unstructured.Unstructured, error) {
			return rg.client.Resource(r.gvr).Namespace(namespaced(r)).Get(context.Background(), r.name, metav1.GetOptions{})
		}
		// What bootstrap left: every install object applied by kustomize-controller with its labels.
		for _, o := range install {
			c := o.DeepCopy()
			c.SetLabels(kcLabels)
			if c.GetKind() == "ServiceAccount" {
				c.SetNamespace(ns)
			}
			raw, _ := json.Marshal(c.Object)
			rg.ssaApply("kustomize-controller", string(raw))
		}
		rg.pass()
		for _, r := range taken { // kstatus: a CRD is Current once Established
			if r.gvr == crdGVR {
				u, _ := lookup(r)
				_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{"type": "Established", "status": "True"}, map[string]any{"type": "NamesAccepted", "status": "True"}}, "status", "conditions")
				_ = rg.tracker.Update(crdGVR, u, "")
			}
		}
		rg.pass()
		rg.setStatus(gitGVR, metav1.ConditionTrue, 1)
		rg.setStatus(kustomizationGVR, metav1.ConditionTrue, 1)
		rg.pass()
		rg.expectReady(metav1.ConditionTrue, reasonSucceeded, 1)

		entries, _, _ := unstructured.NestedSlice(rg.get(fluxInstanceGVR, "flux").Object, "status", "inventory", "entries")
		inInventory := map[string]bool{}
		for _, e := range entries {
			inInventory[e.(map[string]any)["id"].(string)] = true
		}
		for _, r := range taken {
			u, err := lookup(r)
			if err != nil {
				t.Fatalf("%s %s: %v", r.gvr.Resource, r.name, err)
			}
			for k := range kcLabels {
				if _, ok := u.GetLabels()[k]; ok {
					t.Errorf("%s %s: bootstrap's %s kept: kustomize-controller would prune it", r.gvr.Resource, r.name, k)
				}
			}
			if u.GetLabels()["app.kubernetes.io/managed-by"] != "flux-operator" || u.GetAnnotations()["kustomize.toolkit.fluxcd.io/prune"] != "Disabled" {
				t.Errorf("%s %s: not the operator's: %v %v", r.gvr.Resource, r.name, u.GetLabels(), u.GetAnnotations())
			}
			if !inInventory[inventoryID(u)] {
				t.Errorf("%s %s not in the inventory %v", r.gvr.Resource, r.name, entries)
			}
		}
		for _, r := range left {
			u, _ := lookup(r)
			if u.GetLabels()["kustomize.toolkit.fluxcd.io/name"] != "flux-system" || inInventory[inventoryID(u)] {
				t.Errorf("%s %s, of a component not listed, was taken over: %v", r.gvr.Resource, r.name, u.GetLabels())
			}
		}

		fi = rg.get(fluxInstanceGVR, "flux")
		now := metav1.NewTime(rg.now)
		fi.SetDeletionTimestamp(&now)
		_ = rg.tracker.Update(fluxInstanceGVR, fi, ns)
		rg.pass()
		for _, r := range taken {
			_, err := lookup(r)
			if want := deleteCRDs && r.gvr == crdGVR; apierrors.IsNotFound(err) != want {
				t.Errorf("delete-crds=%v: %s %s deleted=%v, want %v (the rig's accounts and RBAC stay)", deleteCRDs, r.gvr.Resource, r.name, apierrors.IsNotFound(err), want)
			}
		}
	}
}

// --- 3. Deleting the FluxInstance (UPSTREAM.md §d) ---

func TestUninstall(t *testing.T) {
	crd := func(name string, anns map[string]string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("apiextensions.k8s.io/v1")
		u.SetKind("CustomResourceDefinition")
		u.SetName(name)
		u.SetAnnotations(anns)
		return u
	}
	tenant := &unstructured.Unstructured{}
	tenant.SetAPIVersion("kustomize.toolkit.fluxcd.io/v1")
	tenant.SetKind("Kustomization")
	tenant.SetNamespace("team-a")
	tenant.SetName("apps")
	tenant.SetFinalizers([]string{"finalizers.fluxcd.io"})
	crds := []string{"gitrepositories.source.toolkit.fluxcd.io", "kustomizations.kustomize.toolkit.fluxcd.io",
		"helmreleases.helm.toolkit.fluxcd.io", "alerts.notification.toolkit.fluxcd.io"}

	for _, tc := range []struct {
		name                           string
		opts                           Options
		disabled, failDelete           bool
		syncGone, tenantGone, crdsGone bool
	}{
		{name: "default", syncGone: true},
		{name: "disabled", disabled: true},
		{name: "delete errors do not keep the finalizer", failDelete: true},
		{name: "delete-all-flux-objects", opts: Options{DeleteAllFluxObjects: true}, syncGone: true, tenantGone: true},
		// The CRD with prune: disabled stays, so the wait for the CRDs times out, as the operator's would.
		{name: "delete-crds", opts: Options{DeleteCRDs: true, TerminationInterval: time.Millisecond, TerminationTimeout: 20 * time.Millisecond},
			syncGone: true, tenantGone: true, crdsGone: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := []runtime.Object{fluxInstance(1), tenant.DeepCopy(), crd("buckets.source.toolkit.fluxcd.io", map[string]string{pruneAnn: "Disabled"})}
			for _, n := range crds {
				objs = append(objs, crd(n, nil))
			}
			rg := newRigWith(t, tc.opts, objs...)
			rg.pass()
			rg.pass()
			rg.setStatus(gitGVR, metav1.ConditionTrue, 1)
			rg.setStatus(kustomizationGVR, metav1.ConditionTrue, 1)
			rg.pass()
			rg.expectReady(metav1.ConditionTrue, reasonSucceeded, 1)
			for _, gvr := range []schema.GroupVersionResource{gitGVR, kustomizationGVR} { // the controllers' finalizers
				u := rg.get(gvr, ns)
				u.SetFinalizers([]string{"finalizers.fluxcd.io"})
				_ = rg.tracker.Update(gvr, u, ns)
			}
			if tc.failDelete {
				rg.client.PrependReactor("delete", "kustomizations", func(clienttesting.Action) (bool, runtime.Object, error) {
					return true, nil, errors.New("boom")
				})
			}
			fi := rg.get(fluxInstanceGVR, "flux")
			now := metav1.NewTime(rg.now)
			fi.SetDeletionTimestamp(&now)
			if tc.disabled {
				fi.SetAnnotations(map[string]string{reconcileAnn: "disabled"})
			}
			_ = rg.tracker.Update(fluxInstanceGVR, fi, ns)
			rg.client.ClearActions()
			rg.pass()

			if f := rg.get(fluxInstanceGVR, "flux").GetFinalizers(); len(f) != 0 {
				t.Errorf("finalizers left %v", f)
			}
			for _, gvr := range []schema.GroupVersionResource{gitGVR, kustomizationGVR} {
				want := tc.syncGone || (tc.failDelete && gvr == gitGVR) // only the Kustomization's delete fails
				if _, err := rg.lookup(gvr, ns); apierrors.IsNotFound(err) != want {
					t.Errorf("sync %s: deleted=%v, want %v", gvr.Resource, apierrors.IsNotFound(err), want)
				}
			}
			if _, err := rg.lookup(namespaceGVR, ns); err != nil {
				t.Errorf("Namespace deleted despite fluxcd.controlplane.io/prune: disabled: %v", err)
			}
			got, err := rg.client.Resource(kustomizationGVR).Namespace("team-a").Get(context.Background(), "apps", metav1.GetOptions{})
			if apierrors.IsNotFound(err) != tc.tenantGone {
				t.Errorf("tenant Kustomization: deleted=%v, want %v", apierrors.IsNotFound(err), tc.tenantGone)
			}
			if err == nil && !tc.disabled && len(got.GetFinalizers()) != 0 {
				t.Errorf("tenant Kustomization keeps finalizers %v (the operator strips every Flux object's)", got.GetFinalizers())
			}
			for _, n := range crds {
				_, err := rg.lookup(crdGVR, n)
				want := tc.crdsGone && !strings.HasPrefix(n, "alerts.") // notification-controller is not a component
				if apierrors.IsNotFound(err) != want {
					t.Errorf("CRD %s: deleted=%v, want %v", n, apierrors.IsNotFound(err), want)
				}
			}
			if _, err := rg.lookup(crdGVR, "buckets.source.toolkit.fluxcd.io"); err != nil {
				t.Errorf("CRD with prune: disabled deleted: %v", err)
			}
			if tc.syncGone { // finalizers stripped before the delete, delete guarded by UID and resourceVersion
				var stripped, guarded bool
				for _, a := range rg.client.Actions() {
					switch a := a.(type) {
					case clienttesting.UpdateActionImpl:
						if a.GetResource() == kustomizationGVR && a.GetNamespace() == ns && len(a.GetObject().(*unstructured.Unstructured).GetFinalizers()) == 0 {
							stripped = true
						}
					case clienttesting.DeleteActionImpl:
						if a.GetResource() == kustomizationGVR && a.GetNamespace() == ns && stripped && a.DeleteOptions.Preconditions != nil && a.DeleteOptions.Preconditions.ResourceVersion != nil {
							guarded = true
						}
					}
				}
				if !guarded {
					t.Errorf("no finalizer strip + guarded delete of the Kustomization: %v", rg.client.Actions())
				}
			}
		})
	}
}

// --- 4. spec.distribution.version (UPSTREAM.md §e) ---

func TestResolveVersion(t *testing.T) {
	const artifact = "oci://ghcr.io/controlplaneio-fluxcd/flux-operator-manifests:v0.58.1"
	for _, tc := range []struct {
		version, artifact, lastApplied string
		candidates                     []string
		want, wantErr                  string
	}{
		{version: "2.x", artifact: artifact, want: "v2.9.5"},
		{version: "2.9.x", artifact: artifact, want: "v2.9.5"},
		{version: "v2.9.5", artifact: artifact, want: "v2.9.5"},
		{version: "~2.9", artifact: artifact, want: "v2.9.5"},
		{version: ">=2.9.0 <2.10.0", want: "v2.9.5"},
		{version: "2.x", candidates: []string{"v2.9.4", "v2.9.5", "v2.8.3"}, want: "v2.9.5"},
		{version: "2.9.x", artifact: artifact, lastApplied: "v2.9.4@sha256:0123", want: "v2.9.5"},
		{version: "2.8.x", artifact: artifact,
			wantErr: `^no match found for semver: 2\.8\.x in /tmp/flux[0-9]+/flux matching embedded minor versions in /data/flux$`},
		{version: "v2.9.4", artifact: artifact,
			wantErr: `^no match found for semver: v2\.9\.4 in /tmp/flux[0-9]+/flux matching embedded minor versions in /data/flux$`},
		{version: "3.x",
			wantErr: `^no match found for semver: 3\.x in /data/flux matching embedded minor versions in /data/flux$`},
		{version: "2.x", candidates: []string{"v2.10.0"}, // 2.10 is not among the embedded minor versions
			wantErr: `^no match found for semver: 2\.x in /data/flux matching embedded minor versions in /data/flux$`},
		{version: "latest", wantErr: `^semver 'latest' parse error: improper constraint: "latest"$`},
		{version: "2.x", candidates: []string{"v2.8.3"}, lastApplied: "v2.9.5@sha256:0123",
			wantErr: `^downgrading from v2\.9\.5 to v2\.8\.3 is not supported, reinstall needed$`},
	} {
		fi := fluxInstance(1)
		_ = unstructured.SetNestedField(fi.Object, tc.version, "spec", "distribution", "version")
		_ = unstructured.SetNestedField(fi.Object, tc.artifact, "spec", "distribution", "artifact")
		if tc.lastApplied != "" {
			_ = unstructured.SetNestedField(fi.Object, tc.lastApplied, "status", "lastAppliedRevision")
		}
		candidates := tc.candidates
		if candidates == nil {
			candidates = []string{"v2.9.5"}
		}
		got, err := resolveVersion(fi, candidates)
		switch {
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("%q against %v: %q, %v; want %q", tc.version, candidates, got, err, tc.want)
		case tc.wantErr != "" && (err == nil || !regexp.MustCompile(tc.wantErr).MatchString(err.Error())):
			t.Errorf("%q against %v: %q, %v; want error %s", tc.version, candidates, got, err, tc.wantErr)
		}
	}
}

// A version that matches nothing fails the build at once, terminally: Ready=False/BuildFailed,
// Stalled=True, nothing applied, no retry until the spec changes (fluxinstance_controller.go:177-200).
func TestUnknownVersionFailsFast(t *testing.T) {
	fi := fluxInstance(1)
	_ = unstructured.SetNestedField(fi.Object, "2.8.x", "spec", "distribution", "version")
	rg := newRig(t, fi)
	rg.pass() // finalizer
	rg.pass() // build
	c := rg.expectReady(metav1.ConditionFalse, reasonBuildFailed, 1)
	re := regexp.MustCompile(`^build failed: no match found for semver: 2\.8\.x in /tmp/flux[0-9]+/flux matching embedded minor versions in /data/flux$`)
	if !re.MatchString(c.Message) {
		t.Errorf("Ready message %q", c.Message)
	}
	conds := conditionsOf(rg.get(fluxInstanceGVR, "flux"))
	if s := findCondition(conds, stalledType); s == nil || s.Status != metav1.ConditionTrue || s.Reason != reasonBuildFailed || s.Message != c.Message {
		t.Errorf("Stalled = %+v", s)
	}
	if findCondition(conds, reconcilingType) != nil {
		t.Error("Reconciling still set")
	}
	for _, gvr := range []schema.GroupVersionResource{namespaceGVR, gitGVR, kustomizationGVR} {
		if _, err := rg.lookup(gvr, ns); !apierrors.IsNotFound(err) {
			t.Errorf("%s applied despite the build failure: %v", gvr.Resource, err)
		}
	}

	// No retry: an hour later nothing has been attempted again.
	rg.now = rg.now.Add(time.Hour)
	rg.client.ClearActions()
	rg.pass()
	for _, a := range rg.client.Actions() {
		if a.GetVerb() == "patch" {
			t.Errorf("retried: %v", a)
		}
	}

	// Fixing the version (a new generation) reconciles again.
	fi = rg.get(fluxInstanceGVR, "flux")
	_ = unstructured.SetNestedField(fi.Object, "2.9.x", "spec", "distribution", "version")
	if err := rg.tracker.Update(fluxInstanceGVR, fi, ns); err != nil {
		t.Fatal(err)
	}
	rg.pass()
	rg.expectReady(metav1.ConditionUnknown, reasonProgressing, 2)
	if findCondition(conditionsOf(rg.get(fluxInstanceGVR, "flux")), stalledType) != nil {
		t.Error("Stalled kept after a new reconciliation")
	}
}

// --also-version: a FluxInstance that resolves to the other version gets that version's CRDs and
// the same accounts and RBAC; 2.9.x still resolves to the rig's own, and going back from it is the
// operator's downgrade refusal.
func TestAlsoVersion(t *testing.T) {
	install, err := loadInstallManifests([]string{"testdata/install"})
	if err != nil {
		t.Fatal(err)
	}
	older := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "gitrepositories.source.toolkit.fluxcd.io", "annotations": map[string]any{"version": "2.8"}},
	}}
	r := NewReconciler(nil, Options{FluxVersion: "v2.9.4", Install: install, AlsoVersions: map[string][]*unstructured.Unstructured{"v2.8.1": {older}}})
	if got := r.installFor("v2.9.4"); len(got) != len(install) {
		t.Errorf("v2.9.4: %d install objects, want --install-manifests' %d", len(got), len(install))
	}
	var crds, rest int
	for _, o := range r.installFor("v2.8.1") {
		if o.GetKind() == "CustomResourceDefinition" {
			crds++
			if o.GetAnnotations()["version"] != "2.8" {
				t.Errorf("v2.8.1 installs %s from --install-manifests", o.GetName())
			}
		} else {
			rest++
		}
	}
	var wantRest int
	for _, o := range install {
		if o.GetKind() != "CustomResourceDefinition" {
			wantRest++
		}
	}
	if crds != 1 || rest != wantRest || wantRest == 0 {
		t.Errorf("v2.8.1: %d CRDs and %d other objects, want 1 and %d", crds, rest, wantRest)
	}
	for _, tc := range []struct{ version, lastApplied, want, wantErr string }{
		{version: "2.8.x", want: "v2.8.1"},
		{version: "2.9.x", lastApplied: "v2.8.1@sha256:0123", want: "v2.9.4"},
		{version: "2.8.x", lastApplied: "v2.9.4@sha256:0123", wantErr: "downgrading from v2.9.4 to v2.8.1 is not supported, reinstall needed"},
	} {
		fi := fluxInstance(1)
		_ = unstructured.SetNestedField(fi.Object, tc.version, "spec", "distribution", "version")
		if tc.lastApplied != "" {
			_ = unstructured.SetNestedField(fi.Object, tc.lastApplied, "status", "lastAppliedRevision")
		}
		got, err := resolveVersion(fi, []string{"v2.9.4", "v2.8.1"})
		if (tc.wantErr == "" && (err != nil || got != tc.want)) || (tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr)) {
			t.Errorf("%s from %q: %q, %v; want %q %q", tc.version, tc.lastApplied, got, err, tc.want, tc.wantErr)
		}
	}
}

// --on-version: the hook runs with the resolved version after the apply and before the health wait
// (the operator's Deployments rolling to that version's images); its failure fails the attempt.
func TestOnVersion(t *testing.T) {
	var got []string
	var installs []bool
	hookErr := error(nil)
	fi := fluxInstance(1)
	_ = unstructured.SetNestedField(fi.Object, "2.8.x", "spec", "distribution", "version")
	rg := newRigWith(t, Options{
		AlsoVersions: map[string][]*unstructured.Unstructured{"v2.8.1": {}},
		OnVersion: func(_ context.Context, version string, install bool) error {
			got = append(got, version)
			installs = append(installs, install)
			return hookErr
		},
	}, fi)
	rg.pass() // finalizer
	rg.pass() // build, apply, hook
	if len(got) != 1 || got[0] != "v2.8.1" || !installs[0] {
		t.Fatalf("hook calls %v (install %v), want [v2.8.1] as an install", got, installs)
	}
	if _, err := rg.lookup(gitGVR, ns); err != nil {
		t.Errorf("the hook ran before the apply: %v", err)
	}
	rg.expectReady(metav1.ConditionUnknown, reasonProgressing, 1)

	// A hook that fails (controllers that never become ready) fails the attempt with its message.
	hookErr = errors.New("source-controller /readyz: not ready in 60 s")
	fi = rg.get(fluxInstanceGVR, "flux")
	_ = unstructured.SetNestedField(fi.Object, "2.9.x", "spec", "distribution", "version")
	fi.SetGeneration(2)
	if err := rg.tracker.Update(fluxInstanceGVR, fi, ns); err != nil {
		t.Fatal(err)
	}
	rg.pass()
	if got[len(got)-1] != "v2.9.5" || installs[len(installs)-1] {
		t.Errorf("hook calls %v (install %v), want the rig's own version last, as an upgrade", got, installs)
	}
	c := rg.expectReady(metav1.ConditionFalse, reasonFailed, 2)
	if !strings.Contains(c.Message, "controllers of Flux v2.9.5: source-controller /readyz: not ready in 60 s") {
		t.Errorf("Ready message %q", c.Message)
	}
}
