//go:build tools

// Package tools pins the Flux api modules of Flux v2.7.3 (flux2 v2.7.3 go.mod), whose kubebuilder
// markers controller-gen (built from ../crds) reads when gen.sh is given this directory; nothing
// from those modules is copied into this repository.
package tools

import (
	_ "github.com/fluxcd/helm-controller/api/v2"
	_ "github.com/fluxcd/image-automation-controller/api/v1"
	_ "github.com/fluxcd/image-reflector-controller/api/v1"
	_ "github.com/fluxcd/kustomize-controller/api/v1"
	_ "github.com/fluxcd/notification-controller/api/v1"
	_ "github.com/fluxcd/source-controller/api/v1"
)
