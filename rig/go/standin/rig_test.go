package main

// The fake API server the tests run the stand-in against: client-go's fake dynamic client with
// client-go's field-managed object tracker.

import (
	"cmp"
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"
)

type rig struct {
	t       *testing.T
	client  *fake.FakeDynamicClient
	tracker clienttesting.ObjectTracker
	r       *Reconciler
	now     time.Time
}

// newRig returns a Reconciler on client-go's fake dynamic client, whose object tracker does what the
// API server does on writes (apiTracker), server-side apply with managedFields included.
func newRig(t *testing.T, objs ...runtime.Object) *rig {
	return newRigWith(t, Options{}, objs...)
}

func newRigWith(t *testing.T, opts Options, objs ...runtime.Object) *rig {
	s := runtime.NewScheme()
	lists := map[schema.GroupVersionResource]string{}
	tr := &apiTracker{ObjectTracker: clienttesting.NewObjectTracker(s, serializer.NewCodecFactory(s).UniversalDecoder()),
		kinds: map[schema.GroupVersionResource]schema.GroupVersionKind{}}
	register := func(gvr schema.GroupVersionResource, kind string) {
		s.AddKnownTypeWithName(gvr.GroupVersion().WithKind(kind), &unstructured.Unstructured{})
		s.AddKnownTypeWithName(gvr.GroupVersion().WithKind(kind+"List"), &unstructured.UnstructuredList{})
		lists[gvr] = kind + "List"
		tr.kinds[gvr] = gvr.GroupVersion().WithKind(kind)
	}
	register(fluxInstanceGVR, "FluxInstance")
	register(namespaceGVR, "Namespace")
	register(crdGVR, "CustomResourceDefinition")
	register(serviceAccountGVR, "ServiceAccount")
	register(clusterRoleGVR, "ClusterRole")
	register(clusterRoleBindingGVR, "ClusterRoleBinding")
	for kind, gvr := range fluxKinds {
		register(gvr, kind)
	}
	c := fake.NewSimpleDynamicClientWithCustomListKinds(s, lists)
	for _, o := range objs {
		if err := tr.Add(o); err != nil {
			t.Fatal(err)
		}
	}
	c.ReactionChain = nil
	c.AddReactor("patch", "*", dryRunReactor)
	c.AddReactor("*", "*", clienttesting.ObjectReaction(tr))
	rg := &rig{t: t, client: c, tracker: tr, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	opts.FluxVersion = cmp.Or(opts.FluxVersion, "v2.9.5")
	opts.Now = func() time.Time { return rg.now }
	rg.r = NewReconciler(c, opts)
	return rg
}

// apiTracker is client-go's object tracker plus what the API server does on a write: managedFields
// and server-side apply, by the API server's own field manager for custom resources
// (k8s.io/apimachinery managedfields, structured-merge-diff, with a schema deduced from the object);
// a new object gets a UID, generation 1 and, for the Flux kinds, the CRDs' status default
// {observedGeneration: -1}; a change of spec bumps the generation. (client-go's
// NewFieldManagedObjectTracker converts through the scheme, which renames an unstructured object to
// the first kind registered in its group version.)
type apiTracker struct {
	clienttesting.ObjectTracker
	kinds map[schema.GroupVersionResource]schema.GroupVersionKind
}

// first is the options a tracker call was given, or the zero ones.
func first[T any](opts []T) (o T) {
	if len(opts) > 0 {
		o = opts[0]
	}
	return o
}

// update writes obj as an update by manager: what a create, an update and a (non-apply) patch are to
// the API server's field manager.
func (t *apiTracker) update(gvr schema.GroupVersionResource, ns string, obj runtime.Object, manager string) error {
	return t.write(gvr, ns, obj, func(live runtime.Object, fm *managedfields.FieldManager) (runtime.Object, error) {
		return fm.Update(live, obj, manager)
	})
}

func (t *apiTracker) Create(gvr schema.GroupVersionResource, obj runtime.Object, ns string, opts ...metav1.CreateOptions) error {
	return t.update(gvr, ns, obj, first(opts).FieldManager)
}

func (t *apiTracker) Update(gvr schema.GroupVersionResource, obj runtime.Object, ns string, opts ...metav1.UpdateOptions) error {
	return t.update(gvr, ns, obj, first(opts).FieldManager)
}

func (t *apiTracker) Patch(gvr schema.GroupVersionResource, obj runtime.Object, ns string, opts ...metav1.PatchOptions) error {
	return t.update(gvr, ns, obj, first(opts).FieldManager)
}

func (t *apiTracker) Apply(gvr schema.GroupVersionResource, obj runtime.Object, ns string, opts ...metav1.PatchOptions) error {
	o := first(opts)
	return t.write(gvr, ns, obj, func(live runtime.Object, fm *managedfields.FieldManager) (runtime.Object, error) {
		return fm.Apply(live, obj, o.FieldManager, o.Force != nil && *o.Force)
	})
}

func (t *apiTracker) write(gvr schema.GroupVersionResource, ns string, obj runtime.Object,
	do func(live runtime.Object, fm *managedfields.FieldManager) (runtime.Object, error)) error {
	gvk := t.kinds[gvr]
	fm, err := managedfields.NewDefaultCRDFieldManager(managedfields.NewDeducedTypeConverter(), sameVersion{}, noDefaults{}, creater{},
		gvk, gvk.GroupVersion(), "", nil)
	if err != nil {
		return err
	}
	name := obj.(metav1.Object).GetName()
	old, getErr := t.ObjectTracker.Get(gvr, ns, name, metav1.GetOptions{})
	live := old
	if apierrors.IsNotFound(getErr) {
		live, _ = creater{}.New(gvk)
	} else if getErr != nil {
		return getErr
	}
	out, err := do(live, fm)
	if err != nil {
		return err
	}
	u := out.(*unstructured.Unstructured)
	u.SetGroupVersionKind(gvk)
	if apierrors.IsNotFound(getErr) {
		u.SetUID(types.UID(name + "-" + gvr.Resource))
		u.SetGeneration(1)
		if _, isFlux := fluxKinds[gvk.Kind]; isFlux && u.Object["status"] == nil {
			u.Object["status"] = map[string]any{"observedGeneration": int64(-1)}
		}
		return t.ObjectTracker.Create(gvr, u, ns)
	}
	prev := old.(*unstructured.Unstructured)
	if !reflect.DeepEqual(prev.Object["spec"], u.Object["spec"]) {
		u.SetGeneration(prev.GetGeneration() + 1)
	}
	return t.ObjectTracker.Update(gvr, u, ns)
}

// sameVersion, noDefaults and creater are the conversion, defaulting and creation the field
// manager needs, for unstructured objects of one version.
type sameVersion struct{}

func (sameVersion) Convert(in, out, _ any) error {
	out.(*unstructured.Unstructured).Object = runtime.DeepCopyJSON(in.(*unstructured.Unstructured).Object)
	return nil
}
func (sameVersion) ConvertToVersion(in runtime.Object, _ runtime.GroupVersioner) (runtime.Object, error) {
	return in.DeepCopyObject(), nil
}
func (sameVersion) ConvertFieldLabel(_ schema.GroupVersionKind, label, value string) (string, string, error) {
	return label, value, nil
}

type noDefaults struct{}

func (noDefaults) Default(runtime.Object) {}

type creater struct{}

func (creater) New(gvk schema.GroupVersionKind) (runtime.Object, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	return u, nil
}

// dryRunReactor answers a dry-run apply without storing anything.
func dryRunReactor(action clienttesting.Action) (bool, runtime.Object, error) {
	pa, ok := action.(clienttesting.PatchActionImpl)
	if !ok || len(pa.PatchOptions.DryRun) == 0 {
		return false, nil, nil
	}
	obj := &unstructured.Unstructured{}
	return true, obj, json.Unmarshal(pa.GetPatch(), &obj.Object)
}

// ssaApply server-side applies obj as a field manager other than the stand-in.
func (rg *rig) ssaApply(manager, js string) {
	rg.t.Helper()
	obj := &unstructured.Unstructured{}
	if err := json.Unmarshal([]byte(js), &obj.Object); err != nil {
		rg.t.Fatal(err)
	}
	ri := rg.client.Resource(gvrOf(obj))
	var res dynamic.ResourceInterface = ri
	if obj.GetNamespace() != "" {
		res = ri.Namespace(obj.GetNamespace())
	}
	if _, err := res.Apply(context.Background(), obj.GetName(), obj, metav1.ApplyOptions{FieldManager: manager, Force: true}); err != nil {
		rg.t.Fatalf("apply as %s: %v", manager, err)
	}
}

func (rg *rig) pass() {
	rg.t.Helper()
	rg.r.ReconcileAll(context.Background())
}

func (rg *rig) get(gvr schema.GroupVersionResource, name string) *unstructured.Unstructured {
	rg.t.Helper()
	u, err := rg.lookup(gvr, name)
	if err != nil {
		rg.t.Fatalf("get %s %s: %v", gvr.Resource, name, err)
	}
	return u
}

// lookup gets an object in flux-system, or a cluster-scoped one (Namespace, CRD).
func (rg *rig) lookup(gvr schema.GroupVersionResource, name string) (*unstructured.Unstructured, error) {
	if gvr == namespaceGVR || gvr == crdGVR {
		return rg.client.Resource(gvr).Get(context.Background(), name, metav1.GetOptions{})
	}
	return rg.client.Resource(gvr).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
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
	if err := rg.tracker.Update(gvr, u, ns); err != nil {
		rg.t.Fatal(err)
	}
}
