// Wrapper module: the api modules Flux v2.7.3 builds with (the requires of
// github.com/fluxcd/flux2/v2 v2.7.3's go.mod), for the rig's third CRD set: the stand-in installs
// these when a FluxInstance resolves to v2.7.3, whose source- and kustomize-controller the rig also
// runs (../flux27-*-controller), so the real tier's upgrade from 2.7 changes binaries (gen.sh).
module fleet-rig/crds-2.7

go 1.25.0

require (
	github.com/fluxcd/helm-controller/api v1.4.3
	github.com/fluxcd/image-automation-controller/api v1.0.3
	github.com/fluxcd/image-reflector-controller/api v1.0.3
	github.com/fluxcd/kustomize-controller/api v1.7.2
	github.com/fluxcd/notification-controller/api v1.7.4
	github.com/fluxcd/source-controller/api v1.7.3
)

require (
	github.com/fluxcd/pkg/apis/acl v0.9.0 // indirect
	github.com/fluxcd/pkg/apis/kustomize v1.13.0 // indirect
	github.com/fluxcd/pkg/apis/meta v1.22.0 // indirect
	github.com/fxamacker/cbor/v2 v2.9.0 // indirect
	github.com/go-logr/logr v1.4.3 // indirect
	github.com/gogo/protobuf v1.3.2 // indirect
	github.com/json-iterator/go v1.1.12 // indirect
	github.com/modern-go/concurrent v0.0.0-20180306012644-bacd9c7ef1dd // indirect
	github.com/modern-go/reflect2 v1.0.3-0.20250322232337-35a7c28c31ee // indirect
	github.com/x448/float16 v0.8.4 // indirect
	go.yaml.in/yaml/v2 v2.4.2 // indirect
	golang.org/x/net v0.45.0 // indirect
	golang.org/x/text v0.29.0 // indirect
	gopkg.in/inf.v0 v0.9.1 // indirect
	k8s.io/apiextensions-apiserver v0.34.1 // indirect
	k8s.io/apimachinery v0.34.1 // indirect
	k8s.io/klog/v2 v2.130.1 // indirect
	k8s.io/utils v0.0.0-20250820121507-0af2bda4dd1d // indirect
	sigs.k8s.io/controller-runtime v0.22.2 // indirect
	sigs.k8s.io/json v0.0.0-20250730193827-2d320260d730 // indirect
	sigs.k8s.io/randfill v1.0.0 // indirect
	sigs.k8s.io/structured-merge-diff/v6 v6.3.0 // indirect
	sigs.k8s.io/yaml v1.6.0 // indirect
)
