package main

// The operator's apply, over the dynamic client (UPSTREAM.md §b, §f): fluxcd/pkg/ssa's
// ResourceManager.ApplyAllStaged with the ApplyOptions of fluxinstance_controller.go:481-502@v0.58.1.
// The ResourceManager itself wants a controller-runtime client and a kstatus poller; the stand-in
// (and its tests, on client-go's fake dynamic client) uses a dynamic client, so this file runs the
// same requests in the same order and calls ssa's own exported code for every decision in them.

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/fluxcd/pkg/ssa"
	ssaerrors "github.com/fluxcd/pkg/ssa/errors"
	"github.com/fluxcd/pkg/ssa/normalize"
	ssautil "github.com/fluxcd/pkg/ssa/utils"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// takeOwnershipFrom lists the field managers whose fields the operator takes over before it applies
// (takeOwnershipFrom, internal/controller/common.go:132-180@v0.58.1, called with "flux" plus the
// operator's --override-manager values, fluxinstance_controller.go:494-496, cmd/operator/main.go:118-119):
// kustomize-controller (Apply, exact), helm (Update, exact), kubectl* (Update: `kubectl apply`,
// create, edit, label...), before-first-apply* (Update), kubectl* (Apply: `kubectl apply
// --server-side`), then each of "flux" and the overrides, exact, as both Apply and Update.
func takeOwnershipFrom(overrides []string) []ssa.FieldManager {
	fms := []ssa.FieldManager{
		{Name: "kustomize-controller", OperationType: metav1.ManagedFieldsOperationApply, ExactMatch: true},
		{Name: "helm", OperationType: metav1.ManagedFieldsOperationUpdate, ExactMatch: true},
		{Name: "kubectl", OperationType: metav1.ManagedFieldsOperationUpdate},
		{Name: "before-first-apply", OperationType: metav1.ManagedFieldsOperationUpdate},
		{Name: "kubectl", OperationType: metav1.ManagedFieldsOperationApply},
	}
	for _, m := range append([]string{"flux"}, overrides...) {
		fms = append(fms,
			ssa.FieldManager{Name: m, OperationType: metav1.ManagedFieldsOperationApply, ExactMatch: true},
			ssa.FieldManager{Name: m, OperationType: metav1.ManagedFieldsOperationUpdate, ExactMatch: true})
	}
	return fms
}

// cleanupOptions is applyOpts.Cleanup (fluxinstance_controller.go:482-497@v0.58.1): the kubectl and
// Helm annotations and the labels `flux bootstrap`'s kustomize-controller sets are removed, and the
// fields of the managers above become the operator's.
func cleanupOptions(overrides []string) ssa.ApplyCleanupOptions {
	return ssa.ApplyCleanupOptions{
		Annotations: []string{
			"kubectl.kubernetes.io/last-applied-configuration", // corev1.LastAppliedConfigAnnotation
			"meta.helm.sh/release-name",
			"meta.helm.sh/release-namespace",
		},
		Labels: []string{
			"kustomize.toolkit.fluxcd.io/name",
			"kustomize.toolkit.fluxcd.io/namespace",
		},
		FieldManagers: takeOwnershipFrom(overrides),
	}
}

// normalizeObjects: normalize.UnstructuredList, as apply() does (fluxinstance_controller.go:473-475).
func normalizeObjects(objs []*unstructured.Unstructured) error {
	return normalize.UnstructuredList(objs)
}

func (r *Reconciler) resource(o *unstructured.Unstructured) dynamic.ResourceInterface {
	ri := r.client.Resource(gvrOf(o))
	if o.GetNamespace() == "" {
		return ri
	}
	return ri.Namespace(o.GetNamespace())
}

// applyStaged: ApplyAllStaged (pkg ssa/manager_apply.go:347-420@ssa/v0.77.0). Cluster definitions
// (here the Namespace) are applied first, then everything else; a failing stage stops the apply.
// The operator then waits up to 60s for the first stage (DefaultApplyOptions, :111-118); a
// Namespace is kstatus-Current at once unless it is terminating, so the stand-in does not wait.
func (r *Reconciler) applyStaged(ctx context.Context, objs []*unstructured.Unstructured) error {
	var defs, rest []*unstructured.Unstructured
	for _, o := range objs {
		if ssautil.IsClusterDefinition(o) {
			defs = append(defs, o)
		} else {
			rest = append(rest, o)
		}
	}
	for _, stage := range [][]*unstructured.Unstructured{defs, rest} {
		if len(stage) == 0 {
			continue
		}
		if err := r.applyAll(ctx, stage); err != nil {
			return err
		}
	}
	return nil
}

// applyAll: ApplyAll (manager_apply.go:206-339): for each object, in ssa's order, a server-side
// dry-run apply, then the metadata cleanup; then the applies, with ForceOwnership under the field
// manager (:422-437). Force (recreating objects on immutable-field errors) stays off, as in
// DefaultApplyOptions. ApplyAll skips the apply of an object that has not drifted; applying it
// anyway changes nothing on the server. The messages are ssa's.
func (r *Reconciler) applyAll(ctx context.Context, objs []*unstructured.Unstructured) error {
	sort.Sort(ssa.SortableUnstructureds(objs))
	for _, o := range objs {
		ri := r.resource(o)
		existing, err := ri.Get(ctx, o.GetName(), metav1.GetOptions{})
		if err != nil {
			existing = &unstructured.Unstructured{} // ssa ignores the Get error here, too (:234-236)
		}
		dryRun := o.DeepCopy()
		if _, err := ri.Apply(ctx, o.GetName(), dryRun, metav1.ApplyOptions{
			FieldManager: r.opts.FieldManager, Force: true, DryRun: []string{metav1.DryRunAll}}); err != nil {
			return ssaerrors.NewDryRunErr(err, dryRun)
		}
		if err := r.cleanupMetadata(ctx, ri, o, existing); err != nil {
			return fmt.Errorf("%s metadata.managedFields cleanup failed: %w", ssautil.FmtUnstructured(existing), err)
		}
	}
	for _, o := range objs {
		if _, err := r.resource(o).Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: r.opts.FieldManager, Force: true}); err != nil {
			return fmt.Errorf("%s apply failed: %w", ssautil.FmtUnstructured(o), err)
		}
	}
	return nil
}

