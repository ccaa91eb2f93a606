// githubd is a test double of GitHub, not GitHub: a loopback-only HTTP server answering the
// subset of GitHub's REST API v3 that the fleet Pulumi program and the Pulumi GitHub provider
// use, plus an SSH git server so Flux's source-controller can clone over SSH with the deploy
// keys registered through that API. State is in memory, persisted as DIR/state.json after every
// write; repositories are bare git repositories under DIR/repos/{owner}/{name}.git.
//
//	githubd --data DIR --http 127.0.0.1:PORT --ssh 127.0.0.1:PORT --owner acme --token TOKEN \
//	        [--team SLUG ...] [--ready-file FILE]
//
// Rig-only endpoints live under /_rig/ (state dump, committing files, request log, holding requests back).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gliderlabs/ssh"
)

type config struct {
	data, httpAddr, sshAddr, owner, token, readyFile string
	teams                                            []string
	appID, appInstallation                           int64
}

type team struct {
	ID   int64
	Slug string
}

type logEntry struct {
	Time   time.Time `json:"time"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Status int       `json:"status"`
}

type server struct {
	cfg   config
	teams []team
	// mu guards everything below and is held for the whole of each API request: requests are
	// few, and one lock serializes git writes per repository (and across them) with no lock
	// ordering to get wrong. SSH transfers run without it.
	mu        sync.Mutex
	st        *State
	reqLog    []logEntry
	used      int // requests in the current rate-limit hour
	window    time.Time
	fillDelay time.Duration // how long a generated repository stays empty, as on GitHub
	app       *githubApp    // with --app-id: the one GitHub App, installed on the organisation

	// holdMu guards hold: requests a test holds back, before they take mu (rig.go, rigHold).
	holdMu sync.Mutex
	hold   *heldRequests

	sshPort       int
	httpLn, sshLn net.Listener
	httpSrv       *http.Server
	sshSrv        *ssh.Server
	handler       http.Handler
}

func main() {
	var cfg config
	flag.StringVar(&cfg.data, "data", "", "data directory (state, bare repositories, SSH host key, known_hosts)")
	flag.StringVar(&cfg.httpAddr, "http", "127.0.0.1:0", "loopback address of the REST API")
	flag.StringVar(&cfg.sshAddr, "ssh", "127.0.0.1:0", "loopback address of the SSH git server")
	flag.StringVar(&cfg.owner, "owner", "", "the one organisation that exists")
	flag.StringVar(&cfg.token, "token", "", "the one token accepted")
	flag.StringVar(&cfg.readyFile, "ready-file", "", "written with the PID once both listeners are up")
	flag.Int64Var(&cfg.appID, "app-id", 0, "ID of a GitHub App installed on the organisation (its key: DIR/app-private-key.pem, made on first start)")
	flag.Int64Var(&cfg.appInstallation, "app-installation", 0, "ID of that App's installation")
	flag.Func("team", "team slug in the organisation (repeatable)", func(v string) error {
		cfg.teams = append(cfg.teams, v)
		return nil
	})
	flag.Parse()
	log.SetPrefix("githubd: ")
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	s, err := newServer(cfg)
	if err == nil {
		err = s.start()
	}
	if err == nil && cfg.readyFile != "" {
		err = writeAtomic(cfg.readyFile, []byte(strconv.Itoa(os.Getpid())+"\n"))
	}
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("REST on http://%s, git on ssh://git@%s, organisation %s", s.httpLn.Addr(), s.sshLn.Addr(), cfg.owner)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	s.close()
}

func newServer(cfg config) (*server, error) {
	if cfg.data == "" || cfg.owner == "" || cfg.token == "" {
		return nil, errors.New("--data, --owner and --token are required")
	}
	for _, addr := range []string{cfg.httpAddr, cfg.sshAddr} {
		host, _, err := net.SplitHostPort(addr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("%s: githubd listens only on a loopback IP address, such as 127.0.0.1:PORT", addr)
		}
	}
	if err := os.MkdirAll(filepath.Join(cfg.data, "repos"), 0o755); err != nil {
		return nil, err
	}
	st, err := loadState(filepath.Join(cfg.data, "state.json"))
	if err != nil {
		return nil, fmt.Errorf("state.json: %w", err)
	}
	s := &server{cfg: cfg, st: st, window: time.Now(), fillDelay: time.Second}
	for i, slug := range cfg.teams {
		s.teams = append(s.teams, team{ID: int64(i + 1), Slug: slug})
	}
	if cfg.appID != 0 {
		key, err := appKey(filepath.Join(cfg.data, "app-private-key.pem"))
		if err != nil {
			return nil, fmt.Errorf("app key: %w", err)
		}
		s.app = &githubApp{id: cfg.appID, installation: cfg.appInstallation, key: key, tokens: map[string]time.Time{}}
	}
	s.handler = s.routes()
	return s, nil
}

// start opens both listeners and writes known_hosts with the port actually bound (PORT may be 0).
func (s *server) start() error {
	var err error
	if s.httpLn, err = net.Listen("tcp", s.cfg.httpAddr); err != nil {
		return err
	}
	if s.sshLn, err = net.Listen("tcp", s.cfg.sshAddr); err != nil {
		return err
	}
	s.sshPort = s.sshLn.Addr().(*net.TCPAddr).Port
	signer, err := hostKey(filepath.Join(s.cfg.data, "ssh_host_ed25519_key"))
	if err != nil {
		return err
	}
	line := fmt.Sprintf("[127.0.0.1]:%d %s\n", s.sshPort, authorizedKey(signer.PublicKey()))
	if err := writeAtomic(filepath.Join(s.cfg.data, "known_hosts"), []byte(line)); err != nil {
		return err
	}
	s.sshSrv = &ssh.Server{Handler: s.sshSession, PublicKeyHandler: s.sshAuth}
	s.sshSrv.AddHostKey(signer)
	s.httpSrv = &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	go s.httpSrv.Serve(s.httpLn)
	go s.sshSrv.Serve(s.sshLn)
	return nil
}

func (s *server) close() {
	s.httpSrv.Close()
	s.sshSrv.Close()
}

func writeAtomic(path string, b []byte) error {
	if err := os.WriteFile(path+".tmp", b, 0o644); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// rate is the core rate limit as GitHub reports it. The double never limits, so Remaining
// stops at 1: a client trusting a 0 would sleep until the reset instead of testing anything.
func (s *server) rate() M {
	if time.Since(s.window) > time.Hour {
		s.window, s.used = time.Now(), 0
	}
	return M{"limit": 5000, "remaining": max(5000-s.used, 1), "reset": s.window.Add(time.Hour).Unix(), "used": s.used, "resource": "core"}
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

type ctxKey struct{}

// ServeHTTP does what every answer has in common: the /api/v3 prefix GitHub Enterprise uses, the
// rate-limit and request-id headers, the token check, and one log line.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start, uri, base := time.Now(), r.URL.RequestURI(), "http://"+r.Host
	if p, ok := strings.CutPrefix(r.URL.Path, "/api/v3"); ok && (p == "" || p[0] == '/') {
		r = r.Clone(r.Context())
		r.URL.Path, r.URL.RawPath, base = "/"+strings.TrimPrefix(p, "/"), strings.TrimPrefix(r.URL.RawPath, "/api/v3"), base+"/api/v3"
	}
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, base))
	if owner, name, rest, ok := gitHTTPPath(r.URL.Path); ok {
		s.serveGitHTTP(w, r, owner, name, rest)
		return
	}
	if !s.waitIfHeld(r) {
		return // the client went away while held: its request is never answered, or carried out
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.used++
	rate, h := s.rate(), w.Header()
	for _, k := range []string{"limit", "remaining", "reset", "used", "resource"} {
		h.Set("X-RateLimit-"+strings.ToUpper(k[:1])+k[1:], fmt.Sprint(rate[k]))
	}
	h.Set("X-GitHub-Request-Id", fmt.Sprintf("R1G0:%04X:%06X:%08X", os.Getpid()&0xffff, len(s.reqLog), start.UnixNano()&0xffffffff))
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	switch auth := r.Header.Get("Authorization"); {
	case strings.HasPrefix(r.URL.Path, "/app/"):
		// App endpoints take the App's JWT, and only that.
		jwt, bearer := strings.CutPrefix(auth, "Bearer ")
		if s.app == nil {
			respondTo(rec)(notFound())
		} else if err := s.app.verifyJWT(jwt, time.Now()); !bearer || err != nil {
			msg := "A JSON web token could not be decoded"
			if err != nil {
				msg = err.Error()
			}
			respondTo(rec)(fail(http.StatusUnauthorized, msg))
		} else {
			s.handler.ServeHTTP(rec, r)
		}
	case auth == "":
		respondTo(rec)(fail(http.StatusUnauthorized, "Requires authentication"))
	case auth != "token "+s.cfg.token && auth != "Bearer "+s.cfg.token:
		respondTo(rec)(fail(http.StatusUnauthorized, "Bad credentials"))
	default:
		s.handler.ServeHTTP(rec, r)
	}
	log.Printf("%s %s %d %s", r.Method, uri, rec.status, time.Since(start).Round(time.Microsecond))
	if r.URL.Path != "/_rig/log" {
		s.reqLog = append(s.reqLog, logEntry{Time: start.UTC(), Method: r.Method, Path: r.URL.Path, Status: rec.status})
	}
}
