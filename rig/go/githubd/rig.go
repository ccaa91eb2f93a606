package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Rig-only endpoints, not GitHub's: let a test see everything at once, commit as a tenant or an
// SRE would, and count the requests a client made.

// rigState dumps repositories, deploy keys, team grants and the files on each default branch.
func (s *server) rigState(r *http.Request, _ *Repo) (int, any) {
	repos, teams := []M{}, []M{}
	for _, rp := range s.st.Repos {
		dir := s.repoDir(rp)
		heads, _ := branches(dir)
		files, grants := []string{}, M{}
		if sha := heads[rp.DefaultBranch]; sha != "" {
			files = listFiles(dir, sha)
		}
		for slug, g := range s.st.Grants {
			if perm, ok := g[rp.ID]; ok {
				grants[slug] = perm
			}
		}
		var template any
		if t := s.st.Repos[rp.TemplateID]; t != nil {
			template = t.Owner + "/" + t.Name
		}
		repos = append(repos, M{"id": rp.ID, "full_name": rp.Owner + "/" + rp.Name, "default_branch": rp.DefaultBranch,
			"visibility": rp.Visibility, "is_template": rp.flag("is_template"), "archived": rp.flag("archived"),
			"template": template, "branches": heads, "files": files, "keys": rp.Keys, "teams": grants})
	}
	sort.Slice(repos, func(i, j int) bool { return repos[i]["id"].(int64) < repos[j]["id"].(int64) })
	for _, t := range s.teams {
		granted := M{}
		for id, perm := range s.st.Grants[t.Slug] {
			if rp := s.st.Repos[id]; rp != nil {
				granted[rp.Owner+"/"+rp.Name] = perm
			}
		}
		teams = append(teams, M{"id": t.ID, "slug": t.Slug, "repos": granted})
	}
	return 200, M{"owner": s.cfg.owner, "repos": repos, "teams": teams}
}

// rigCommit commits files (path → content) and deletions to a branch. A missing branch starts
// from the default branch, or as a root commit in an empty repository.
func (s *server) rigCommit(r *http.Request, rp *Repo) (int, any) {
	var body struct {
		Branch, Message string
		Files           map[string]string
		Delete          []string
	}
	if !decode(r, &body) {
		return badJSON()
	}
	if body.Branch == "" {
		body.Branch = rp.DefaultBranch
	}
	if body.Message == "" {
		body.Message = "rig commit"
	}
	dir := s.repoDir(rp)
	heads, _ := branches(dir)
	base := heads[body.Branch]
	if base == "" {
		base = heads[rp.DefaultBranch]
	}
	files := map[string][]byte{}
	for p, c := range body.Files {
		files[p] = []byte(c)
	}
	sha, err := commitFiles(dir, body.Branch, base, heads[body.Branch], files, body.Delete, body.Message, rigIdent, rigIdent)
	if err != nil {
		return fail(409, "githubd: "+err.Error())
	}
	s.touch(rp, body.Branch, len(heads) == 0)
	return 201, M{"sha": sha, "branch": body.Branch}
}

// rigLog is the request log as JSON lines, oldest first.
func (s *server) rigLog(*http.Request, *Repo) (int, any) {
	var out bytes.Buffer
	for _, e := range s.reqLog {
		json.NewEncoder(&out).Encode(e)
	}
	return 200, out.Bytes()
}

// heldRequests are the requests a test holds back: every request of method whose path starts
// with prefix waits, without an answer, until the hold is lifted (or two minutes pass).
type heldRequests struct {
	method, prefix string
	lifted         chan struct{}
}

// rigHold holds back requests (POST /_rig/hold?method=GET&path=/repos/acme/x/keys/), or lifts the
// hold (DELETE). One hold at a time; a new one lifts the last. For a test that must stop a client
// between two requests, e.g. kill `pulumi up` after GitHub made a deploy key and before the
// provider's read of it returns, so the engine never records the create.
func (s *server) rigHold(r *http.Request, _ *Repo) (int, any) {
	s.holdMu.Lock()
	defer s.holdMu.Unlock()
	if s.hold != nil {
		close(s.hold.lifted)
		s.hold = nil
	}
	if r.Method == http.MethodDelete {
		return http.StatusNoContent, nil
	}
	q := r.URL.Query()
	if q.Get("method") == "" || !strings.HasPrefix(q.Get("path"), "/") {
		return fail(422, "method and path (a prefix starting with /) are required")
	}
	s.hold = &heldRequests{method: q.Get("method"), prefix: q.Get("path"), lifted: make(chan struct{})}
	return http.StatusNoContent, nil
}

// waitIfHeld makes a held request wait, before it takes the server's lock (so every other request
// goes on). It reports whether to answer it: not when the client went away meanwhile.
func (s *server) waitIfHeld(r *http.Request) bool {
	s.holdMu.Lock()
	h := s.hold
	s.holdMu.Unlock()
	if h == nil || r.Method != h.method || !strings.HasPrefix(r.URL.Path, h.prefix) {
		return true
	}
	select {
	case <-h.lifted:
		return true
	case <-time.After(2 * time.Minute):
		return true
	case <-r.Context().Done():
		return false
	}
}
