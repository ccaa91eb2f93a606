package main

// The FluxInstance state machine (UPSTREAM.md §c, §d).

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log"
	"slices"
	"sort"
	"strings"
	"time"

	kstatuspkg "github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/pkg/ssa"
	ssautil "github.com/fluxcd/pkg/ssa/utils"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// Condition types, reasons and messages the operator writes (fluxcd/pkg apis/meta conditions.go,
// internal/controller/common.go:30-34,93-95@v0.58.1, api/v1/common_types.go:20-21).
const (
	readyType       = "Ready"
	reconcilingType = "Reconciling"
	stalledType     = "Stalled"

	reasonProgressing      = "Progressing"
	reasonProgressingRetry = "ProgressingWithRetry"
	reasonSucceeded        = "ReconciliationSucceeded"
	reasonFailed           = "ReconciliationFailed"
	reasonBuildFailed      = "BuildFailed"
	reasonDisabled         = "ReconciliationDisabled"

	msgInProgress    = "Reconciliation in progress"
	msgInitSuspended = "Initialized with reconciliation suspended"
)

// Options configure the Reconciler.
type Options struct {
	Namespace string
	// FluxVersion is the Flux version the rig's controllers are: the one candidate
	// spec.distribution.version is resolved against (build.go).
	FluxVersion  string
	FieldManager string
	// OverrideManagers are the operator's --override-manager values: more field managers whose
	// fields are taken over before each apply (apply.go).
	OverrideManagers     []string
	DeleteAllFluxObjects bool
	DeleteCRDs           bool
	// Install are the objects of --install-manifests (install.go): the rig's CRDs, ServiceAccounts
	// and RBAC, applied for spec.components as the operator applies its manifests'.
	Install []*unstructured.Unstructured
	// AlsoVersions are more versions spec.distribution.version may resolve to (--also-version), each
	// with the CRDs installed in place of Install's when it does.
	AlsoVersions map[string][]*unstructured.Unstructured
	// OnVersion, when set, is run with the resolved version after each apply and before the health
	// wait (--on-version): where the operator's apply rolls the controllers' Deployments to that
	// version's images, the rig restarts its controller processes on that version's binaries. An
	// error fails the attempt, as a Deployment that never becomes ready would. install is true on
	// the first apply of a FluxInstance ("Installing revision"), where the operator creates the
	// Deployments, so their pods start after the CRDs it applied.
	OnVersion func(ctx context.Context, version string, install bool) error
	// Now and MinRetryDelay/MaxRetryDelay are for tests; defaults: time.Now, 750ms, 15m
	// (the operator's rate limiter, fluxcd/pkg runtime/controller/rate_limiter.go:28-29@runtime/v0.111.0).
	Now                          func() time.Time
	MinRetryDelay, MaxRetryDelay time.Duration
	// TerminationInterval/Timeout: the wait for deleted CRDs; defaults 5s, 5m (uninstall.go).
	TerminationInterval, TerminationTimeout time.Duration
}

// Reconciler reconciles FluxInstances by polling.
type Reconciler struct {
	client  dynamic.Interface
	opts    Options
	cleanup ssa.ApplyCleanupOptions
	state   map[types.UID]*instanceState
}

type instanceState struct {
	attempt       *attempt  // the attempt in flight (apply done, waiting for health), or nil
	lastGen       int64     // generation and reconcile request of the last finished attempt
	lastRequest   string    //
	nextRun       time.Time // periodic reconcile or retry; zero = only on a change
	failures      int       // consecutive failures, for the retry backoff
	loggedSpecGen int64     // generation whose spec.components were logged
	loggedOff     bool      // "reconciliation disabled" logged
}

type attempt struct {
	generation int64
	request    string
	started    time.Time
	deadline   time.Time
	wait       bool
	objects    []*unstructured.Unstructured
}

// NewReconciler returns a Reconciler using client.
func NewReconciler(client dynamic.Interface, opts Options) *Reconciler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MinRetryDelay == 0 {
		opts.MinRetryDelay = 750 * time.Millisecond
	}
	if opts.MaxRetryDelay == 0 {
		opts.MaxRetryDelay = 15 * time.Minute
	}
	if opts.FieldManager == "" {
		opts.FieldManager = "flux-operator"
	}
	if opts.TerminationInterval == 0 {
		opts.TerminationInterval = 5 * time.Second
	}
	if opts.TerminationTimeout == 0 {
		opts.TerminationTimeout = 5 * time.Minute
	}
	return &Reconciler{client: client, opts: opts, cleanup: cleanupOptions(opts.OverrideManagers), state: map[types.UID]*instanceState{}}
}

