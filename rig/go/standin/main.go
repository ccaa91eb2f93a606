// Command fluxinstance-standin is a STAND-IN for the Flux Operator's FluxInstance reconciler, for
// the fleet rig. It is not the Flux Operator and contains none of its code: the operator
// (controlplaneio-fluxcd/flux-operator) is AGPL-3.0 and is neither built nor run here. Its
// behaviour was read from the source at tag v0.58.1 and is summarised, with file:line@tag
// citations, in UPSTREAM.md next to this file; the comments below refer to those sections.
//
// The rig runs the Flux controllers (source-, kustomize-, helm-controller) as plain processes with
// the CRDs pre-installed, so this program does only the part of the operator that the rig needs:
//
//   - adds the operator's finalizer (fluxcd.controlplane.io/finalizer) and its initial status
//     (UPSTREAM.md §c);
//   - server-side applies, with field manager "flux-operator", the sync source (GitRepository,
//     OCIRepository or Bucket) and sync Kustomization in the FluxInstance's namespace, rendered the
//     way the operator renders spec.sync, including the labels, annotations and the multitenant
//     serviceAccountName patch (UPSTREAM.md §b);
//   - mirrors the operator's status: Ready=Unknown/Progressing with Reconciling=True while it waits,
//     Ready=True/ReconciliationSucceeded once the applied objects pass the operator's kstatus health
//     check (for the sync objects: Ready=True at the observed generation), Ready=False/
//     ReconciliationFailed with the operator's message on timeout or stall, conditions'
//     observedGeneration = metadata.generation, lastAttemptedRevision/lastAppliedRevision,
//     inventory, components (UPSTREAM.md §c);
//   - on deletion, deletes the sync objects without letting their controllers finalize them (the
//     operator stops the controllers and strips Flux finalizers first) and removes the finalizer;
//     honours fluxcd.controlplane.io/reconcile: disabled (UPSTREAM.md §d).
//
// It does not install, configure or delete controllers, CRDs, RBAC or network policies: it logs the
// spec.components it was asked for as "provided by the rig". The controller flags the operator would
// give them are listed in UPSTREAM.md §a for the rig to pass to its processes.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	var (
		kubeconfig   = flag.String("kubeconfig", os.Getenv("KUBECONFIG"), "path of the kubeconfig (default $KUBECONFIG)")
		namespace    = flag.String("namespace", "", "watch FluxInstances in this namespace only (default: all namespaces, like the operator)")
		interval     = flag.Duration("interval", 2*time.Second, "poll interval")
		fluxVersion  = flag.String("flux-version", "v2.9.5", "Flux version the rig's controllers are; used where the operator writes the version it resolved (labels, revisions)")
		fieldManager = flag.String("field-manager", "flux-operator", "server-side apply field manager (the operator's controllerName)")
		deleteAll    = flag.Bool("delete-all-flux-objects", false, "on FluxInstance deletion also delete every Flux object of the known kinds in all namespaces, finalizers stripped (the operator's CRD deletion cascade, minus deleting the CRDs)")
		once         = flag.Bool("once", false, "reconcile until no FluxInstance has an attempt in flight, then exit (0 when all are Ready=True or disabled)")
		timeout      = flag.Duration("once-timeout", 10*time.Minute, "with --once: give up after this long")
	)
	flag.Parse()

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
		DeleteAllFluxObjects: *deleteAll,
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
