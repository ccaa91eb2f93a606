package main

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic/fake"
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
	    "distribution": {"version": "2.9.x", "registry": "ghcr.io/fluxcd"},
	    "components": ["source-controller", "kustomize-controller", "helm-controller"],
	    "cluster": {"type": "kubernetes", "multitenant": true, "tenantDefaultServiceAccount": "flux", "networkPolicy": true, "domain": "cluster.local"},
	    "sync": {"kind": "GitRepository", "url": "ssh://git@git.example/fleet.git", "ref": "refs/heads/main",
	             "path": "clusters/staging", "pullSecret": "flux-system", "interval": "1m"}
	  }}`), &u.Object)
	u.SetGeneration(gen)
	return u
}

type rig struct {
	t      *testing.T
	client *fake.FakeDynamicClient
	r      *Reconciler
	now    time.Time
}

func newRig(t *testing.T, objs ...runtime.Object) *rig {
	lists := map[schema.GroupVersionResource]string{fluxInstanceGVR: "FluxInstanceList"}
	for kind, gvr := range fluxKinds {
		lists[gvr] = kind + "List"
	}
	c := fake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), lists, objs...)
	c.PrependReactor("patch", "*", applyReactor(c.Tracker()))
	rg := &rig{t: t, client: c, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	rg.r = NewReconciler(c, Options{FluxVersion: "v2.9.5", Now: func() time.Time { return rg.now }})
	return rg
}

// applyReactor gives the fake client server-side-apply-like create-or-update (the plain fake
// tracker only applies to existing objects), bumping metadata.generation on spec changes.
func applyReactor(tr clienttesting.ObjectTracker) clienttesting.ReactionFunc {
	return func(action clienttesting.Action) (bool, runtime.Object, error) {
		pa := action.(clienttesting.PatchAction)
		if pa.GetPatchType() != types.ApplyPatchType {
			return false, nil, nil
		}
		obj := &unstructured.Unstructured{}
		if err := json.Unmarshal(pa.GetPatch(), &obj.Object); err != nil {
			return true, nil, err
		}
		gvr, ns := pa.GetResource(), pa.GetNamespace()
		existing, err := tr.Get(gvr, ns, pa.GetName())
		if apierrors.IsNotFound(err) {
			obj.SetGeneration(1)
			obj.SetUID(types.UID(pa.GetName() + "-" + gvr.Resource))
			return true, obj, tr.Create(gvr, obj, ns)
		} else if err != nil {
			return true, nil, err
		}
		ex := existing.(*unstructured.Unstructured).DeepCopy()
		if !reflect.DeepEqual(ex.Object["spec"], obj.Object["spec"]) {
			ex.SetGeneration(ex.GetGeneration() + 1)
		}
		ex.Object["spec"] = obj.Object["spec"]
		ex.SetLabels(obj.GetLabels())
		ex.SetAnnotations(obj.GetAnnotations())
		return true, ex, tr.Update(gvr, ex, ns)
	}
}

func (rg *rig) pass() {
	rg.t.Helper()
	rg.r.ReconcileAll(context.Background())
}

func (rg *rig) get(gvr schema.GroupVersionResource, name string) *unstructured.Unstructured {
	rg.t.Helper()
	u, err := rg.client.Resource(gvr).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		rg.t.Fatalf("get %s %s: %v", gvr.Resource, name, err)
	}
	return u
}

func (rg *rig) ready() metav1.Condition {
	rg.t.Helper()
	c := findCondition(conditionsOf(rg.get(fluxInstanceGVR, "flux")), readyType)
	if c == nil {
		rg.t.Fatal("no Ready condition")
	}
	return *c
}

func (rg *rig) expectReady(status metav1.ConditionStatus, reason string, gen int64) metav1.Condition {
	rg.t.Helper()
	c := rg.ready()
	if c.Status != status || c.Reason != reason || c.ObservedGeneration != gen {
		rg.t.Fatalf("Ready = %s/%s gen %d (%q), want %s/%s gen %d", c.Status, c.Reason, c.ObservedGeneration, c.Message, status, reason, gen)
	}
	return c
}

// setStatus writes a controller's status onto a sync object.
func (rg *rig) setStatus(gvr schema.GroupVersionResource, ready metav1.ConditionStatus, observed int64, extra ...metav1.Condition) {
	rg.t.Helper()
	u := rg.get(gvr, ns)
	conds := append([]metav1.Condition{{Type: readyType, Status: ready, Reason: "Test", Message: "ready " + string(ready),
		LastTransitionTime: metav1.NewTime(rg.now)}}, extra...)
	b, _ := json.Marshal(conds)
	var raw []any
	_ = json.Unmarshal(b, &raw)
	u.Object["status"] = map[string]any{"observedGeneration": observed, "conditions": raw}
	if err := rg.client.Tracker().Update(gvr, u, ns); err != nil {
		rg.t.Fatal(err)
	}
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
	for _, o := range []*unstructured.Unstructured{git, ks} {
		l, a := o.GetLabels(), o.GetAnnotations()
		if l["app.kubernetes.io/managed-by"] != "flux-operator" || l[ownerNameLabel] != "flux" || l[ownerNSLabel] != ns ||
			l["app.kubernetes.io/version"] != "v2.9.5" || a["kustomize.toolkit.fluxcd.io/ssa"] != "Ignore" ||
			a["kustomize.toolkit.fluxcd.io/prune"] != "Disabled" {
			t.Errorf("%s labels %v annotations %v", o.GetKind(), l, a)
		}
	}
	// Field manager on the apply.
	for _, a := range rg.client.Actions() {
		if pa, ok := a.(clienttesting.PatchActionImpl); ok && pa.GetPatchType() == types.ApplyPatchType {
			if pa.PatchOptions.FieldManager != "flux-operator" || pa.PatchOptions.Force == nil || !*pa.PatchOptions.Force {
				t.Errorf("apply options %+v", pa.PatchOptions)
			}
		}
	}
	entries, _, _ := unstructured.NestedSlice(rg.get(fluxInstanceGVR, "flux").Object, "status", "inventory", "entries")
	if len(entries) != 2 || entries[1].(map[string]any)["id"] != "flux-system_flux-system_kustomize.toolkit.fluxcd.io_Kustomization" {
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
	if err := rg.client.Tracker().Update(fluxInstanceGVR, fi, ns); err != nil {
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

func TestDeletion(t *testing.T) {
	for _, disabled := range []bool{false, true} {
		rg := newRig(t, fluxInstance(1))
		rg.pass()
		rg.pass()
		rg.setStatus(gitGVR, metav1.ConditionTrue, 1)
		rg.setStatus(kustomizationGVR, metav1.ConditionTrue, 1)
		rg.pass()
		rg.expectReady(metav1.ConditionTrue, reasonSucceeded, 1)
		// The controllers' finalizers are on the sync objects.
		for _, gvr := range []schema.GroupVersionResource{gitGVR, kustomizationGVR} {
			u := rg.get(gvr, ns)
			u.SetFinalizers([]string{"finalizers.fluxcd.io"})
			_ = rg.client.Tracker().Update(gvr, u, ns)
		}
		fi := rg.get(fluxInstanceGVR, "flux")
		now := metav1.NewTime(rg.now)
		fi.SetDeletionTimestamp(&now)
		if disabled {
			fi.SetAnnotations(map[string]string{reconcileAnn: "disabled"})
		}
		_ = rg.client.Tracker().Update(fluxInstanceGVR, fi, ns)
		rg.client.ClearActions()
		rg.pass()

		if f := rg.get(fluxInstanceGVR, "flux").GetFinalizers(); len(f) != 0 {
			t.Errorf("disabled=%v: finalizers left %v", disabled, f)
		}
		for _, gvr := range []schema.GroupVersionResource{gitGVR, kustomizationGVR} {
			_, err := rg.client.Resource(gvr).Namespace(ns).Get(context.Background(), ns, metav1.GetOptions{})
			if disabled && err != nil {
				t.Errorf("disabled: %s deleted: %v", gvr.Resource, err)
			}
			if !disabled && !apierrors.IsNotFound(err) {
				t.Errorf("%s not deleted: %v", gvr.Resource, err)
			}
		}
		if !disabled {
			// Finalizers stripped before the delete, delete guarded by resourceVersion.
			var sawUpdate, sawDelete bool
			for _, a := range rg.client.Actions() {
				switch a := a.(type) {
				case clienttesting.UpdateActionImpl:
					if a.GetResource() == kustomizationGVR && len(a.GetObject().(*unstructured.Unstructured).GetFinalizers()) == 0 {
						sawUpdate = true
					}
				case clienttesting.DeleteActionImpl:
					if a.GetResource() == kustomizationGVR && sawUpdate && a.DeleteOptions.Preconditions != nil && a.DeleteOptions.Preconditions.ResourceVersion != nil {
						sawDelete = true
					}
				}
			}
			if !sawDelete {
				t.Errorf("no finalizer strip + guarded delete of the Kustomization: %v", rg.client.Actions())
			}
		}
	}
}

func TestSyncDefaults(t *testing.T) {
	fi := fluxInstance(1)
	_ = unstructured.SetNestedField(fi.Object, false, "spec", "cluster", "multitenant")
	unstructured.RemoveNestedField(fi.Object, "spec", "sync", "interval")
	_ = unstructured.SetNestedField(fi.Object, "fleet", "spec", "sync", "name")
	objs, err := buildSyncObjects(fi, "v2.9.5")
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
	if err := rg.client.Tracker().Update(fluxInstanceGVR, fi, ns); err != nil {
		t.Fatal(err)
	}
	rg.pass()
	rg.expectReady(metav1.ConditionTrue, reasonSucceeded, 2)
	for _, gvr := range []schema.GroupVersionResource{gitGVR, kustomizationGVR} {
		if _, err := rg.client.Resource(gvr).Namespace(ns).Get(context.Background(), ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s not garbage collected: %v", gvr.Resource, err)
		}
	}
	if entries, _, _ := unstructured.NestedSlice(rg.get(fluxInstanceGVR, "flux").Object, "status", "inventory", "entries"); len(entries) != 0 {
		t.Errorf("inventory = %v", entries)
	}
}