// installFor is what --install-manifests gives, with the CRDs of the --also-version resolved to, if any.
func (r *Reconciler) installFor(version string) []*unstructured.Unstructured {
	crds, ok := r.opts.AlsoVersions[version]
	if !ok {
		return r.opts.Install
	}
	out := append([]*unstructured.Unstructured{}, crds...)
	for _, o := range r.opts.Install {
		if o.GetKind() != "CustomResourceDefinition" {
			out = append(out, o)
		}
	}
	return out
}

// ReconcileAll runs one pass over all FluxInstances. settled reports that there is at least one
// instance and none has an attempt in flight or pending on a change; ready that every instance is
// Ready=True.
func (r *Reconciler) ReconcileAll(ctx context.Context) (settled, ready bool) {
	list, err := r.client.Resource(fluxInstanceGVR).Namespace(r.opts.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		log.Printf("list fluxinstances: %v", err)
		return false, false
	}
	settled, ready = len(list.Items) > 0, true // --once waits for the FluxInstance to exist
	seen := map[types.UID]bool{}
	for i := range list.Items {
		fi := &list.Items[i]
		seen[fi.GetUID()] = true
		if err := r.Reconcile(ctx, fi); err != nil {
			log.Printf("FluxInstance/%s/%s: %v", fi.GetNamespace(), fi.GetName(), err)
		}
		st := r.state[fi.GetUID()]
		if st != nil && (st.attempt != nil || st.lastGen != fi.GetGeneration() || st.lastRequest != fi.GetAnnotations()[requestedAtAnn]) && !isDisabled(fi) {
			settled = false
		}
		if cur, err := r.get(ctx, fi); err == nil {
			if c := findCondition(conditionsOf(cur), readyType); c == nil || c.Status != metav1.ConditionTrue {
				ready = false
			}
		}
	}
	for uid := range r.state {
		if !seen[uid] {
			delete(r.state, uid)
		}
	}
	return settled, ready
}

// Reconcile handles one FluxInstance, mirroring FluxInstanceReconciler.Reconcile
// (internal/controller/fluxinstance_controller.go:66-116@v0.58.1).
func (r *Reconciler) Reconcile(ctx context.Context, fi *unstructured.Unstructured) error {
	st := r.state[fi.GetUID()]
	if st == nil {
		st = &instanceState{lastGen: -1}
		r.state[fi.GetUID()] = st
	}
	id := fmt.Sprintf("FluxInstance/%s/%s", fi.GetNamespace(), fi.GetName())

	if fi.GetDeletionTimestamp() != nil {
		return r.uninstall(ctx, fi, id)
	}

	if !slices.Contains(fi.GetFinalizers(), finalizer) {
		// initializeObjectStatus, common.go:38-54: finalizer plus initial conditions, then requeue.
		log.Printf("%s: adding finalizer %s", id, finalizer)
		if err := r.patchMeta(ctx, fi, append(fi.GetFinalizers(), finalizer)); err != nil {
			return err
		}
		conds := conditionsOf(fi)
		gen := fi.GetGeneration()
		if isDisabled(fi) {
			conds = setCondition(conds, cond(readyType, metav1.ConditionTrue, reasonDisabled, msgInitSuspended), gen, r.opts.Now())
		} else {
			conds = setCondition(conds, cond(readyType, metav1.ConditionUnknown, reasonProgressing, msgInProgress), gen, r.opts.Now())
			conds = markReconciling(conds, gen, r.opts.Now())
		}
		return r.patchStatus(ctx, fi, map[string]any{"conditions": conds})
	}

	if isDisabled(fi) {
		// fluxinstance_controller.go:107-112: nothing is reconciled while disabled.
		if !st.loggedOff {
			log.Printf("%s: reconciliation is disabled (%s: disabled)", id, reconcileAnn)
			st.loggedOff = true
		}
		st.attempt, st.lastGen = nil, -1 // re-enabling reconciles (AnnotationChangedPredicate, fluxinstance_manager.go:30-33)
		return nil
	}
	st.loggedOff = false

	gen := fi.GetGeneration()
	request := fi.GetAnnotations()[requestedAtAnn]
	now := r.opts.Now()
	if st.attempt != nil && (st.attempt.generation != gen || st.attempt.request != request) {
		// A new event during the health check cancels it (runtime/controller WrapReconciler,
		// fluxinstance_manager.go:35-44) and starts a new reconciliation.
		log.Printf("%s: new reconciliation triggered, canceling health checks", id)
		st.attempt = nil
	}
	if st.attempt == nil {
		due := gen != st.lastGen || request != st.lastRequest || (!st.nextRun.IsZero() && !now.Before(st.nextRun))
		if !due {
			return nil
		}
		if gen != st.loggedSpecGen {
			log.Printf("%s: components %v are the rig's processes; the stand-in applies the CRDs, accounts and RBAC it was given for them", id, components(fi))
			st.loggedSpecGen = gen
		}
		if err := r.start(ctx, fi, st, id); err != nil {
			return err
		}
		if st.attempt == nil {
			return nil // finished (failed) while starting
		}
	}
	return r.checkHealth(ctx, fi, st, id)
}

