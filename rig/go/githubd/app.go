package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// A GitHub App installed on the organisation for all of its repositories, and Git over HTTP with
// its installation tokens: what Flux's source-controller does with `provider: github`
// (fluxcd/pkg auth v0.54.3 githubapp/client.go: a JWT signed with the App's key, iss = App ID,
// `POST /app/installations/{id}/access_tokens`, then Git over HTTP(S) as `x-access-token`).
//
// GitHub's semantics kept here (docs.github.com, "Authenticating as a GitHub App" and "Generating
// an installation access token"): the JWT is RS256, lives at most 10 minutes, and is accepted on
// /app endpoints only; an installation token lives an hour and reaches every repository the
// installation covers (here: all of the organisation's), with the App's permissions (here:
// contents read, so a push is refused).

type githubApp struct {
	id, installation int64
	key              *rsa.PublicKey
	tokens           map[string]time.Time // installation token → expiry
}

// appKey loads the App's RSA private key, generating it on first start (as GitHub does when an
// App's owner asks for a key), and returns its public half.
func appKey(path string) (*rsa.PublicKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k, gerr := rsa.GenerateKey(rand.Reader, 2048)
		if gerr != nil {
			return nil, gerr
		}
		b = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
		err = os.WriteFile(path, b, 0o600)
	}
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s: not PEM", path)
	}
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	return &k.PublicKey, nil
}

// verifyJWT checks a JWT as GitHub does for an App: RS256 with the App's key, iss the App ID,
// not expired, issued no more than 60 s ahead, and valid for at most 10 minutes.
func (a *githubApp) verifyJWT(token string, now time.Time) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errors.New("A JSON web token could not be decoded")
	}
	var header struct{ Alg string }
	var claims struct {
		Iss      json.RawMessage
		Iat, Exp int64
	}
	for i, v := range []any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(raw, v) != nil {
			return errors.New("A JSON web token could not be decoded")
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err != nil || header.Alg != "RS256" || rsa.VerifyPKCS1v15(a.key, crypto.SHA256, digest[:], sig) != nil {
		return errors.New("A JSON web token could not be decoded")
	}
	if iss := strings.Trim(string(claims.Iss), `"`); iss != strconv.FormatInt(a.id, 10) {
		return fmt.Errorf("'Issuer' claim ('iss') must be an Integer or String of the App ID, got %s", iss)
	}
	switch {
	case claims.Exp <= now.Unix():
		return errors.New("'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires")
	case claims.Iat > now.Add(60*time.Second).Unix(), claims.Exp-claims.Iat > 600:
		return errors.New("'Expiration time' claim ('exp') is too far in the future")
	}
	return nil
}

// accessToken answers POST /app/installations/{id}/access_tokens (s.mu held; the JWT is checked).
func (s *server) accessToken(r *http.Request, _ *Repo) (int, any) {
	a := s.app
	if id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64); id != a.installation {
		return notFound()
	}
	b := make([]byte, 18)
	rand.Read(b)
	token, expires := "ghs_"+hex.EncodeToString(b), time.Now().Add(time.Hour).UTC()
	a.tokens[token] = expires
	return 201, M{"token": token, "expires_at": stamp(expires), "repository_selection": "all",
		"permissions": M{"contents": "read", "metadata": "read"}}
}

// gitHTTPPath splits /{owner}/{repo}[.git]/{info/refs|git-upload-pack|git-receive-pack}.
func gitHTTPPath(path string) (owner, name, rest string, ok bool) {
	for _, suffix := range []string{"/info/refs", "/git-upload-pack", "/git-receive-pack"} {
		if repo, found := strings.CutSuffix(path, suffix); found {
			owner, name, found = strings.Cut(strings.TrimPrefix(repo, "/"), "/")
			name = strings.TrimSuffix(name, ".git")
			if found && owner != "" && name != "" && !strings.Contains(name, "/") {
				return owner, name, suffix, true
			}
		}
	}
	return "", "", "", false
}

// serveGitHTTP answers Git's smart HTTP protocol as GitHub does for an installation token:
// Basic auth with any user and the token as password; every repository of the organisation
// readable, none writable. The transfer is git http-backend's, run without s.mu.
func (s *server) serveGitHTTP(w http.ResponseWriter, r *http.Request, owner, name, rest string) {
	service := r.URL.Query().Get("service")
	if rest != "/info/refs" {
		service = strings.TrimPrefix(rest, "/")
	}
	_, password, hasAuth := r.BasicAuth()
	s.mu.Lock()
	expires, known := time.Time{}, false
	if s.app != nil {
		expires, known = s.app.tokens[password]
	}
	rp := s.st.find(owner, name)
	dir := ""
	if rp != nil {
		dir = s.repoDir(rp)
	}
	s.mu.Unlock()
	status, msg := 0, ""
	switch {
	case !hasAuth || !known || time.Now().After(expires):
		w.Header().Set("WWW-Authenticate", `Basic realm="GitHub"`)
		status, msg = http.StatusUnauthorized, "Invalid username or token. Password authentication is not supported for Git operations."
	case rp == nil:
		status, msg = http.StatusNotFound, "Repository not found."
	case service != "git-upload-pack":
		status, msg = http.StatusForbidden, "Write access to repository not granted."
	}
	log.Printf("git http %s %s/%s %s: %d", r.Method, owner, name, service, max(status, 200))
	if status != 0 {
		http.Error(w, msg, status)
		return
	}
	gitPath, err := exec.LookPath("git")
	if err != nil {
		http.Error(w, "githubd: no git on PATH", http.StatusInternalServerError)
		return
	}
	r = r.Clone(r.Context())
	r.URL.Path = "/" + filepath.Base(filepath.Dir(dir)) + "/" + filepath.Base(dir) + rest
	(&cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Env:  append(gitEnv(), "GIT_PROJECT_ROOT="+filepath.Join(s.cfg.data, "repos"), "GIT_HTTP_EXPORT_ALL=1"),
	}).ServeHTTP(w, r)
}
