package main

// Rendering of spec.sync, as the operator does it (UPSTREAM.md §b).

import (
	"fmt"
	"time"

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

	// fluxKinds maps the Flux kinds the rig's controllers serve to their storage GVR (CRDs from
	// rig/go/crds). The sync objects are the source kinds and Kustomization.
	fluxKinds = map[string]schema.GroupVersionResource{
		"GitRepository":    {Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "gitrepositories"},
		"OCIRepository":    {Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "ocirepositories"},
		"Bucket":           {Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "buckets"},
		"HelmRepository":   {Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "helmrepositories"},
		"HelmChart":        {Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "helmcharts"},
		"ExternalArtifact": {Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "externalartifacts"},
		"Kustomization":    kustomizationGVR,
		"HelmRelease":      {Group: "helm.toolkit.fluxcd.io", Version: "v2", Resource: "helmreleases"},
	}

	// componentTags: the controller releases Flux v2.9.5 ships
	// (manifests/bases/*/kustomization.yaml:5@flux2 v2.9.5), for status.components.
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
// (internal/controller/fluxinstance_controller.go:394-413), the kustomize namespace and label/annotation
// transformers (templates.go:21-27,359-385), the owner labels (fluxinstance_controller.go:471),
// spec.commonMetadata (:477-479) and, with cluster.multitenant, the Kustomization patch of
// profileClusterMultitenant (internal/builder/profiles.go:288-293). spec.kustomize.patches are not
// applied.
func buildSyncObjects(fi *unstructured.Unstructured, fluxVersion string) ([]*unstructured.Unstructured, error) {
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

	cmLabels, _, _ := unstructured.NestedStringMap(fi.Object, "spec", "commonMetadata", "labels")
	cmAnns, _, _ := unstructured.NestedStringMap(fi.Object, "spec", "commonMetadata", "annotations")
	objs := []*unstructured.Unstructured{src, ks}
	for _, o := range objs {
		labels := map[string]string{
			"app.kubernetes.io/managed-by": "flux-operator",
			"app.kubernetes.io/instance":   ns,
			"app.kubernetes.io/version":    fluxVersion,
			"app.kubernetes.io/part-of":    "flux",
			ownerNameLabel:                 fi.GetName(),
			ownerNSLabel:                   ns,
		}
		anns := map[string]string{
			"kustomize.toolkit.fluxcd.io/ssa":   "Ignore",
			"kustomize.toolkit.fluxcd.io/prune": "Disabled",
		}
		for k, v := range cmLabels {
			labels[k] = v
		}
		for k, v := range cmAnns {
			anns[k] = v
		}
		o.SetLabels(labels)
		o.SetAnnotations(anns)
	}
	return objs, nil
}

// inventoryID is the cli-utils ObjMetadata string the operator stores in status.inventory
// (internal/inventory/inventory.go:31-35@v0.58.1): <namespace>_<name>_<group>_<kind>.
func inventoryID(o *unstructured.Unstructured) string {
	gvk := o.GroupVersionKind()
	return fmt.Sprintf("%s_%s_%s_%s", o.GetNamespace(), o.GetName(), gvk.Group, gvk.Kind)
}

func gvrOf(o *unstructured.Unstructured) schema.GroupVersionResource {
	return fluxKinds[o.GetKind()]
}