// start begins a reconciliation: reconcile(), fluxinstance_controller.go:118-245@v0.58.1, up to the wait.
func (r *Reconciler) start(ctx context.Context, fi *unstructured.Unstructured, st *instanceState, id string) error {
	now := r.opts.Now()
	gen := fi.GetGeneration()
	oldEntries, _, _ := unstructured.NestedSlice(fi.Object, "status", "inventory", "entries")
	conds := conditionsOf(fi)
	conds = setCondition(conds, cond(readyType, metav1.ConditionUnknown, reasonProgressing, msgInProgress), gen, now)
	conds = markReconciling(conds, gen, now)
	a := &attempt{generation: gen, request: fi.GetAnnotations()[requestedAtAnn], started: now, wait: true}
	if w, found, _ := unstructured.NestedBool(fi.Object, "spec", "wait"); found {
		a.wait = w // spec.wait, default true (api/v1/fluxinstance_types.go:420-425)
	}
	a.deadline = now.Add(annotationDuration(fi, reconcileTimeAnn, 5*time.Minute)) // GetTimeout, :496-507

	// build() (fluxinstance_controller.go:306-435): resolve the version, render the objects. A build
	// failure is terminal (:177-200): Ready=False/BuildFailed, Stalled=True, no requeue.
	candidates := []string{r.opts.FluxVersion}
	for v := range r.opts.AlsoVersions {
		candidates = append(candidates, v)
	}
	version, err := resolveVersion(fi, candidates)
	var objs []*unstructured.Unstructured
	if err == nil {
		objs, err = buildObjects(fi, version, r.opts.FieldManager, r.installFor(version))
	}
	if err != nil {
		msg := "build failed: " + err.Error()
		conds = setCondition(conds, cond(readyType, metav1.ConditionFalse, reasonBuildFailed, msg), gen, now)
		conds = deleteCondition(conds, reconcilingType)
		conds = setCondition(conds, cond(stalledType, metav1.ConditionTrue, reasonBuildFailed, msg), gen, now)
		st.lastGen, st.lastRequest, st.nextRun = gen, a.request, time.Time{}
		log.Printf("%s: %s", id, msg)
		return r.patchStatus(ctx, fi, finalStatus(fi, conds))
	}
	if version != r.opts.FluxVersion && r.opts.OnVersion == nil {
		log.Printf("%s: resolved Flux %s, but the rig's controllers are %s", id, version, r.opts.FluxVersion)
	}
	a.objects = objs

	status := map[string]any{"conditions": conds}
	rev := revision(version, fi, objs)
	last, _, _ := unstructured.NestedString(fi.Object, "status", "lastAttemptedRevision")
	if last != rev {
		verb := "Upgrading to"
		if last == "" {
			verb = "Installing"
		}
		log.Printf("%s: %s revision %s", id, verb, rev)
		status["lastAttemptedRevision"] = rev
	}
	if err := r.patchStatus(ctx, fi, status); err != nil {
		return err
	}

	// apply() (:440-584): server-side apply; on failure the inventory is left as it was (:502-505).
	st.attempt = a
	if err := r.applyStaged(ctx, objs); err != nil {
		return r.fail(ctx, fi, st, id, err.Error())
	}
	if r.opts.OnVersion != nil {
		if err := r.opts.OnVersion(ctx, version, last == ""); err != nil {
			return r.fail(ctx, fi, st, id, fmt.Sprintf("controllers of Flux %s: %v", version, err))
		}
	}
	// status.inventory and status.components are set right after the apply (:521-538), in the
	// change set's order: stage by stage, each in ssa's order.
	entries := []any{}
	current := map[string]bool{}
	for _, o := range objs {
		entries = append(entries, map[string]any{"id": inventoryID(o), "v": o.GroupVersionKind().Version})
		current[inventoryID(o)] = true
	}
	// Garbage-collect what the last inventory had and this one has not, e.g. after spec.sync was
	// removed (:540-568): a plain delete (the controllers finalize these objects as usual), only of
	// objects with the owner labels and without fluxcd.controlplane.io/prune: disabled.
	var stale []*unstructured.Unstructured
	for _, e := range oldEntries {
		m, _ := e.(map[string]any)
		if eid, _ := m["id"].(string); !current[eid] {
			if o, ok := inventoryObject(eid); ok && !rigKept(o) {
				stale = append(stale, o)
			}
		}
	}
	gcErr := r.deleteAll(ctx, stale, ownerManager(r.opts.FieldManager).GetOwnerLabels(fi.GetName(), fi.GetNamespace()), false)
	if gcErr == nil && len(stale) > 0 {
		log.Printf("%s: garbage collected %s", id, ssautil.FmtUnstructuredList(stale))
	}
	extra := map[string]any{"inventory": map[string]any{"entries": entries}, "components": componentImages(version, fi)}
	if err := r.patchStatus(ctx, fi, extra); err != nil {
		return err
	}
	if gcErr != nil {
		return r.fail(ctx, fi, st, id, gcErr.Error())
	}
	return nil
}

