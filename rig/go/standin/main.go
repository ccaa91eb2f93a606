// Command fluxinstance-standin is a STAND-IN for the Flux Operator's FluxInstance reconciler, for
// the fleet rig. It is not the Flux Operator and contains none of its code: the operator
// (controlplaneio-fluxcd/flux-operator) is AGPL-3.0 and is neither built nor run here. Its
// behaviour was read from the source at tag v0.58.1 and is summarised, with file:line@tag
// citations, in UPSTREAM.md next to this file; the comments below refer to those sections.
//
// The rig runs the Flux controllers (source-, kustomize-, helm-controller...) as plain processes with
// the CRDs pre-installed, so this program does only the part of the operator that the rig needs:
//
//   - adds the operator's finalizer (fluxcd.controlplane.io/finalizer) and its initial status
//     (UPSTREAM.md §c);
//   - resolves spec.distribution.version as the operator does (Masterminds/semver constraint,
//     embedded minor versions, downgrade check) against the version the rig runs (--flux-version),
//     and fails a version that matches nothing as the operator does: Ready=False/BuildFailed,
//     Stalled=True, no retry (UPSTREAM.md §e);
//   - server-side applies, with field manager "flux-operator" and forced ownership, the objects of
//     the operator's build that the rig needs: the FluxInstance's Namespace (namespaceTmpl) and the
//     sync source (GitRepository, OCIRepository or Bucket) and sync Kustomization, with the labels
//     and annotations the operator puts on every object (UPSTREAM.md §b). Before applying it takes
//     over the fields of the other managers the operator takes over from (flux, kustomize-controller,
//     helm, kubectl..., plus --override-manager) and strips the kubectl/Helm annotations and the
//     bootstrap labels, with fluxcd/pkg/ssa's own code (UPSTREAM.md §f);
//   - mirrors the operator's status: Ready=Unknown/Progressing with Reconciling=True while it waits,
//     Ready=True/ReconciliationSucceeded once the applied objects are kstatus-Current (fluxcd/cli-utils),
//     Ready=False/ReconciliationFailed with the operator's message on timeout, stall or apply error,
//     conditions' observedGeneration = metadata.generation, lastAttemptedRevision/lastAppliedRevision,
//     inventory, components (UPSTREAM.md §c);
//   - on deletion, does the operator's uninstall for what it applied: strips the finalizers of every
//     Flux object, deletes its inventory (the Namespace stays: fluxcd.controlplane.io/prune:
//     disabled) without letting a controller finalize the Flux objects, and removes the finalizer;
//     with --delete-crds, also deletes every Flux object and the Flux CRDs of spec.components, as
//     the operator's inventory makes it do (UPSTREAM.md §d). Honours fluxcd.controlplane.io/reconcile:
//     disabled.
//
// With --also-version VERSION=DIR, VERSION is one more candidate for spec.distribution.version, whose
// CRDs are DIR's: the rig's controllers stay what they are, and only the CRDs and the FluxInstance's
// revision move (the real tier's upgrade, from Flux 2.8's CRDs to 2.9's).
//
// It does not install, configure or delete controllers or network policies: the controllers are the
// rig's processes. Given --install-manifests (the rig's CRDs, accounts and RBAC), it applies those of
// spec.components with the rest of its build, which takes them over from flux bootstrap as the
// operator does; it never deletes the accounts and RBAC the rig's controllers run on (install.go). The controller flags the operator would
// give them are listed in UPSTREAM.md §a for the rig to pass to its processes.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	var (
		kubeconfig   = flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "path of the kubeconfig (default $KUBECONFIG)")
		namespace    = flag.String("namespace", "", "watch FluxInstances in this namespace only (default: all namespaces, like the operator)")
		interval     = flag.Duration("interval", 2*time.Second, "poll interval")
		fluxVersion  = flag.String("flux-version", "v2.9.4", "Flux version the rig's controllers are (what operator v0.58.1 resolves 2.9.x to): the one version spec.distribution.version is resolved against (UPSTREAM.md §e)")
		fieldManager = flag.String("field-manager", "flux-operator", "server-side apply field manager (the operator's controllerName)")
		deleteAll    = flag.Bool("delete-all-flux-objects", false, "on FluxInstance deletion also delete every Flux object of the known kinds in all namespaces, finalizers stripped (the operator's CRD deletion cascade, minus deleting the CRDs)")
		deleteCRDs   = flag.Bool("delete-crds", false, "on FluxInstance deletion also delete the Flux CRDs of spec.components, as the operator does (they are in its inventory), after every Flux object as with --delete-all-flux-objects; the next FluxInstance applies them again from --install-manifests")
		overrides    []string
		install      []string
		also         = map[string]string{}
		once         = flag.Bool("once", false, "reconcile until no FluxInstance has an attempt in flight, then exit (0 when all are Ready=True or disabled)")
		timeout      = flag.Duration("once-timeout", 10*time.Minute, "with --once: give up after this long")
	)
	flag.Func("override-manager", "field manager whose fields are taken over before each apply, in addition to the operator's list (the operator's --override-manager, repeatable; $OVERRIDE_MANAGERS, comma-separated, replaces them)", func(v string) error {
		overrides = append(overrides, v)
		return nil
	})
	flag.Func("install-manifests", "YAML file, or directory of *.yaml, with the install objects the rig has in place of the operator's manifests: Flux CRDs, controller ServiceAccounts, ClusterRoles and ClusterRoleBindings, applied for spec.components as the operator applies its own (install.go; repeatable)", func(v string) error {
		install = append(install, v)
		return nil
	})
	flag.Func("also-version", "VERSION=DIR: one more Flux version spec.distribution.version may resolve to, whose CRDs are DIR's instead of those of --install-manifests (the rig's controllers stay the --flux-version binaries: the real tier upgrades the CRDs and the FluxInstance from 2.8 to 2.9, repeatable)", func(v string) error {
		ver, dir, ok := strings.Cut(v, "=")
		if !ok || ver == "" || dir == "" {
			return fmt.Errorf("want VERSION=DIR, got %q", v)
		}
		also[ver] = dir
		return nil
	})
	var onVersion []string
	flag.Func("on-version", "COMMAND: run as COMMAND VERSION after each apply, before the health wait, where the operator's apply rolls the controllers' Deployments to VERSION's images (the rig restarts its controllers on VERSION's binaries: rig/rig.sh flux-binaries); a failure fails the attempt", func(v string) error {
		onVersion = strings.Fields(v)
		if len(onVersion) == 0 {
			return fmt.Errorf("want a command")
		}
		return nil
	})
	flag.Parse()
	installObjs, err := loadInstallManifests(install)
	if err != nil {
		log.Fatal(err)
	}
	alsoCRDs := map[string][]*unstructured.Unstructured{}
	for ver, dir := range also {
		objs, err := loadInstallManifests([]string{dir})
		if err != nil {
			log.Fatal(err)
		}
		alsoCRDs[ver] = objs
	}
	if s := os.Getenv("OVERRIDE_MANAGERS"); s != "" {
		overrides = strings.Split(s, ",") // the variable wins over the flag, as in cmd/operator/main.go:179-181@v0.58.1
	}

	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		log.Fatalf("kubeconfig: %v", err)
	}
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		log.Fatalf("client: %v", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	r := NewReconciler(client, Options{
		Namespace:            *namespace,
		FluxVersion:          *fluxVersion,
		FieldManager:         *fieldManager,
		OverrideManagers:     overrides,
		DeleteAllFluxObjects: *deleteAll,
		DeleteCRDs:           *deleteCRDs,
		Install:              installObjs,
		AlsoVersions:         alsoCRDs,
		OnVersion:            versionHook(onVersion),
	})
	log.Printf("fluxinstance-standin: a stand-in for the Flux Operator's FluxInstance reconciler (not the operator); polling every %s", *interval)

	var deadline time.Time
	if *once {
		deadline = time.Now().Add(*timeout)
	}
	for {
		settled, ready := r.ReconcileAll(ctx)
		if *once && settled {
			if ready {
				os.Exit(0)
			}
			os.Exit(1)
		}
		if *once && time.Now().After(deadline) {
			log.Printf("--once: gave up after %s", *timeout)
			os.Exit(1)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(*interval):
		}
	}
}

// versionHook runs COMMAND... VERSION [install], its output in the stand-in's log; nil without a command.
func versionHook(command []string) func(context.Context, string, bool) error {
	if len(command) == 0 {
		return nil
	}
	return func(ctx context.Context, version string, install bool) error {
		args := append(append([]string{}, command[1:]...), version)
		if install {
			args = append(args, "install")
		}
		cmd := exec.CommandContext(ctx, command[0], args...)
		out, err := cmd.CombinedOutput()
		log.Printf("%s %s: %s", strings.Join(command, " "), version, strings.TrimSpace(string(out)))
		if err != nil {
			return fmt.Errorf("%s %s: %v", strings.Join(command, " "), version, err)
		}
		return nil
	}
}
