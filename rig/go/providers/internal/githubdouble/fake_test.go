package githubdouble

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeGitHub is an in-memory GitHub REST API for one organization, recording every request.
type fakeGitHub struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	org      string
	orgID    int64
	login    string
	requests []recorded
	repos    map[string]map[string]any // by name
	keys     map[string]map[int64]map[string]any
	teams    []map[string]any
	grants   map[string]string // "slug/repo" -> permission
	nextID   int64
	// renames: after a rename, GET keeps answering the old default branch this many times.
	renameLag     int
	pendingRename map[string]string // repo -> new default branch once the lag is over
	failPatch     map[string]int    // repo -> status its PATCHes answer
}

type recorded struct {
	Method, Path, Query, Accept, Auth string
	Body                              map[string]any
}

func newFake(t *testing.T) *fakeGitHub {
	f := &fakeGitHub{
		t: t, org: "acme", orgID: 4242, login: "fleet-bot",
		repos: map[string]map[string]any{}, keys: map[string]map[int64]map[string]any{},
		grants: map[string]string{}, nextID: 1000, pendingRename: map[string]string{}, failPatch: map[string]int{},
		teams: []map[string]any{
			{"id": 7, "node_id": "T_7", "name": "Platform", "slug": "platform", "description": "the platform team",
				"privacy": "closed", "permission": "pull", "notification_setting": "notifications_enabled"},
			{"id": 8, "node_id": "T_8", "name": "Shop", "slug": "shop", "privacy": "closed", "permission": "pull"},
		},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGitHub) url() string { return f.srv.URL + "/" }

func (f *fakeGitHub) addRepo(name string, extra map[string]any) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.newRepo(name, extra)
}

func (f *fakeGitHub) newRepo(name string, extra map[string]any) map[string]any {
	f.nextID++
	r := map[string]any{
		"id": f.nextID, "node_id": fmt.Sprintf("R_%d", f.nextID), "name": name, "full_name": f.org + "/" + name,
		"description": nil, "homepage": nil, "language": nil, "private": false, "visibility": "public",
		"html_url":       "https://github.example/" + f.org + "/" + name,
		"ssh_url":        "git@github.example:" + f.org + "/" + name + ".git",
		"svn_url":        "https://github.example/" + f.org + "/" + name,
		"git_url":        "git://github.example/" + f.org + "/" + name + ".git",
		"clone_url":      "https://github.example/" + f.org + "/" + name + ".git",
		"default_branch": "master", "has_issues": true, "has_projects": true, "has_wiki": true,
		"has_discussions": false, "has_downloads": true, "is_template": false, "archived": false,
		"topics": []any{}, "allow_merge_commit": true, "allow_squash_merge": true, "allow_rebase_merge": true,
		"allow_auto_merge": false, "allow_update_branch": false, "allow_forking": true,
		"delete_branch_on_merge": false, "web_commit_signoff_required": false,
		"merge_commit_title": "MERGE_MESSAGE", "merge_commit_message": "PR_TITLE",
		"squash_merge_commit_title": "COMMIT_OR_PR_TITLE", "squash_merge_commit_message": "COMMIT_MESSAGES",
	}
	for k, v := range extra {
		r[k] = v
	}
	f.repos[name] = r
	return r
}

// writes returns the recorded requests other than GET.
func (f *fakeGitHub) writes() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []recorded
	for _, r := range f.requests {
		if r.Method != http.MethodGet {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeGitHub) all() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.requests...)
}

func (f *fakeGitHub) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = nil
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