// checkHealth is the wait of apply(), fluxinstance_controller.go:570-584, done one poll at a time
// with kstatus semantics (fluxcd/pkg ssa/manager_wait.go:88-205@ssa/v0.77.0).
func (r *Reconciler) checkHealth(ctx context.Context, fi *unstructured.Unstructured, st *instanceState, id string) error {
	a := st.attempt
	if !a.wait || len(a.objects) == 0 {
		return r.succeed(ctx, fi, st, id)
	}
	var notCurrent, notReady []string
	allDone := true // only Current or Failed: the wait ends early (manager_wait.go:129-150)
	for _, o := range a.objects {
		cur, err := r.resource(o).Get(ctx, o.GetName(), metav1.GetOptions{})
		ref := ssautil.FmtUnstructured(o)
		s := "NotFound"
		if err == nil {
			s = kstatus(cur)
			// aggregateNotReadyStatus (common.go:112-130): Flux objects whose Ready is not True.
			if c := findCondition(conditionsOf(cur), readyType); c != nil && c.Status != metav1.ConditionTrue &&
				strings.HasSuffix(o.GroupVersionKind().Group, ".fluxcd.io") {
				notReady = append(notReady, fmt.Sprintf("%s status: %s", ref, c.Message))
			}
		} else if !apierrors.IsNotFound(err) {
			return err
		}
		if s != "Current" {
			notCurrent = append(notCurrent, fmt.Sprintf("%s status: '%s'", ref, s))
		}
		if s != "Current" && s != "Failed" {
			allDone = false
		}
	}
	if len(notCurrent) == 0 {
		return r.succeed(ctx, fi, st, id)
	}
	timedOut := !r.opts.Now().Before(a.deadline)
	if !allDone && !timedOut {
		return nil // still waiting: Ready stays Unknown/Progressing
	}
	prefix := "failed early due to stalled resources"
	if timedOut {
		prefix = "timeout waiting for"
	}
	// fluxinstance_controller.go:580-581: fmt.Errorf("%w\n%s", err, readyStatus), the newline even
	// when readyStatus is empty.
	msg := fmt.Sprintf("%s: [%s]\n%s", prefix, strings.Join(notCurrent, ", "), strings.Join(notReady, "\n"))
	return r.fail(ctx, fi, st, id, msg)
}

