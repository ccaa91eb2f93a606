//go:build tools

// Package tools pins the build-time dependencies of the fleet-rig/crds wrapper module:
// controller-gen (sigs.k8s.io/controller-tools v0.21.0, the CONTROLLER_GEN_VERSION in the
// Makefiles of source-controller v1.9.5, kustomize-controller v1.9.5, helm-controller v1.6.4,
// notification-controller v1.9.3 and the image controllers v1.2.4)
// and the Flux api modules whose kubebuilder markers it reads (the versions Flux v2.9.5
// ships). gen.sh builds controller-gen and points it at the api package paths;
// nothing from those modules is copied into this repository.
package tools

import (
	_ "github.com/fluxcd/helm-controller/api/v2"
	_ "github.com/fluxcd/image-automation-controller/api/v1"
	_ "github.com/fluxcd/image-reflector-controller/api/v1"
	_ "github.com/fluxcd/kustomize-controller/api/v1"
	_ "github.com/fluxcd/notification-controller/api/v1"
	_ "github.com/fluxcd/source-controller/api/v1"
	_ "sigs.k8s.io/controller-tools/cmd/controller-gen"
)