func notFound(w http.ResponseWriter) {
	reply(w, http.StatusNotFound, map[string]any{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
}

func (f *fakeGitHub) serve(w http.ResponseWriter, req *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var body map[string]any
	if data, _ := io.ReadAll(req.Body); len(data) > 0 {
		if err := json.Unmarshal(data, &body); err != nil {
			reply(w, http.StatusBadRequest, map[string]any{"message": "Problems parsing JSON"})
			return
		}
	}
	f.requests = append(f.requests, recorded{Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery,
		Accept: req.Header.Get("Accept"), Auth: req.Header.Get("Authorization"), Body: body})
	if req.Header.Get("Authorization") != "Bearer test-token" {
		reply(w, http.StatusUnauthorized, map[string]any{"message": "Bad credentials"})
		return
	}
	seg := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	// The legacy by-id team routes (organizations/{org id}/team/{team id}/…) answer like the slug ones.
	if len(seg) >= 4 && seg[0] == "organizations" && seg[2] == "team" {
		if seg[1] != strconv.FormatInt(f.orgID, 10) {
			notFound(w)
			return
		}
		slug := ""
		for _, t := range f.teams {
			if fmt.Sprint(t["id"]) == seg[3] {
				slug = t["slug"].(string)
			}
		}
		if slug == "" {
			notFound(w)
			return
		}
		seg = append([]string{"orgs", f.org, "teams", slug}, seg[4:]...)
	}
	m := req.Method
	is := func(method string, pattern ...string) bool {
		if m != method || len(seg) != len(pattern) {
			return false
		}
		for i, p := range pattern {
			if p != "*" && p != seg[i] {
				return false
			}
		}
		return true
	}
	switch {
	case is("GET", "user"):
		reply(w, 200, map[string]any{"login": f.login})
	case is("GET", "orgs", "*"):
		if seg[1] != f.org {
			notFound(w)
			return
		}
		reply(w, 200, map[string]any{"login": f.org, "id": f.orgID})
	case is("POST", "orgs", "*", "repos"):
		name, _ := body["name"].(string)
		if _, exists := f.repos[name]; exists {
			reply(w, 422, map[string]any{"message": "Repository creation failed.",
				"errors": []any{map[string]any{"resource": "Repository", "code": "custom", "field": "name", "message": "name already exists on this account"}}})
			return
		}
		extra := map[string]any{"private": body["visibility"] != "public", "visibility": body["visibility"]}
		if body["auto_init"] == true {
			extra["default_branch"] = "master"
		}
		reply(w, 201, f.newRepo(name, extra))
	case is("POST", "repos", "*", "*", "generate"):
		tmpl, ok := f.repos[seg[2]]
		if !ok || tmpl["is_template"] != true {
			notFound(w)
			return
		}
		name, _ := body["name"].(string)
		vis := "public"
		if body["private"] == true {
			vis = "private"
		}
		r := f.newRepo(name, map[string]any{"private": body["private"], "visibility": vis, "description": body["description"],
			"default_branch":      tmpl["default_branch"],
			"template_repository": map[string]any{"name": seg[2], "full_name": seg[1] + "/" + seg[2], "owner": map[string]any{"login": seg[1]}}})
		reply(w, 201, r)
	case is("GET", "repos", "*", "*"):
		r, ok := f.repos[seg[2]]
		if !ok || seg[1] != f.org {
			notFound(w)
			return
		}
		if next, ok := f.pendingRename[seg[2]]; ok {
			if f.renameLag > 0 {
				f.renameLag--
			} else {
				r["default_branch"] = next
				delete(f.pendingRename, seg[2])
			}
		}
		reply(w, 200, r)
	case is("PATCH", "repos", "*", "*"):
		r, ok := f.repos[seg[2]]
		if !ok {
			notFound(w)
			return
		}
		if status := f.failPatch[seg[2]]; status != 0 {
			reply(w, status, map[string]any{"message": "Validation Failed"})
			return
		}
		for k, v := range body {
			r[k] = v
		}
		if v, ok := body["visibility"].(string); ok {
			r["private"] = v != "public"
		}
		if name, ok := body["name"].(string); ok && name != seg[2] {
			delete(f.repos, seg[2])
			f.repos[name] = r
			r["full_name"] = f.org + "/" + name
		}
		reply(w, 200, r)
	case is("DELETE", "repos", "*", "*"):
		if _, ok := f.repos[seg[2]]; !ok {
			notFound(w)
			return
		}
		delete(f.repos, seg[2])
		reply(w, 204, nil)
	case is("PUT", "repos", "*", "*", "topics"):
		r, ok := f.repos[seg[2]]
		if !ok {
			notFound(w)
			return
		}
		r["topics"] = body["names"]
		reply(w, 200, map[string]any{"names": body["names"]})
	case is("GET", "repos", "*", "*", "vulnerability-alerts"):
		notFound(w)
	case is("POST", "repos", "*", "*", "branches", "*", "rename"):
		r, ok := f.repos[seg[2]]
		if !ok || r["default_branch"] != seg[4] {
			notFound(w)
			return
		}
		f.pendingRename[seg[2]] = body["new_name"].(string)
		reply(w, 201, map[string]any{"name": body["new_name"]})
	case is("POST", "repos", "*", "*", "keys"):
		if _, ok := f.repos[seg[2]]; !ok {
			notFound(w)
			return
		}
		f.nextID++
		key := strings.Join(strings.Fields(body["key"].(string))[:2], " ") // GitHub drops the comment
		k := map[string]any{"id": f.nextID, "key": key, "title": body["title"], "read_only": body["read_only"]}
		if f.keys[seg[2]] == nil {
			f.keys[seg[2]] = map[int64]map[string]any{}
		}
		f.keys[seg[2]][f.nextID] = k
		reply(w, 201, k)
	case is("GET", "repos", "*", "*", "keys", "*"), is("DELETE", "repos", "*", "*", "keys", "*"):
		id, _ := strconv.ParseInt(seg[4], 10, 64)
		k, ok := f.keys[seg[2]][id]
		if !ok {
			notFound(w)
			return
		}
		if m == "DELETE" {
			delete(f.keys[seg[2]], id)
			reply(w, 204, nil)
			return
		}
		reply(w, 200, k)
	case is("GET", "orgs", "*", "teams"):
		reply(w, 200, f.teams)
	case is("GET", "orgs", "*", "teams", "*"):
		for _, t := range f.teams {
			if t["slug"] == seg[3] {
				reply(w, 200, t)
				return
			}
		}
		notFound(w)
	case is("GET", "orgs", "*", "teams", "*", "members"):
		reply(w, 200, []any{map[string]any{"login": "alice"}, map[string]any{"login": "bob"}})
	case is("GET", "orgs", "*", "teams", "*", "repos"):
		var out []any
		for k, perm := range f.grants {
			if slug, repo, _ := strings.Cut(k, "/"); slug == seg[3] {
				out = append(out, map[string]any{"id": f.repos[repo]["id"], "name": repo, "role_name": perm})
			}
		}
		reply(w, 200, out)
	case is("PUT", "orgs", "*", "teams", "*", "repos", "*", "*"):
		if _, ok := f.repos[seg[6]]; !ok {
			notFound(w)
			return
		}
		f.grants[seg[3]+"/"+seg[6]] = body["permission"].(string)
		reply(w, 204, nil)
	case is("GET", "orgs", "*", "teams", "*", "repos", "*", "*"), is("DELETE", "orgs", "*", "teams", "*", "repos", "*", "*"):
		perm, ok := f.grants[seg[3]+"/"+seg[6]]
		if !ok {
			notFound(w)
			return
		}
		if m == "DELETE" {
			delete(f.grants, seg[3]+"/"+seg[6])
			reply(w, 204, nil)
			return
		}
		role := map[string]string{"pull": "read", "push": "write"}[perm]
		if role == "" {
			role = perm
		}
		r := map[string]any{}
		for k, v := range f.repos[seg[6]] {
			r[k] = v
		}
		r["role_name"] = role
		reply(w, 200, r)
	default:
		notFound(w)
	}
}
