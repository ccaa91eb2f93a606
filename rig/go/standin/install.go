package main

// The install objects of the operator's build that the rig has instead of the operator's manifests
// (UPSTREAM.md §b): the Flux CRDs and the controllers' ServiceAccounts and RBAC. The operator's
// kustomization lists `namespace.yaml`, `roles` and one `<component>.yaml` per spec.components entry
// (internal/builder/templates.go:12-44@v0.58.1); each component file holds that controller's CRDs,
// ServiceAccount, Deployment and Service (config/data/flux/v2.9.4/*.yaml). The rig has no
// Deployments or Services (its controllers are processes), so the stand-in applies what it has, read
// from --install-manifests: the CRDs and ServiceAccount of each listed component and every ClusterRole
// and ClusterRoleBinding (`roles`). Applying them is what takes them over from `flux bootstrap`: the
// cleanup strips kustomize-controller's owner labels (apply.go), so bootstrap's Kustomization no
// longer prunes them once its path moves (kustomize-controller deletes only objects with its owner
// labels, deleteObjects in internal/controller/kustomization_controller.go@v1.9.4).

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"

	ssautil "github.com/fluxcd/pkg/ssa/utils"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	serviceAccountGVR     = schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
	clusterRoleGVR        = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}
	clusterRoleBindingGVR = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"}
)

// loadInstallManifests reads every object of the given YAML files, and of the *.yaml files in the
// given directories, with ssa's own reader.
func loadInstallManifests(paths []string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, p := range paths {
		files := []string{p}
		if st, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("--install-manifests %s: %w", p, err)
		} else if st.IsDir() {
			files, _ = filepath.Glob(filepath.Join(p, "*.yaml"))
			sort.Strings(files)
		}
		for _, f := range files {
			r, err := os.Open(f)
			if err != nil {
				return nil, fmt.Errorf("--install-manifests %s: %w", f, err)
			}
			objs, err := ssautil.ReadObjects(r)
			r.Close()
			if err != nil {
				return nil, fmt.Errorf("--install-manifests %s: %w", f, err)
			}
			for _, o := range objs {
				if !slices.Contains([]string{"CustomResourceDefinition", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"}, o.GetKind()) {
					return nil, fmt.Errorf("--install-manifests %s: %s is not a kind the stand-in installs (CRDs, ServiceAccounts, ClusterRoles, ClusterRoleBindings)", f, ssautil.FmtUnstructured(o))
				}
			}
			out = append(out, objs...)
		}
	}
	return out, nil
}

// installObjects picks, from the loaded install manifests, the objects the operator's build has for
// these components: the CRDs of controllerCRDKinds, the component's ServiceAccount (named after it,
// in the FluxInstance's namespace, as the kustomization's `namespace:` sets it), and `roles`.
func installObjects(all []*unstructured.Unstructured, comps []string, namespace string) []*unstructured.Unstructured {
	crds := map[string]bool{}
	for _, c := range fluxCRDs(comps) {
		crds[c.GetName()] = true
	}
	var out []*unstructured.Unstructured
	for _, o := range all {
		keep := false
		switch o.GetKind() {
		case "CustomResourceDefinition":
			keep = crds[o.GetName()]
		case "ServiceAccount":
			keep = slices.Contains(comps, o.GetName())
		case "ClusterRole", "ClusterRoleBinding":
			keep = true
		}
		if keep {
			c := o.DeepCopy()
			if c.GetKind() == "ServiceAccount" {
				// The rig's bindings name the accounts in flux-system, the only namespace the rig's
				// operator stand-in is run for.
				c.SetNamespace(namespace)
			}
			out = append(out, c)
		}
	}
	return out
}

// rigKept: the objects the rig's controllers run on (their ServiceAccounts, whose tokens they hold,
// and the RBAC those accounts have). The operator deletes them with its Deployments on uninstall and
// when a component leaves spec.components; the rig's controllers are processes that keep running, so
// the stand-in never deletes these (UPSTREAM.md §d).
func rigKept(o *unstructured.Unstructured) bool {
	switch gvrOf(o) {
	case serviceAccountGVR, clusterRoleGVR, clusterRoleBindingGVR:
		return true
	}
	return false
}
