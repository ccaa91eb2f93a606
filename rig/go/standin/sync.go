package main

// The kinds the stand-in knows and the rendering of spec.sync, as the operator does it (UPSTREAM.md §b).

import (
	"fmt"
	"time"

	"github.com/fluxcd/cli-utils/pkg/object"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

const (
	fluxOperatorGroup = "fluxcd.controlplane.io"
	finalizer         = fluxOperatorGroup + "/finalizer" // api/v1/common_types.go:27@v0.58.1
	reconcileAnn      = fluxOperatorGroup + "/reconcile" // :28, value "disabled" (case-insensitive) pauses
	reconcileEveryAnn = fluxOperatorGroup + "/reconcileEvery"
	reconcileTimeAnn  = fluxOperatorGroup + "/reconcileTimeout"
	pruneAnn          = fluxOperatorGroup + "/prune"
	requestedAtAnn    = "reconcile.fluxcd.io/requestedAt" // fluxcd/pkg apis/meta annotations.go:23
	ownerNameLabel    = fluxOperatorGroup + "/name"       // fluxcd/pkg ssa/manager.go:73@ssa/v0.77.0
	ownerNSLabel      = fluxOperatorGroup + "/namespace"  // :74
)

var (
	fluxInstanceGVR  = schema.GroupVersionResource{Group: fluxOperatorGroup, Version: "v1", Resource: "fluxinstances"}
	kustomizationGVR = schema.GroupVersionResource{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"}
	namespaceGVR     = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	crdGVR           = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

	// fluxKinds maps every kind of FluxKinds (api/v1/common_types.go:157-180@v0.58.1), the kinds
	// whose finalizers the operator strips on uninstall, to the GVR the rig serves it at (the CRDs
	// rig/go/crds generates; each serves one version). The sync objects are the source kinds and
	// Kustomization. ArtifactGenerator (source-watcher) is not served by the rig: listing it fails
	// with NotFound and is skipped, as the operator skips a kind with no mapping (uninstaller.go:151-156).
	fluxKinds = map[string]schema.GroupVersionResource{
		"Kustomization":         kustomizationGVR,
		"HelmRelease":           {Group: "helm.toolkit.fluxcd.io", Version: "v2", Resource: "helmreleases"},
		"GitRepository":         {Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "gitrepositories"},
		"OCIRepository":         {Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "ocirepositories"},
		"Bucket":                {Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "buckets"},
		"HelmRepository":        {Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "helmrepositories"},
		"HelmChart":             {Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "helmcharts"},
		"ArtifactGenerator":     {Group: "source.extensions.fluxcd.io", Version: "v1beta1", Resource: "artifactgenerators"},
		"ExternalArtifact":      {Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "externalartifacts"},
		"Alert":                 {Group: "notification.toolkit.fluxcd.io", Version: "v1beta3", Resource: "alerts"},
		"Provider":              {Group: "notification.toolkit.fluxcd.io", Version: "v1beta3", Resource: "providers"},
		"Receiver":              {Group: "notification.toolkit.fluxcd.io", Version: "v1", Resource: "receivers"},
		"ImageRepository":       {Group: "image.toolkit.fluxcd.io", Version: "v1", Resource: "imagerepositories"},
		"ImagePolicy":           {Group: "image.toolkit.fluxcd.io", Version: "v1", Resource: "imagepolicies"},
		"ImageUpdateAutomation": {Group: "image.toolkit.fluxcd.io", Version: "v1", Resource: "imageupdateautomations"},
	}

	// controllerCRDKinds: the kinds whose CRDs ship in each component's manifests, so are in the
	// operator's inventory when that component is installed (ControllerCRDKinds,
	// api/v1/common_types.go:185-193@v0.58.1).
	controllerCRDKinds = map[string][]string{
		"source-controller":           {"GitRepository", "OCIRepository", "Bucket", "HelmRepository", "HelmChart", "ExternalArtifact"},
		"kustomize-controller":        {"Kustomization"},
		"helm-controller":             {"HelmRelease"},
		"notification-controller":     {"Alert", "Provider", "Receiver"},
		"image-reflector-controller":  {"ImageRepository", "ImagePolicy"},
		"image-automation-controller": {"ImageUpdateAutomation"},
		"source-watcher":              {"ArtifactGenerator"},
	}

	// componentTags: the controller releases each Flux version ships, for status.components:
	// v2.9.5 from flux2 manifests/bases/*/kustomization.yaml:5@v2.9.5; v2.9.4 from the images in
	// config/data/flux/v2.9.4/*.yaml@v0.58.1 (the newest Flux in operator v0.58.1's manifests).
	componentTags = map[string]map[string]string{
		"v2.9.5": {
			"source-controller":           "v1.9.5",
			"kustomize-controller":        "v1.9.5",
			"helm-controller":             "v1.6.4",
			"notification-controller":     "v1.9.4",
			"image-reflector-controller":  "v1.2.5",
			"image-automation-controller": "v1.2.5",
			"source-watcher":              "v2.2.4",
		},
		"v2.9.4": {
			"source-controller":           "v1.9.4",
			"kustomize-controller":        "v1.9.4",
			"helm-controller":             "v1.6.3",
			"notification-controller":     "v1.9.3",
			"image-reflector-controller":  "v1.2.4",
			"image-automation-controller": "v1.2.4",
			"source-watcher":              "v2.2.3",
		},
	}

	// defaultComponents: FluxInstance.GetComponents, api/v1/fluxinstance_types.go:372-387@v0.58.1.
	defaultComponents = []string{"source-controller", "kustomize-controller", "helm-controller", "notification-controller"}
)

// components returns spec.components with the operator's default.
func components(fi *unstructured.Unstructured) []string {
	c, _, _ := unstructured.NestedStringSlice(fi.Object, "spec", "components")
	if len(c) == 0 {
		return defaultComponents
	}
	return c
}

// buildSyncObjects renders the sync source and Kustomization for spec.sync, or nil when spec.sync
// is unset. It follows syncTmpl (internal/builder/templates.go:413-467@v0.58.1), the sync options
// (internal/controller/fluxinstance_controller.go:394-413), the kustomize namespace transformer
// (templates.go:21-23) and, with cluster.multitenant, the Kustomization patch of
// profileClusterMultitenant (internal/builder/profiles.go:288-293). spec.kustomize.patches are not
// applied. The labels and annotations every object gets are added by buildObjects (build.go).
func buildSyncObjects(fi *unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	sync, found, err := unstructured.NestedMap(fi.Object, "spec", "sync")
	if err != nil || !found {
		return nil, err
	}
	str := func(k string) string { s, _ := sync[k].(string); return s }
	ns := fi.GetNamespace()
	name := str("name")
	if name == "" {
		name = ns // fluxinstance_controller.go:395-398
	}
	kind := str("kind")
	gvr, ok := fluxKinds[kind]
	if !ok || gvr.Group != "source.toolkit.fluxcd.io" || (kind != "GitRepository" && kind != "OCIRepository" && kind != "Bucket") {
		return nil, fmt.Errorf("unsupported sync kind %q", kind)
	}
	interval := str("interval")
	if interval == "" {
		interval = "1m" // CRD default, api/v1/fluxinstance_types.go:268
	}
	d, err := time.ParseDuration(interval)
	if err != nil {
		return nil, fmt.Errorf("sync interval: %w", err)
	}

	srcSpec := map[string]any{"interval": d.String()} // Interval.Duration.String(), :402
	switch kind {
	case "GitRepository":
		srcSpec["ref"] = map[string]any{"name": str("ref")}
		srcSpec["url"] = str("url")
	case "OCIRepository":
		srcSpec["ref"] = map[string]any{"tag": str("ref")}
		srcSpec["url"] = str("url")
	case "Bucket":
		srcSpec["bucketName"] = str("ref")
		srcSpec["endpoint"] = str("url")
	}
	if s := str("pullSecret"); s != "" {
		srcSpec["secretRef"] = map[string]any{"name": s}
	}
	if p := str("provider"); p != "" {
		srcSpec["provider"] = p
	}
	src := &unstructured.Unstructured{Object: map[string]any{
		// GitRepository is always v1; OCIRepository/Bucket are v1 for Flux >= 2.6
		// (templates.go:418-427, internal/builder/semver.go:175-193).
		"apiVersion": "source.toolkit.fluxcd.io/v1",
		"kind":       kind,
		"metadata":   map[string]any{"name": name, "namespace": ns},
		"spec":       srcSpec,
	}}

	ksSpec := map[string]any{
		"interval":  "10m0s",
		"path":      str("path"),
		"prune":     true,
		"sourceRef": map[string]any{"kind": kind, "name": name},
	}
	if mt, _, _ := unstructured.NestedBool(fi.Object, "spec", "cluster", "multitenant"); mt {
		ksSpec["serviceAccountName"] = "kustomize-controller"
	}
	ks := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kustomize.toolkit.fluxcd.io/v1",
		"kind":       "Kustomization",
		"metadata":   map[string]any{"name": name, "namespace": ns},
		"spec":       ksSpec,
	}}

	return []*unstructured.Unstructured{src, ks}, nil
}

