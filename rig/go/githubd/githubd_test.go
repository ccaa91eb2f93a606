package main

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

const testToken = "test-token"

type client struct {
	t    *testing.T
	s    *server
	base string
}

func start(t *testing.T, dir string) *client {
	t.Helper()
	s, err := newServer(config{data: dir, httpAddr: "127.0.0.1:0", sshAddr: "127.0.0.1:0", owner: "acme", token: testToken, teams: []string{"platform", "devs"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	return &client{t: t, s: s, base: "http://" + s.httpLn.Addr().String()}
}

// call sends one request; headers are "Name: value" strings. The JSON answer is decoded into a
// map, a slice, or nil for an empty body.
func (c *client) call(method, path string, body any, headers ...string) (int, any) {
	c.t.Helper()
	var in io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		in = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, in)
	req.Header.Set("Authorization", "token "+testToken)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: not JSON: %s", method, path, raw)
		}
	}
	return resp.StatusCode, out
}

// must is call expecting a status; it returns the answer as a map (nil when it is not one).
func (c *client) must(want int, method, path string, body any, headers ...string) M {
	c.t.Helper()
	got, out := c.call(method, path, body, headers...)
	if got != want {
		c.t.Fatalf("%s %s: status %d, want %d: %v", method, path, got, want, out)
	}
	m, _ := out.(M)
	return m
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func unb64(t *testing.T, v any) string {
	b, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(v.(string), "\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAuthRequired(t *testing.T) {
	c := start(t, t.TempDir())
	for _, auth := range []string{"", "token wrong", "Bearer wrong"} {
		req, _ := http.NewRequest("GET", c.base+"/user", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 || resp.Header.Get("X-RateLimit-Limit") != "5000" {
			t.Errorf("auth %q: status %d, rate limit %q", auth, resp.StatusCode, resp.Header.Get("X-RateLimit-Limit"))
		}
	}
	if u := c.must(200, "GET", "/user", nil, "Authorization: Bearer "+testToken); u["login"] != "rig-admin" {
		t.Errorf("user %v", u)
	}
	if o := c.must(200, "GET", "/api/v3/orgs/acme", nil); o["type"] != "Organization" || o["id"] != 1000.0 {
		t.Errorf("org %v", o)
	}
	c.must(404, "GET", "/orgs/other", nil)
}

func TestCreateRepository(t *testing.T) {
	c := start(t, t.TempDir())
	rp := c.must(201, "POST", "/orgs/acme/repos", M{"name": "fleet", "description": "The fleet", "auto_init": true, "visibility": "private", "delete_branch_on_merge": true})
	want := M{"full_name": "acme/fleet", "private": true, "default_branch": "main", "delete_branch_on_merge": true, "is_template": false,
		"ssh_url": fmt.Sprintf("ssh://git@127.0.0.1:%d/acme/fleet.git", c.s.sshPort), "template_repository": nil}
	for k, v := range want {
		if rp[k] != v {
			t.Errorf("%s = %v, want %v", k, rp[k], v)
		}
	}
	if rp["owner"].(M)["type"] != "Organization" {
		t.Errorf("owner %v", rp["owner"])
	}
	readme := c.must(200, "GET", "/repos/acme/fleet/contents/README.md", nil)
	if got := unb64(t, readme["content"]); got != "# fleet\n\nThe fleet\n" {
		t.Errorf("README %q", got)
	}
	c.must(201, "POST", "/orgs/acme/repos", M{"name": "plain", "auto_init": true})
	if got := unb64(t, c.must(200, "GET", "/repos/acme/plain/contents/README.md?ref=main", nil)["content"]); got != "# plain\n" {
		t.Errorf("README without description %q", got)
	}
	dup := c.must(422, "POST", "/orgs/acme/repos", M{"name": "Fleet"})
	if dup["message"] != "Repository creation failed." || dup["errors"].([]any)[0].(M)["message"] != "name already exists on this account" {
		t.Errorf("duplicate %v", dup)
	}
	c.must(404, "POST", "/orgs/other/repos", M{"name": "x"})
	c.must(404, "GET", "/repos/acme/missing", nil)

	// Restart: state and known_hosts survive.
	hosts, _ := os.ReadFile(filepath.Join(c.s.cfg.data, "known_hosts"))
	c.s.close()
	c2 := start(t, c.s.cfg.data)
	if rp := c2.must(200, "GET", "/repos/acme/fleet", nil); rp["description"] != "The fleet" {
		t.Errorf("after restart %v", rp)
	}
	hosts2, _ := os.ReadFile(filepath.Join(c.s.cfg.data, "known_hosts"))
	if key := func(b []byte) string { return string(b[bytes.IndexByte(b, ' '):]) }; key(hosts) != key(hosts2) {
		t.Errorf("host key changed: %s / %s", hosts, hosts2)
	}
}

func TestGenerateFromTemplate(t *testing.T) {
	c := start(t, t.TempDir())
	c.must(201, "POST", "/orgs/acme/repos", M{"name": "tmpl", "auto_init": true, "is_template": true})
	c.must(201, "POST", "/_rig/repos/acme/tmpl/commit", M{"files": M{"flux/base/kustomization.yaml": "resources: []\n"}})
	c.must(201, "POST", "/orgs/acme/repos", M{"name": "notmpl"})
	c.must(422, "POST", "/repos/acme/notmpl/generate", M{"owner": "acme", "name": "x"})

	rp := c.must(201, "POST", "/repos/acme/tmpl/generate", M{"owner": "acme", "name": "tenant", "private": true})
	if rp["template_repository"].(M)["full_name"] != "acme/tmpl" || rp["private"] != true {
		t.Errorf("generated %v", rp)
	}
	c.must(404, "GET", "/repos/acme/tenant/branches/main", nil) // GitHub fills it in later
	deadline := time.Now().Add(3 * time.Second)
	for {
		if status, _ := c.call("GET", "/repos/acme/tenant/branches/main", nil); status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("generated repository still empty after 3 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	f := c.must(200, "GET", "/repos/acme/tenant/contents/flux/base/kustomization.yaml", nil)
	if unb64(t, f["content"]) != "resources: []\n" {
		t.Errorf("copied file %v", f)
	}
	dir := c.must(200, "GET", "/repos/acme/tenant/branches/main", nil)
	if msg := dir["commit"].(M)["commit"].(M)["message"]; msg != "Initial commit" {
		t.Errorf("commit message %v", msg)
	}
	_, list := c.call("GET", "/repos/acme/tenant/contents/flux", nil)
	if l, _ := list.([]any); len(l) != 1 || l[0].(M)["type"] != "dir" || l[0].(M)["name"] != "base" {
		t.Errorf("directory listing %v", list)
	}
}

func TestContents(t *testing.T) {
	c := start(t, t.TempDir())
	c.must(201, "POST", "/orgs/acme/repos", M{"name": "r", "auto_init": true})
	path := "/repos/acme/r/contents/clusters/staging/flux.yaml"
	c.must(404, "GET", path+"?ref=main", nil)
	if m := c.must(404, "GET", path+"?ref=nope", nil); m["message"] != "No commit found for the ref nope" {
		t.Errorf("missing ref %v", m)
	}
	content := strings.Repeat("apiVersion: v1\n", 10) // long enough for several base64 lines
	put := c.must(201, "PUT", path, M{"message": "add", "content": b64(content), "branch": "main"})
	if put["commit"].(M)["message"] != "add" || put["content"].(M)["path"] != "clusters/staging/flux.yaml" {
		t.Errorf("put %v", put)
	}
	if m := c.must(422, "PUT", path, M{"message": "again", "content": b64("x"), "branch": "main"}); m["message"] != "Invalid request.\n\n\"sha\" wasn't supplied." {
		t.Errorf("no sha %v", m)
	}
	c.must(409, "PUT", path, M{"message": "again", "content": b64("x"), "sha": strings.Repeat("1", 40)})

	got := c.must(200, "GET", path+"?ref=main", nil)
	for _, line := range strings.Split(strings.TrimSuffix(got["content"].(string), "\n"), "\n") {
		if len(line) > 60 {
			t.Errorf("base64 line longer than 60: %q", line)
		}
	}
	if unb64(t, got["content"]) != content || got["encoding"] != "base64" || got["type"] != "file" {
		t.Errorf("get %v", got)
	}
	hash := exec.Command("git", "hash-object", "--stdin")
	hash.Stdin = strings.NewReader(content)
	out, err := hash.Output()
	if err != nil || strings.TrimSpace(string(out)) != got["sha"] {
		t.Errorf("sha %v, git hash-object %s (%v)", got["sha"], out, err)
	}
	c.must(200, "PUT", path, M{"message": "update", "content": b64("kind: List\n"), "sha": got["sha"]})
	upd := c.must(200, "GET", path, nil)
	c.must(422, "DELETE", path, M{"message": "rm"})
	c.must(200, "DELETE", path, M{"message": "rm", "sha": upd["sha"], "branch": "main"})
	c.must(404, "GET", path, nil)

	// An empty repository: the branch is created by the first file.
	c.must(201, "POST", "/orgs/acme/repos", M{"name": "empty"})
	if m := c.must(404, "GET", "/repos/acme/empty/contents/README.md", nil); m["message"] != "This repository is empty." {
		t.Errorf("empty %v", m)
	}
	c.must(201, "PUT", "/repos/acme/empty/contents/a.txt", M{"message": "first", "content": b64("a"), "branch": "main"})
	c.must(404, "PUT", "/repos/acme/empty/contents/b.txt", M{"message": "x", "content": b64("b"), "branch": "other"})
}

func newKey(t *testing.T, dir, name string) (path, authorized string) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := gossh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sshPub, _ := gossh.NewPublicKey(pub)
	return path, strings.TrimSpace(string(gossh.MarshalAuthorizedKey(sshPub))) + " " + name + "@test"
}

func TestDeployKeys(t *testing.T) {
	c := start(t, t.TempDir())
	c.must(201, "POST", "/orgs/acme/repos", M{"name": "a"})
	c.must(201, "POST", "/orgs/acme/repos", M{"name": "b"})
	_, pub := newKey(t, t.TempDir(), "k")
	k := c.must(201, "POST", "/repos/acme/a/keys", M{"title": "staging", "key": pub, "read_only": true})
	if k["key"] != pub[:strings.LastIndexByte(pub, ' ')] || k["read_only"] != true || k["verified"] != true || k["last_used"] != nil {
		t.Errorf("key %v", k)
	}
	if _, list := c.call("GET", "/repos/acme/a/keys", nil); len(list.([]any)) != 1 {
		t.Errorf("list %v", list)
	}
	dup := c.must(422, "POST", "/repos/acme/b/keys", M{"title": "again", "key": pub})
	if dup["errors"].([]any)[0].(M)["message"] != "key is already in use" {
		t.Errorf("duplicate %v", dup)
	}
	c.must(422, "POST", "/repos/acme/b/keys", M{"title": "bad", "key": "ssh-ed25519 notakey"})
	id := fmt.Sprint(int64(k["id"].(float64)))
	c.must(200, "GET", "/repos/acme/a/keys/"+id, nil)
	c.must(204, "DELETE", "/repos/acme/a/keys/"+id, nil)
	c.must(404, "GET", "/repos/acme/a/keys/"+id, nil)
	c.must(201, "POST", "/repos/acme/b/keys", M{"title": "moved", "key": pub}) // free again
}

func TestTeams(t *testing.T) {
	c := start(t, t.TempDir())
	c.must(201, "POST", "/orgs/acme/repos", M{"name": "r"})
	team := c.must(200, "GET", "/orgs/acme/teams/platform", nil)
	if team["id"] != 1.0 || team["slug"] != "platform" || team["privacy"] != "closed" {
		t.Errorf("team %v", team)
	}
	c.must(404, "GET", "/orgs/acme/teams/nobody", nil)
	grant := "/organizations/1000/team/1/repos/acme/r"
	c.must(404, "GET", grant, nil)
	c.must(204, "PUT", grant, M{"permission": "push"})
	c.must(204, "GET", "/orgs/acme/teams/platform/repos/acme/r", nil)
	rp := c.must(200, "GET", grant, nil, "Accept: application/vnd.github.v3.repository+json")
	perms := rp["permissions"].(M)
	if rp["role_name"] != "write" || perms["push"] != true || perms["maintain"] != false || perms["pull"] != true {
		t.Errorf("grant %v", rp)
	}
	if _, list := c.call("GET", "/orgs/acme/teams/platform/repos", nil); len(list.([]any)) != 1 {
		t.Errorf("team repos %v", list)
	}
	if team := c.must(200, "GET", "/orgs/acme/teams/platform", nil); team["repos_count"] != 1.0 {
		t.Errorf("repos_count %v", team["repos_count"])
	}
	c.must(204, "DELETE", "/orgs/acme/teams/platform/repos/acme/r", nil)
	c.must(404, "GET", grant, nil)
}

func TestBranchRename(t *testing.T) {
	c := start(t, t.TempDir())
	c.must(201, "POST", "/orgs/acme/repos", M{"name": "r", "auto_init": true})
	if b := c.must(201, "POST", "/repos/acme/r/branches/main/rename", M{"new_name": "trunk"}); b["name"] != "trunk" {
		t.Errorf("rename %v", b)
	}
	if rp := c.must(200, "GET", "/repos/acme/r", nil); rp["default_branch"] != "trunk" {
		t.Errorf("default branch %v", rp["default_branch"])
	}
	if m := c.must(404, "GET", "/repos/acme/r/branches/main", nil); m["message"] != "Branch not found" {
		t.Errorf("old branch %v", m)
	}
	ref := c.must(200, "GET", "/repos/acme/r/git/ref/heads/trunk", nil)
	if ref["ref"] != "refs/heads/trunk" || ref["object"].(M)["type"] != "commit" {
		t.Errorf("ref %v", ref)
	}
	c.must(201, "POST", "/repos/acme/r/branches/trunk/rename", M{"new_name": "trunk"})
	c.must(404, "POST", "/repos/acme/r/branches/nope/rename", M{"new_name": "x"})
}

func TestSSH(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("no ssh client on PATH: the SSH end-to-end test needs OpenSSH's ssh")
	}
	c := start(t, t.TempDir())
	work := t.TempDir()
	c.must(201, "POST", "/orgs/acme/repos", M{"name": "A", "auto_init": true})
	c.must(201, "POST", "/orgs/acme/repos", M{"name": "B", "auto_init": true})
	roKey, roPub := newKey(t, work, "ro")
	rwKey, rwPub := newKey(t, work, "rw")
	c.must(201, "POST", "/repos/acme/A/keys", M{"title": "ro", "key": roPub, "read_only": true})
	c.must(201, "POST", "/repos/acme/A/keys", M{"title": "rw", "key": rwPub, "read_only": false})

	gitWith := func(key string, args ...string) (string, error) {
		cmd := exec.Command("git", args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0",
			"GIT_SSH_COMMAND=ssh -F /dev/null -i "+key+" -o UserKnownHostsFile="+filepath.Join(c.s.cfg.data, "known_hosts")+
				" -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o BatchMode=yes")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	url := func(repo string) string { return fmt.Sprintf("ssh://git@127.0.0.1:%d/acme/%s", c.s.sshPort, repo) }

	if out, err := gitWith(roKey, "clone", url("A"), "a"); err != nil {
		t.Fatalf("clone A: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(filepath.Join(work, "a", "README.md")); err != nil || string(b) != "# A\n" {
		t.Errorf("cloned README %q %v", b, err)
	}
	if out, err := gitWith(roKey, "clone", url("B")+".git", "b"); err == nil || !strings.Contains(out, "ERROR: Repository not found.") {
		t.Errorf("clone B with A's key: %v\n%s", err, out)
	}
	os.WriteFile(filepath.Join(work, "a", "new.txt"), []byte("pushed\n"), 0o644)
	gitWith(roKey, "-C", "a", "add", "new.txt")
	if out, err := gitWith(roKey, "-C", "a", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "add new.txt"); err != nil {
		t.Fatalf("commit: %v\n%s", err, out)
	}
	if out, err := gitWith(roKey, "-C", "a", "push", "origin", "main"); err == nil || !strings.Contains(out, "marked as read only") {
		t.Errorf("push with the read-only key: %v\n%s", err, out)
	}
	if out, err := gitWith(rwKey, "-C", "a", "push", "origin", "main"); err != nil {
		t.Fatalf("push with the read-write key: %v\n%s", err, out)
	}
	if f := c.must(200, "GET", "/repos/acme/A/contents/new.txt", nil); unb64(t, f["content"]) != "pushed\n" {
		t.Errorf("pushed file %v", f)
	}
	if _, keys := c.call("GET", "/repos/acme/A/keys", nil); keys.([]any)[0].(M)["last_used"] == nil {
		t.Errorf("last_used not recorded: %v", keys)
	}
}

func TestFileDirectoryCollision(t *testing.T) {
	c := start(t, t.TempDir())
	c.must(201, "POST", "/orgs/acme/repos", M{"name": "r", "auto_init": true})
	c.must(201, "PUT", "/repos/acme/r/contents/dir/f", M{"message": "m", "content": b64("f")})
	c.must(409, "PUT", "/repos/acme/r/contents/README.md/x", M{"message": "m", "content": b64("x")})
	c.must(404, "PUT", "/repos/acme/r/contents/dir", M{"message": "m", "content": b64("x")})
	c.must(409, "POST", "/_rig/repos/acme/r/commit", M{"files": M{"dir": "x"}})
	if _, list := c.call("GET", "/repos/acme/r/contents/", nil); len(list.([]any)) != 2 {
		t.Errorf("root after refused writes: %v", list)
	}
}

// Regression: two files in one directory, committed one after the other, do not collide
// (ls-tree with nested patterns lists the directory's entries too).
func TestSiblingFilesDoNotCollide(t *testing.T) {
	dir := t.TempDir()
	if _, err := git(dir, nil, nil, "init", "--bare", "-b", "main"); err != nil {
		t.Fatal(err)
	}
	first, err := commitFiles(dir, "main", "", "", map[string][]byte{"clusters/rig/kustomization.yaml": []byte("a")}, nil, "one", rigIdent, rigIdent)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := commitFiles(dir, "main", first, first, map[string][]byte{"clusters/rig/infrastructure.yaml": []byte("b")}, nil, "two", rigIdent, rigIdent); err != nil {
		t.Fatalf("sibling file refused: %v", err)
	}
}

// jwtFor signs a GitHub App JWT as fluxcd/pkg's githubapp client does (RS256, iss the App ID).
func jwtFor(t *testing.T, keyFile string, iss string, iat, exp time.Time) string {
	t.Helper()
	b, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	enc := func(v any) string { j, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(j) }
	signing := enc(M{"alg": "RS256", "typ": "JWT"}) + "." + enc(M{"iss": iss, "iat": iat.Unix(), "exp": exp.Unix()})
	digest := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestGitHubApp(t *testing.T) {
	dir := t.TempDir()
	s, err := newServer(config{data: dir, httpAddr: "127.0.0.1:0", sshAddr: "127.0.0.1:0", owner: "acme", token: testToken, appID: 1001, appInstallation: 2002})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	c := &client{t: t, s: s, base: "http://" + s.httpLn.Addr().String()}
	c.must(201, "POST", "/orgs/acme/repos", M{"name": "fleet", "auto_init": true})
	keyFile := filepath.Join(dir, "app-private-key.pem")
	now := time.Now()
	good := jwtFor(t, keyFile, "1001", now.Add(-30*time.Second), now.Add(90*time.Second))

	mint := func(jwt string, installation string) (int, any) {
		req, _ := http.NewRequest("POST", c.base+"/api/v3/app/installations/"+installation+"/access_tokens", nil)
		req.Header.Set("Authorization", "Bearer "+jwt)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	for name, jwt := range map[string]string{
		"the personal token": testToken,
		"another App's JWT":  jwtFor(t, keyFile, "9999", now.Add(-30*time.Second), now.Add(90*time.Second)),
		"an expired JWT":     jwtFor(t, keyFile, "1001", now.Add(-10*time.Minute), now.Add(-time.Minute)),
		"a JWT over 10 min":  jwtFor(t, keyFile, "1001", now, now.Add(11*time.Minute)),
		"a tampered JWT":     good[:len(good)-4] + "AAAA",
	} {
		if status, out := mint(jwt, "2002"); status != 401 {
			t.Errorf("%s: status %d, want 401: %v", name, status, out)
		}
	}
	if status, _ := mint(good, "3003"); status != 404 {
		t.Errorf("another installation: status %d, want 404", status)
	}
	status, out := mint(good, "2002")
	token, _ := out.(M)["token"].(string)
	if status != 201 || !strings.HasPrefix(token, "ghs_") {
		t.Fatalf("mint: %d %v", status, out)
	}

	work := t.TempDir()
	gitHTTP := func(args ...string) (string, error) {
		cmd := exec.Command("git", args...)
		cmd.Dir = work
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	url := func(user, repo string) string {
		return fmt.Sprintf("http://%s@%s/acme/%s.git", user, s.httpLn.Addr(), repo)
	}
	if out, err := gitHTTP("clone", url("x-access-token:"+token, "fleet"), "fleet"); err != nil {
		t.Fatalf("clone with the installation token: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(filepath.Join(work, "fleet", "README.md")); err != nil || string(b) != "# fleet\n" {
		t.Errorf("cloned README %q %v", b, err)
	}
	if out, err := gitHTTP("clone", url("x-access-token:ghs_wrong", "fleet"), "no"); err == nil || !strings.Contains(out, "Authentication failed") && !strings.Contains(out, "401") {
		t.Errorf("clone with a token never issued: %v\n%s", err, out)
	}
	if out, err := gitHTTP("clone", url("x-access-token:"+token, "missing"), "missing"); err == nil || !strings.Contains(out, "not found") {
		t.Errorf("clone of a missing repository: %v\n%s", err, out)
	}
	os.WriteFile(filepath.Join(work, "fleet", "new.txt"), []byte("x\n"), 0o644)
	gitHTTP("-C", "fleet", "add", "new.txt")
	gitHTTP("-C", "fleet", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x")
	if out, err := gitHTTP("-C", "fleet", "push", "origin", "main"); err == nil || !strings.Contains(out, "403") {
		t.Errorf("push with a contents:read token: %v\n%s", err, out)
	}
}

// TestHold: a held request waits, unanswered, while every other request is answered; it is
// answered once the hold is lifted.
func TestHold(t *testing.T) {
	c := start(t, t.TempDir())
	c.must(422, "POST", "/_rig/hold?method=GET", nil)
	c.must(204, "POST", "/_rig/hold?method=GET&path=/orgs/acme/teams/", nil)
	done := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("GET", c.base+"/orgs/acme/teams/platform", nil)
		req.Header.Set("Authorization", "token "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	select {
	case got := <-done:
		t.Fatalf("a held request was answered: %d", got)
	case <-time.After(300 * time.Millisecond):
	}
	c.must(200, "GET", "/orgs/acme", nil) // everything else goes on
	c.must(204, "DELETE", "/_rig/hold", nil)
	select {
	case got := <-done:
		if got != 200 {
			t.Fatalf("the released request: %d", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the released request was never answered")
	}
}
