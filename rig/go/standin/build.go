package main

// The operator's build step, for what this stand-in applies (UPSTREAM.md §b, §e): the Flux version
// resolved from spec.distribution.version, the Namespace, the sync objects, and the labels and
// annotations every object gets.

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/fluxcd/pkg/ssa"
	ssautil "github.com/fluxcd/pkg/ssa/utils"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// embeddedDataDir is where the operator image keeps Flux's manifests: --storage-path, default /data
// (cmd/operator/main.go:112-113@v0.58.1; Dockerfile:36 copies config/data/ there), plus "flux"
// (internal/controller/fluxinstance_controller.go:312,330).
const embeddedDataDir = "/data/flux"

// embeddedMinors are the Flux minor versions in config/data/flux/ at v0.58.1 (v2.2.3 to v2.9.4):
// MatchVersionWithEmbedded only takes a candidate whose major.minor is one of them
// (internal/builder/semver.go:87-108,141-146,154-172).
var embeddedMinors = []string{"2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8", "2.9"}

// resolveVersion resolves spec.distribution.version the way the operator's build does
// (fluxinstance_controller.go:328-340@v0.58.1): a Masterminds/semver v3 constraint (the library and
// version of the operator's go.mod), checked against the candidate versions, restricted to the
// embedded minor versions, the highest match winning (semver.go:72-152); then the downgrade check
// against status.lastAppliedRevision (IsCompatibleVersion, semver.go:16-40). The errors are the
// operator's, word for word. The operator's candidates are the version directories of the manifests
// (the spec.distribution.artifact it pulled into a fresh /tmp/flux<random>, else the embedded ones);
// the stand-in's are the versions the rig runs (--flux-version).
func resolveVersion(fi *unstructured.Unstructured, candidates []string) (string, error) {
	want, _, _ := unstructured.NestedString(fi.Object, "spec", "distribution", "version")
	artifact, _, _ := unstructured.NestedString(fi.Object, "spec", "distribution", "artifact")
	dataDir := embeddedDataDir
	if artifact != "" {
		// fetch() pulls the artifact into builder.MkdirTempAbs("", "flux") (:136,294): os.MkdirTemp's
		// name, under the container's /tmp; build() reads its flux/ directory (:312).
		dataDir = filepath.Join("/tmp", "flux"+strconv.FormatUint(uint64(rand.Uint32()), 10), "flux")
	}

	constraint, err := semver.NewConstraint(want)
	if err != nil {
		return "", fmt.Errorf("semver '%s' parse error: %w", want, err)
	}
	var matching []*semver.Version
	for _, c := range candidates {
		v, err := semver.NewVersion(c)
		if err != nil {
			continue
		}
		if constraint.Check(v) && slices.Contains(embeddedMinors, fmt.Sprintf("%d.%d", v.Major(), v.Minor())) {
			matching = append(matching, v)
		}
	}
	if len(matching) == 0 {
		return "", fmt.Errorf("no match found for semver: %s in %s matching embedded minor versions in %s",
			want, dataDir, embeddedDataDir)
	}
	sort.Sort(sort.Reverse(semver.Collection(matching)))
	ver := matching[0].Original()

	if last, _, _ := unstructured.NestedString(fi.Object, "status", "lastAppliedRevision"); last != "" {
		if err := compatibleVersion(last, ver); err != nil {
			return "", err
		}
	}
	return ver, nil
}

// compatibleVersion: IsCompatibleVersion (semver.go:16-40@v0.58.1), which refuses a lower minor.
func compatibleVersion(fromRev, to string) error {
	from, _, _ := strings.Cut(fromRev, "@")
	f, err := semver.NewVersion(from)
	if err != nil {
		return fmt.Errorf("from version '%s' parse error: %w", from, err)
	}
	t, err := semver.NewVersion(to)
	if err != nil {
		return fmt.Errorf("to version '%s' parse error: %w", to, err)
	}
	if t.Major() < f.Major() || t.Minor() < f.Minor() {
		return fmt.Errorf("downgrading from %s to %s is not supported, reinstall needed", from, to)
	}
	return nil
}

// commonLabels and commonAnnotations are the kustomize LabelTransformer and AnnotationsTransformer
// of the operator's build, which kustomize applies to every object in the build
// (internal/builder/templates.go:24-26,359-385@v0.58.1; build.go:81-87).
func commonLabels(namespace, version string) map[string]string {
	return map[string]string{
		"app.kubernetes.io/managed-by": "flux-operator",
		"app.kubernetes.io/instance":   namespace,
		"app.kubernetes.io/version":    version,
		"app.kubernetes.io/part-of":    "flux",
	}
}

var commonAnnotations = map[string]string{
	"kustomize.toolkit.fluxcd.io/ssa":   "Ignore",
	"kustomize.toolkit.fluxcd.io/prune": "Disabled",
}

// namespaceObject is namespaceTmpl (templates.go:387-397@v0.58.1), which every build includes
// (build.go:77-79, templates.go:27-28).
func namespaceObject(namespace string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "Namespace",
		"metadata": map[string]any{
			"name": namespace,
			"labels": map[string]any{
				"pod-security.kubernetes.io/warn":         "restricted",
				"pod-security.kubernetes.io/warn-version": "latest",
			},
			"annotations": map[string]any{pruneAnn: "disabled"},
		},
	}}
}

// buildObjects returns, sorted as the operator sorts its build (build.go:49), the objects of the
// operator's build that this stand-in applies: the FluxInstance's Namespace, the install objects the
// rig has for spec.components (install.go) and, with spec.sync, the sync source and Kustomization. Each gets the transformers' labels and annotations, then the
// owner labels (ssa ResourceManager.SetOwnerLabels, fluxinstance_controller.go:467-471), then the
// normalization and spec.commonMetadata of apply() (:473-479), all with fluxcd/pkg/ssa's own code.
func buildObjects(fi *unstructured.Unstructured, version, fieldManager string, install []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	ns := fi.GetNamespace()
	syncObjs, err := buildSyncObjects(fi)
	if err != nil {
		return nil, err
	}
	objs := append([]*unstructured.Unstructured{namespaceObject(ns)}, installObjects(install, components(fi), ns)...)
	objs = append(objs, syncObjs...)
	for _, o := range objs {
		labels, anns := o.GetLabels(), o.GetAnnotations()
		if labels == nil {
			labels = map[string]string{}
		}
		if anns == nil {
			anns = map[string]string{}
		}
		for k, v := range commonLabels(ns, version) {
			labels[k] = v
		}
		for k, v := range commonAnnotations {
			anns[k] = v
		}
		o.SetLabels(labels)
		o.SetAnnotations(anns)
	}
	sort.Sort(ssa.SortableUnstructureds(objs))

	ownerManager(fieldManager).SetOwnerLabels(objs, fi.GetName(), ns)
	if err := normalizeObjects(objs); err != nil {
		return nil, err
	}
	cmLabels, _, _ := unstructured.NestedStringMap(fi.Object, "spec", "commonMetadata", "labels")
	cmAnns, _, _ := unstructured.NestedStringMap(fi.Object, "spec", "commonMetadata", "annotations")
	ssautil.SetCommonMetadata(objs, cmLabels, cmAnns)
	return objs, nil
}

// ownerManager is an ssa ResourceManager with the operator's owner (fluxinstance_controller.go:467-470),
// used only for its owner labels (no client: SetOwnerLabels and GetOwnerLabels never call one).
func ownerManager(fieldManager string) *ssa.ResourceManager {
	return ssa.NewResourceManager(nil, nil, ssa.Owner{Field: fieldManager, Group: fluxOperatorGroup})
}
