package main

// Deleting a FluxInstance (UPSTREAM.md §d): uninstall, internal/controller/fluxinstance_uninstaller.go@v0.58.1.

import (
	"context"
	"errors"
	"fmt"
	"log"
	"slices"
	"sort"
	"time"

	ssautil "github.com/fluxcd/pkg/ssa/utils"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"
)

// uninstall mirrors the operator's uninstall (fluxinstance_uninstaller.go:28-112@v0.58.1):
//
//   - disabled (fluxcd.controlplane.io/reconcile: disabled), or an empty inventory: only the
//     finalizer is removed, everything stays (:33-36);
//   - step 1 deletes the controllers' Deployments and waits for them (:53-72). The stand-in's
//     inventory has none: the rig's controllers are processes and keep running;
//   - step 2 strips the finalizers of every object of every Flux kind, in all namespaces (:74-79,
//     114-186);
//   - step 3 deletes every inventory object, background propagation, skipping objects without the
//     owner labels or with fluxcd.controlplane.io/prune: disabled (:43-51,81-87). The Namespace
//     carries that annotation (templates.go:396), so it stays; the sync objects go. The operator's
//     inventory also has the Flux CRDs, whose deletion takes every Flux object with it;
//   - step 4 waits up to 5m for those CRDs to go (:89-102);
//   - step 5 removes the finalizer (:104-106). Errors in steps 1-4 are only logged: the finalizer
//     is removed regardless.
//
// The stand-in deletes Flux objects with deleteObject's orphan guard, since the rig's controllers
// are still running. Of the install objects in its inventory (install.go) it never deletes the
// ServiceAccounts and RBAC the rig's controllers run on (rigKept), and the CRDs only with
// --delete-crds, which the rig sets (the operator's CRD cascade: first every Flux object, guarded,
// then the CRDs of spec.components, then the wait); --delete-all-flux-objects deletes every Flux
// object and leaves the CRDs.
func (r *Reconciler) uninstall(ctx context.Context, fi *unstructured.Unstructured, id string) error {
	if !slices.Contains(fi.GetFinalizers(), finalizer) {
		return nil
	}
	entries, _, _ := unstructured.NestedSlice(fi.Object, "status", "inventory", "entries")
	if !isDisabled(fi) && len(entries) > 0 {
		start := r.opts.Now()
		if err := r.removeFluxFinalizers(ctx); err != nil {
			log.Printf("%s: removing finalizers failed: %v", id, err)
		}
		inventory := slices.DeleteFunc(inventoryObjects(entries), func(o *unstructured.Unstructured) bool { return rigKept(o) || gvrOf(o) == crdGVR })
		if err := r.deleteAll(ctx, inventory, ownerManager(r.opts.FieldManager).GetOwnerLabels(fi.GetName(), fi.GetNamespace()), true); err != nil {
			log.Printf("%s: pruning for deleted resource failed: %v", id, err)
		}
		if r.opts.DeleteAllFluxObjects || r.opts.DeleteCRDs {
			if err := r.deleteAll(ctx, r.allFluxObjects(ctx), nil, true); err != nil {
				log.Printf("%s: deleting Flux objects failed: %v", id, err)
			}
		}
		if r.opts.DeleteCRDs {
			crds := fluxCRDs(components(fi))
			if err := r.deleteAll(ctx, crds, nil, false); err != nil {
				log.Printf("%s: deleting CRDs failed: %v", id, err)
			}
			if err := r.waitForTermination(ctx, crds); err != nil {
				log.Printf("%s: waiting for CRDs to be deleted failed: %v", id, err)
			}
		}
		log.Printf("%s: Uninstallation completed in %s", id, fmtDuration(r.opts.Now().Sub(start)))
	}
	fins := slices.DeleteFunc(slices.Clone(fi.GetFinalizers()), func(f string) bool { return f == finalizer })
	log.Printf("%s: removing finalizer %s", id, finalizer)
	err := r.patchMeta(ctx, fi, fins)
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// removeFluxFinalizers: removeFluxFinalizers and removeFinalizersFor (uninstaller.go:114-186): for
// each Flux kind the server serves, every object in all namespaces is updated with no finalizers,
// the whole kind retried on conflict. A kind the server does not serve is skipped (:127-130).
// (The operator updates objects that have no finalizers too; that update changes nothing.)
func (r *Reconciler) removeFluxFinalizers(ctx context.Context) error {
	var errs []error
	for _, kind := range sortedFluxKinds() {
		gvr := fluxKinds[kind]
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			list, err := r.client.Resource(gvr).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			var errs []error
			for i := range list.Items {
				o := &list.Items[i]
				if len(o.GetFinalizers()) == 0 {
					continue
				}
				o.SetFinalizers([]string{})
				if _, err := r.client.Resource(gvr).Namespace(o.GetNamespace()).Update(ctx, o, metav1.UpdateOptions{FieldManager: r.opts.FieldManager}); err != nil {
					errs = append(errs, err)
				}
			}
			return errors.Join(errs...)
		})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// allFluxObjects lists every object of every Flux kind the server serves.
func (r *Reconciler) allFluxObjects(ctx context.Context) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, kind := range sortedFluxKinds() {
		list, err := r.client.Resource(fluxKinds[kind]).List(ctx, metav1.ListOptions{})
		if err != nil {
			continue // kind not served
		}
		for i := range list.Items {
			out = append(out, &list.Items[i])
		}
	}
	return out
}

// fluxCRDs returns the CRDs the operator's inventory has for these components: those their
// manifests ship (ControllerCRDKinds, api/v1/common_types.go:185-193@v0.58.1), named <plural>.<group>.
func fluxCRDs(comps []string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, c := range comps {
		for _, kind := range controllerCRDKinds[c] {
			gvr := fluxKinds[kind]
			crd := &unstructured.Unstructured{}
			crd.SetAPIVersion("apiextensions.k8s.io/v1")
			crd.SetKind("CustomResourceDefinition")
			crd.SetName(gvr.Resource + "." + gvr.Group)
			out = append(out, crd)
		}
	}
	return out
}

// waitForTermination: ResourceManager.WaitForTermination (pkg ssa/manager_wait.go:244-254@ssa/v0.77.0)
// with the uninstaller's options (5s, 5m; uninstaller.go:97-100): one object after the other, under
// one deadline, until each is gone.
func (r *Reconciler) waitForTermination(ctx context.Context, objs []*unstructured.Unstructured) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.TerminationTimeout)
	defer cancel()
	for _, o := range objs {
		for {
			_, err := r.resource(o).Get(ctx, o.GetName(), metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s termination timeout: %w", ssautil.FmtUnstructured(o), ctx.Err())
			case <-time.After(r.opts.TerminationInterval):
			}
		}
	}
	return nil
}

func sortedFluxKinds() []string {
	kinds := make([]string, 0, len(fluxKinds))
	for k := range fluxKinds {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}
