// registry: the rig's container registry, on loopback: go-containerregistry's in-memory registry
// (pkg/registry, the one its own tests use), which speaks the OCI distribution API that Flux's
// image-reflector-controller lists tags over. Images are small random ones, made on request:
//
//	registry --addr 127.0.0.1:29110 --ready-file PATH
//	POST /_rig/push?repository=media/app&tag=1.2.0   writes a random image under that tag
//	POST /_rig/chart?repository=charts/app&version=0.1.0
//	     writes a Helm chart as an OCI artifact (Helm's media types), named after the repository's
//	     last element, whose one template is a ConfigMap {{ .Release.Name }}-settings
//
// It is a double for a registry such as ghcr.io: it checks no credentials and serves plain HTTP
// (the ImageRepository says `insecure: true`). Nothing else about Flux's behaviour depends on it.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path"
	"regexp"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Helm's OCI media types (helm.sh/helm/v3 pkg/registry/constants.go).
const (
	helmConfigMediaType = "application/vnd.cncf.helm.config.v1+json"
	helmChartMediaType  = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
)

// chartArchive is a chart's .tgz: <name>/Chart.yaml and one template.
func chartArchive(name, version string) ([]byte, error) {
	files := []struct{ name, body string }{
		{name + "/Chart.yaml", fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\n", name, version)},
		{name + "/values.yaml", "greeting: from-the-registry\n"},
		{name + "/templates/settings.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\ndata:\n  greeting: {{ .Values.greeting | quote }}\n"},
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), ModTime: time.Unix(0, 0)}); err != nil {
			return nil, err
		}
		if _, err := tw.Write([]byte(f.body)); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// rawManifest is a manifest written as given (remote.Put takes any Taggable with a media type).
type rawManifest struct{ body []byte }

func (m rawManifest) RawManifest() ([]byte, error)        { return m.body, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// pushChart writes a chart the way `helm push` does: a config blob, one chart layer, an OCI manifest.
func pushChart(addr, repo, version string) (string, error) {
	name := path.Base(repo)
	tgz, err := chartArchive(name, version)
	if err != nil {
		return "", err
	}
	config, _ := json.Marshal(map[string]string{"apiVersion": "v2", "name": name, "version": version})
	ref, err := name2ref(addr, repo, version)
	if err != nil {
		return "", err
	}
	descs := []v1.Descriptor{}
	for _, b := range []struct {
		data []byte
		mt   types.MediaType
	}{{config, helmConfigMediaType}, {tgz, helmChartMediaType}} {
		l := static.NewLayer(b.data, b.mt)
		if err := remote.WriteLayer(ref.Context(), l); err != nil {
			return "", err
		}
		d, _ := l.Digest()
		descs = append(descs, v1.Descriptor{MediaType: b.mt, Size: int64(len(b.data)), Digest: d})
	}
	manifest, _ := json.Marshal(v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Config: descs[0], Layers: descs[1:]})
	if err := remote.Put(ref, rawManifest{manifest}); err != nil {
		return "", err
	}
	return ref.String(), nil
}

// pushImage writes a small random image under the tag; it answers <reference>@<digest>.
func pushImage(addr, repo, tag string) (string, error) {
	ref, err := name2ref(addr, repo, tag)
	if err != nil {
		return "", err
	}
	img, err := random.Image(256, 1)
	if err == nil {
		err = remote.Write(ref, img)
	}
	if err != nil {
		return "", err
	}
	digest, _ := img.Digest()
	return fmt.Sprintf("%s@%s", ref, digest), nil
}

func name2ref(addr, repo, tag string) (name.Tag, error) {
	return name.NewTag(fmt.Sprintf("%s/%s:%s", addr, repo, tag), name.Insecure)
}

var validRepository = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$`)
var validTag = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

func main() {
	addr := flag.String("addr", "127.0.0.1:29110", "loopback address to listen on")
	ready := flag.String("ready-file", "", "file written once the registry listens")
	flag.Parse()
	host, _, err := net.SplitHostPort(*addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		log.Fatalf("--addr %q: the rig listens on loopback only", *addr)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	reg := registry.New(registry.Logger(log.New(os.Stderr, "registry: ", log.LstdFlags)))
	mux := http.NewServeMux()
	mux.Handle("/v2/", reg)
	// Each rig endpoint writes one artifact: repository and a tag (an image's tag, a chart's version),
	// both checked, then answers what it wrote.
	writes := func(param string, push func(addr, repo, tag string) (string, error)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			repo, tag := r.URL.Query().Get("repository"), r.URL.Query().Get(param)
			if !validRepository.MatchString(repo) || !validTag.MatchString(tag) {
				http.Error(w, fmt.Sprintf("repository and %s are required and must be valid", param), http.StatusBadRequest)
				return
			}
			ref, err := push(*addr, repo, tag)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			fmt.Fprintln(w, ref)
		}
	}
	mux.HandleFunc("POST /_rig/push", writes("tag", pushImage))
	mux.HandleFunc("POST /_rig/chart", writes("version", pushChart))
	if *ready != "" {
		if err := os.WriteFile(*ready, []byte(*addr+"\n"), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	log.Printf("registry: listening on %s", *addr)
	log.Fatal(http.Serve(ln, mux))
}