// succeed: fluxinstance_controller.go:247-272 and finalizeObjectStatus (common.go:58-77).
func (r *Reconciler) succeed(ctx context.Context, fi *unstructured.Unstructured, st *instanceState, id string) error {
	cur, err := r.get(ctx, fi) // fresh copy: start() patched the status
	if err != nil {
		return err
	}
	now := r.opts.Now()
	gen := cur.GetGeneration()
	msg := "Reconciliation finished in " + fmtDuration(now.Sub(st.attempt.started))
	conds := setCondition(conditionsOf(cur), cond(readyType, metav1.ConditionTrue, reasonSucceeded, msg), gen, now)
	conds = deleteCondition(conds, reconcilingType)
	status := finalStatus(cur, conds)
	rev, _, _ := unstructured.NestedString(cur.Object, "status", "lastAttemptedRevision")
	status["lastAppliedRevision"] = rev
	log.Printf("%s: %s, revision %s", id, msg, rev)
	st.lastGen, st.lastRequest = st.attempt.generation, st.attempt.request
	st.nextRun = now.Add(annotationDuration(cur, reconcileEveryAnn, 60*time.Minute)) // requeueAfter, common.go:82-90
	st.failures = 0
	st.attempt = nil
	return r.patchStatus(ctx, cur, status)
}

// fail: fluxinstance_controller.go:228-244 (Ready=False/ReconciliationFailed) and
// finalizeObjectStatus (Reconciling reason ProgressingWithRetry); retried with backoff.
func (r *Reconciler) fail(ctx context.Context, fi *unstructured.Unstructured, st *instanceState, id, errMsg string) error {
	cur, err := r.get(ctx, fi)
	if err != nil {
		return err
	}
	now := r.opts.Now()
	gen := cur.GetGeneration()
	msg := "reconciliation failed: " + errMsg
	conds := setCondition(conditionsOf(cur), cond(readyType, metav1.ConditionFalse, reasonFailed, msg), gen, now)
	if c := findCondition(conds, reconcilingType); c != nil {
		c.Reason = reasonProgressingRetry
	}
	log.Printf("%s: %s", id, msg)
	delay := r.opts.MinRetryDelay << min(st.failures, 30)
	if delay <= 0 || delay > r.opts.MaxRetryDelay {
		delay = r.opts.MaxRetryDelay
	}
	st.failures++
	st.lastGen, st.lastRequest = st.attempt.generation, st.attempt.request
	st.nextRun = now.Add(delay)
	st.attempt = nil
	return r.patchStatus(ctx, cur, finalStatus(cur, conds))
}

// --- helpers ---

func (r *Reconciler) get(ctx context.Context, fi *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	return r.client.Resource(fluxInstanceGVR).Namespace(fi.GetNamespace()).Get(ctx, fi.GetName(), metav1.GetOptions{})
}

// patchMeta sets metadata.finalizers with a merge patch guarded by resourceVersion.
func (r *Reconciler) patchMeta(ctx context.Context, fi *unstructured.Unstructured, finalizers []string) error {
	if finalizers == nil {
		finalizers = []string{}
	}
	p, _ := json.Marshal(map[string]any{"metadata": map[string]any{"finalizers": finalizers, "resourceVersion": fi.GetResourceVersion()}})
	out, err := r.client.Resource(fluxInstanceGVR).Namespace(fi.GetNamespace()).Patch(ctx, fi.GetName(), types.MergePatchType, p,
		metav1.PatchOptions{FieldManager: r.opts.FieldManager})
	if err == nil {
		fi.SetFinalizers(out.GetFinalizers())
		fi.SetResourceVersion(out.GetResourceVersion())
	}
	return err
}

// patchStatus merge-patches the status subresource (the operator's SerialPatcher, field owner
// flux-operator, fluxinstance_controller.go:629-656).
func (r *Reconciler) patchStatus(ctx context.Context, fi *unstructured.Unstructured, status map[string]any) error {
	p, err := json.Marshal(map[string]any{"status": status})
	if err != nil {
		return err
	}
	out, err := r.client.Resource(fluxInstanceGVR).Namespace(fi.GetNamespace()).Patch(ctx, fi.GetName(), types.MergePatchType, p,
		metav1.PatchOptions{FieldManager: r.opts.FieldManager}, "status")
	if err == nil {
		fi.Object["status"] = out.Object["status"]
		fi.SetResourceVersion(out.GetResourceVersion())
	}
	return err
}

// finalStatus adds finalizeObjectStatus's lastHandledReconcileAt (common.go:58-62) to the conditions.
func finalStatus(fi *unstructured.Unstructured, conds []metav1.Condition) map[string]any {
	s := map[string]any{"conditions": conds}
	if v, ok := fi.GetAnnotations()[requestedAtAnn]; ok {
		s["lastHandledReconcileAt"] = v
	}
	return s
}