// inventoryID is the cli-utils ObjMetadata string the operator stores in status.inventory
// (internal/inventory/inventory.go:26-39@v0.58.1): <namespace>_<name>_<group>_<kind>.
func inventoryID(o *unstructured.Unstructured) string {
	return object.UnstructuredToObjMetadata(o).String()
}

// gvrFor maps a group and kind this stand-in applies or deletes to its GVR.
func gvrFor(group, kind string) (schema.GroupVersionResource, bool) {
	switch {
	case group == "" && kind == "Namespace":
		return namespaceGVR, true
	case group == crdGVR.Group && kind == "CustomResourceDefinition":
		return crdGVR, true
	case group == "" && kind == "ServiceAccount":
		return serviceAccountGVR, true
	case group == clusterRoleGVR.Group && kind == "ClusterRole":
		return clusterRoleGVR, true
	case group == clusterRoleGVR.Group && kind == "ClusterRoleBinding":
		return clusterRoleBindingGVR, true
	}
	gvr, ok := fluxKinds[kind]
	return gvr, ok && gvr.Group == group
}

func gvrOf(o *unstructured.Unstructured) schema.GroupVersionResource {
	gvr, _ := gvrFor(o.GroupVersionKind().Group, o.GetKind())
	return gvr
}

// inventoryObject turns an inventory ID (object.ParseObjMetadata) of a kind this stand-in knows
// into an object with that kind, namespace and name (inventory.List,
// internal/inventory/inventory.go:68-90@v0.58.1).
func inventoryObject(id string) (*unstructured.Unstructured, bool) {
	m, err := object.ParseObjMetadata(id)
	if err != nil {
		return nil, false
	}
	gvr, ok := gvrFor(m.GroupKind.Group, m.GroupKind.Kind)
	if !ok {
		return nil, false
	}
	o := &unstructured.Unstructured{}
	o.SetGroupVersionKind(gvr.GroupVersion().WithKind(m.GroupKind.Kind))
	o.SetNamespace(m.Namespace)
	o.SetName(m.Name)
	return o, true
}

// inventoryObjects: inventoryObject for each status.inventory entry, skipping unknown kinds.
func inventoryObjects(entries []any) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, e := range entries {
		m, _ := e.(map[string]any)
		eid, _ := m["id"].(string)
		if o, ok := inventoryObject(eid); ok {
			out = append(out, o)
		}
	}
	return out
}