// cleanupMetadata: ResourceManager.cleanupMetadata (manager_apply.go:473-517@ssa/v0.77.0), one JSON
// patch with ssa's PatchRemoveAnnotations, PatchRemoveLabels and PatchReplaceFieldsManagers. The
// last renames the other managers' managedFields entries to the stand-in's Apply entry (merging
// them into it), so the apply that follows owns those fields alone and drops any it does not set.
func (r *Reconciler) cleanupMetadata(ctx context.Context, ri dynamic.ResourceInterface, desired, existing *unstructured.Unstructured) error {
	opts := r.cleanup
	if ssautil.AnyInMetadata(desired, opts.Exclusions) || ssautil.AnyInMetadata(existing, opts.Exclusions) {
		return nil
	}
	patches := ssa.PatchRemoveAnnotations(existing, opts.Annotations)
	patches = append(patches, ssa.PatchRemoveLabels(existing, opts.Labels)...)
	managed, err := ssa.PatchReplaceFieldsManagers(existing, opts.FieldManagers, r.opts.FieldManager)
	if err != nil {
		return err
	}
	patches = append(patches, managed...)
	if len(patches) == 0 {
		return nil
	}
	raw, err := json.Marshal(patches)
	if err != nil {
		return err
	}
	_, err = ri.Patch(ctx, existing.GetName(), types.JSONPatchType, raw, metav1.PatchOptions{FieldManager: r.opts.FieldManager})
	return err
}

// deleteObject: ResourceManager.Delete (pkg ssa/manager_delete.go:64-97@ssa/v0.77.0): NotFound is
// success; an object whose labels do not match the inclusions (a label selector; nil matches all),
// or that has one of the exclusions as a label or annotation (fluxcd.controlplane.io/prune:
// disabled), is skipped; otherwise it is deleted with background propagation. With orphan (for
// Flux objects on uninstall), the Flux finalizers are stripped first and the delete is guarded by
// UID and resourceVersion: the rig's controllers keep running (the operator has deleted theirs),
// and one that re-adds its finalizer in between makes the delete conflict, so it is stripped again
// and no controller gets to finalize (prune) the object.
func (r *Reconciler) deleteObject(ctx context.Context, o *unstructured.Unstructured, inclusions map[string]string, orphan bool) error {
	ri := r.resource(o)
	id := ssautil.FmtUnstructured(o)
	exclusions := map[string]string{pruneAnn: "disabled"}
	bg := metav1.DeletePropagationBackground
	for range 5 {
		cur, err := ri.Get(ctx, o.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		} else if err != nil {
			return fmt.Errorf("%s query failed: %w", id, err)
		}
		sel, err := metav1.LabelSelectorAsSelector(&metav1.LabelSelector{MatchLabels: inclusions})
		if err != nil {
			return err
		}
		if !sel.Matches(labels.Set(cur.GetLabels())) || ssautil.AnyInMetadata(cur, exclusions) {
			return nil
		}
		opts := metav1.DeleteOptions{PropagationPolicy: &bg}
		if orphan {
			if len(cur.GetFinalizers()) > 0 {
				cur.SetFinalizers(nil) // as removeFinalizersFor does (internal/controller/fluxinstance_uninstaller.go:165-185)
				if cur, err = ri.Update(ctx, cur, metav1.UpdateOptions{FieldManager: r.opts.FieldManager}); err != nil {
					if apierrors.IsConflict(err) {
						continue
					}
					return fmt.Errorf("%s delete failed: %w", id, err)
				}
			}
			uid, rv := cur.GetUID(), cur.GetResourceVersion()
			opts.Preconditions = &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}
		}
		err = ri.Delete(ctx, o.GetName(), opts)
		if err == nil || apierrors.IsNotFound(err) {
			return nil
		}
		if !orphan || !apierrors.IsConflict(err) {
			return fmt.Errorf("%s delete failed: %w", id, err)
		}
	}
	return fmt.Errorf("%s delete failed: a finalizer was re-added five times", id)
}

// deleteAll: ResourceManager.DeleteAll (manager_delete.go:100-120): reverse ssa order, all errors joined.
func (r *Reconciler) deleteAll(ctx context.Context, objs []*unstructured.Unstructured, inclusions map[string]string, orphan bool) error {
	sort.Sort(sort.Reverse(ssa.SortableUnstructureds(objs)))
	var errs string
	for _, o := range objs {
		if err := r.deleteObject(ctx, o, inclusions, orphan && isFluxKind(o)); err != nil {
			errs += err.Error() + ";"
		}
	}
	if errs != "" {
		return fmt.Errorf("delete failed, errors: %s", errs)
	}
	return nil
}

func isFluxKind(o *unstructured.Unstructured) bool {
	gvr, ok := fluxKinds[o.GetKind()]
	return ok && gvr.Group == o.GroupVersionKind().Group
}