// revision stands in for the operator's "<version>@sha256:<digest of the built manifests>"
// (internal/builder/build.go:56-63): same shape, digest of what this stand-in applies.
func revision(version string, fi *unstructured.Unstructured, objs []*unstructured.Unstructured) string {
	h := sha256.New()
	for _, o := range objs {
		b, _ := json.Marshal(o.Object)
		h.Write(b)
	}
	b, _ := json.Marshal(components(fi))
	h.Write(b)
	return version + "@sha256:" + hex.EncodeToString(h.Sum(nil))
}

// componentImages stands in for status.components (fluxinstance_controller.go:530-538): the
// component tags of the resolved version, without digests.
func componentImages(version string, fi *unstructured.Unstructured) []any {
	registry, _, _ := unstructured.NestedString(fi.Object, "spec", "distribution", "registry")
	out := []any{}
	for _, c := range components(fi) {
		tag, ok := componentTags[version][c]
		if !ok || registry == "" {
			continue
		}
		out = append(out, map[string]any{"name": c, "repository": registry + "/" + c, "tag": tag})
	}
	return out
}

func isDisabled(fi *unstructured.Unstructured) bool {
	return strings.ToLower(fi.GetAnnotations()[reconcileAnn]) == "disabled" // fluxinstance_types.go:453-456
}

func annotationDuration(fi *unstructured.Unstructured, key string, def time.Duration) time.Duration {
	if v, ok := fi.GetAnnotations()[key]; ok {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

// fmtDuration: common.go:104-110.
func fmtDuration(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// kstatus is the kstatus status the operator's health check waits on: status.Compute of
// fluxcd/cli-utils v1.2.2 (the version ssa v0.77.0 and the operator's go.mod require;
// pkg/kstatus/status/status.go:102-139, generic.go). For a Flux object: InProgress while
// status.observedGeneration != metadata.generation (a new object's status defaults to
// {observedGeneration: -1}, e.g. kustomize-controller/api v1/kustomization_types.go:465@v1.9.5) or
// Reconciling=True, Failed with Stalled=True, else Current iff Ready=True. A Namespace is Current
// unless it is terminating.
func kstatus(u *unstructured.Unstructured) string {
	res, err := kstatuspkg.Compute(u)
	if err != nil {
		return string(kstatuspkg.UnknownStatus)
	}
	return string(res.Status)
}

// --- conditions, with fluxcd/pkg runtime/conditions semantics (setter.go@runtime/v0.111.0) ---

func cond(t string, s metav1.ConditionStatus, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg}
}

func conditionsOf(u *unstructured.Unstructured) []metav1.Condition {
	raw, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	b, _ := json.Marshal(raw)
	var out []metav1.Condition
	_ = json.Unmarshal(b, &out)
	return out
}

func findCondition(conds []metav1.Condition, t string) *metav1.Condition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

// setCondition: conditions.Set (setter.go:47-93): observedGeneration always set; lastTransitionTime
// kept unless status/reason/message change; sorted Stalled, Reconciling, Ready, then by type.
func setCondition(conds []metav1.Condition, c metav1.Condition, gen int64, now time.Time) []metav1.Condition {
	c.ObservedGeneration = gen
	c.LastTransitionTime = metav1.NewTime(now.UTC().Truncate(time.Second))
	if old := findCondition(conds, c.Type); old != nil {
		if old.Status == c.Status && old.Reason == c.Reason && old.Message == c.Message {
			c.LastTransitionTime = old.LastTransitionTime
		}
		*old = c
	} else {
		conds = append(conds, c)
	}
	weight := map[string]int{stalledType: 0, reconcilingType: 1, readyType: 2}
	sort.SliceStable(conds, func(i, j int) bool {
		wi, oki := weight[conds[i].Type]
		wj, okj := weight[conds[j].Type]
		switch {
		case oki && okj:
			return wi < wj
		case oki || okj:
			return oki
		default:
			return conds[i].Type < conds[j].Type
		}
	})
	return conds
}

func deleteCondition(conds []metav1.Condition, t string) []metav1.Condition {
	return slices.DeleteFunc(conds, func(c metav1.Condition) bool { return c.Type == t })
}

// markReconciling: conditions.MarkReconciling (setter.go:146-149) deletes Stalled, sets Reconciling=True.
func markReconciling(conds []metav1.Condition, gen int64, now time.Time) []metav1.Condition {
	conds = deleteCondition(conds, stalledType)
	return setCondition(conds, cond(reconcilingType, metav1.ConditionTrue, reasonProgressing, msgInProgress), gen, now)
}
