package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

const (
	docsURL   = "https://docs.github.com/rest"
	userLogin = "rig-admin" // the user the token belongs to
	orgID     = 1000
)

type M = map[string]any

// handler answers with a status and a JSON body (nil: no body). rp is the repository named by
// {owner}/{repo} in the route, already known to exist. s.mu is held (see ServeHTTP).
type handler func(r *http.Request, rp *Repo) (int, any)

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	add := func(pattern string, h handler) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			rp := s.st.find(r.PathValue("owner"), r.PathValue("repo"))
			if rp == nil && r.PathValue("repo") != "" {
				respondTo(w)(notFound())
			} else {
				respondTo(w)(h(r, rp))
			}
		})
	}
	add("GET /user", s.account)
	add("GET /users/{name}", s.account)
	add("GET /orgs/{org}", s.account)
	add("GET /rate_limit", func(*http.Request, *Repo) (int, any) {
		return 200, M{"resources": M{"core": s.rate()}, "rate": s.rate()}
	})
	add("POST /orgs/{org}/repos", s.createRepo)
	add("POST /user/repos", s.createRepo)
	add("POST /repos/{owner}/{repo}/generate", s.generate)
	add("GET /repos/{owner}/{repo}", func(r *http.Request, rp *Repo) (int, any) { return 200, s.repoJSON(r, rp) })
	add("PATCH /repos/{owner}/{repo}", s.patchRepo)
	add("DELETE /repos/{owner}/{repo}", s.deleteRepo)
	add("/repos/{owner}/{repo}/topics", s.topics)
	add("GET /repos/{owner}/{repo}/pages", func(*http.Request, *Repo) (int, any) { return notFound() }) // never enabled
	add("/repos/{owner}/{repo}/vulnerability-alerts", s.vulnAlerts)
	add("GET /repos/{owner}/{repo}/branches", s.listBranches)
	add("GET /repos/{owner}/{repo}/branches/{branch...}", s.getBranch)
	add("POST /repos/{owner}/{repo}/branches/{branch...}", s.renameBranch)
	add("GET /repos/{owner}/{repo}/git/ref/heads/{branch...}", s.getRef)
	add("GET /repos/{owner}/{repo}/git/refs/heads/{branch...}", s.getRef)
	add("/repos/{owner}/{repo}/keys", s.keys)
	add("/repos/{owner}/{repo}/keys/{id}", s.key)
	add("GET /orgs/{org}/teams", s.listTeams)
	// go-github reads teams by slug and grants by ids (the legacy form).
	for _, base := range []string{"/orgs/{org}/teams/{slug}", "/organizations/{orgid}/team/{teamid}"} {
		add("GET "+base, s.team)
		add("GET "+base+"/members", s.team)
		add("GET "+base+"/repos", s.team)
		add(base+"/repos/{owner}/{repo}", s.teamRepo)
	}
	add("GET /repos/{owner}/{repo}/contents", s.getContents)
	add("GET /repos/{owner}/{repo}/contents/{path...}", s.getContents)
	add("PUT /repos/{owner}/{repo}/contents/{path...}", s.changeContents)
	add("DELETE /repos/{owner}/{repo}/contents/{path...}", s.changeContents)
	add("POST /app/installations/{id}/access_tokens", s.accessToken)
	add("GET /_rig/state", s.rigState)
	add("POST /_rig/repos/{owner}/{repo}/commit", s.rigCommit)
	add("GET /_rig/log", s.rigLog)
	add("POST /_rig/hold", s.rigHold)
	add("DELETE /_rig/hold", s.rigHold)
	add("/", s.unhandled)
	return mux
}

// unhandled answers like GitHub for an unknown route, and says loudly what a client needed.
func (s *server) unhandled(r *http.Request, _ *Repo) (int, any) {
	log.Printf("UNHANDLED %s %s", r.Method, r.URL.RequestURI())
	return notFound()
}

// respondTo writes a handler's answer: JSON, JSON lines ([]byte), or only a status (nil).
func respondTo(w http.ResponseWriter) func(int, any) {
	return func(status int, body any) {
		out, isRaw := body.([]byte)
		if isRaw {
			w.Header().Set("Content-Type", "application/x-ndjson")
		} else if body != nil {
			out, _ = json.Marshal(body)
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
		}
		w.WriteHeader(status)
		w.Write(out)
	}
}

func fail(status int, msg string, errs ...M) (int, any) {
	body := M{"message": msg, "documentation_url": docsURL, "status": strconv.Itoa(status)}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	return status, body
}

func notFound() (int, any) { return fail(404, "Not Found") }
func badJSON() (int, any)  { return fail(400, "Problems parsing JSON") }
func archived() (int, any) { return fail(403, "Repository was archived so is read-only.") }

func invalid(resource, field, code, message string) (int, any) {
	e := M{"resource": resource, "code": code, "field": field}
	if message != "" {
		e["message"] = message
	}
	return fail(422, "Validation Failed", e)
}

func internal(err error) (int, any) {
	log.Printf("ERROR %v", err)
	return fail(500, "githubd: "+err.Error())
}

// decode reads a JSON body; an empty one counts as {}.
func decode(r *http.Request, v any) bool {
	b, _ := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	return len(bytes.TrimSpace(b)) == 0 || json.Unmarshal(b, v) == nil
}

func str(v any) string               { s, _ := v.(string); return s }
func apiBase(r *http.Request) string { return r.Context().Value(ctxKey{}).(string) }
func stamp(t time.Time) string       { return t.UTC().Format(time.RFC3339) }
func nodeID(kind string, id int64) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "0:%s%d", kind, id))
}
func repoAPI(r *http.Request, rp *Repo) string {
	return apiBase(r) + "/repos/" + rp.Owner + "/" + rp.Name
}
func repoWeb(r *http.Request, rp *Repo) string {
	return "http://" + r.Host + "/" + rp.Owner + "/" + rp.Name
}

// --- accounts ---

func (s *server) accountJSON(r *http.Request, login string) M {
	api, web := apiBase(r), "http://"+r.Host
	if !strings.EqualFold(login, s.cfg.owner) {
		return M{"login": userLogin, "id": 1, "node_id": "U_rig", "type": "User", "site_admin": false,
			"url": api + "/users/" + userLogin, "html_url": web + "/" + userLogin}
	}
	return M{"login": s.cfg.owner, "id": orgID, "node_id": "O_rig", "type": "Organization", "name": s.cfg.owner,
		"description": "", "url": api + "/orgs/" + s.cfg.owner, "html_url": web + "/" + s.cfg.owner,
		"repos_url": api + "/orgs/" + s.cfg.owner + "/repos", "members_can_create_repositories": true,
		"default_repository_permission": "read", "plan": M{"name": "enterprise"}}
}

// account answers GET /user, /users/{name} and /orgs/{org}.
func (s *server) account(r *http.Request, _ *Repo) (int, any) {
	switch name := r.PathValue("name") + r.PathValue("org"); {
	case r.URL.Path == "/user" || (r.PathValue("name") != "" && strings.EqualFold(name, userLogin)):
		return 200, s.accountJSON(r, userLogin)
	case strings.EqualFold(name, s.cfg.owner):
		return 200, s.accountJSON(r, s.cfg.owner)
	}
	return notFound()
}

// --- repositories ---

var (
	permLevels = []string{"pull", "triage", "push", "maintain", "admin"}
	roleNames  = map[string]string{"pull": "read", "triage": "triage", "push": "write", "maintain": "maintain", "admin": "admin"}
	// GitHub replaces characters a repository name cannot hold with '-'.
	badName = regexp.MustCompile(`[^A-Za-z0-9._-]`)
)

// perms is GitHub's permissions object for one level: that level and every one below it.
func perms(level string) M {
	m, granted := M{}, true
	for _, l := range permLevels {
		m[l] = granted
		granted = granted && l != level
	}
	return m
}

func (s *server) repoJSON(r *http.Request, rp *Repo) M {
	var description, template any
	if rp.Description != "" {
		description = rp.Description
	}
	if t := s.st.Repos[rp.TemplateID]; t != nil {
		template = s.repoJSON(r, t)
	}
	full, web := rp.Owner+"/"+rp.Name, repoWeb(r, rp)
	m := M{"id": rp.ID, "node_id": nodeID("Repository", rp.ID), "name": rp.Name, "full_name": full,
		"owner": s.accountJSON(r, rp.Owner), "private": rp.Visibility != "public", "visibility": rp.Visibility,
		"html_url": web, "description": description, "fork": false, "url": repoAPI(r, rp),
		"clone_url": web + ".git", "git_url": "git://" + r.Host + "/" + full + ".git",
		"ssh_url": fmt.Sprintf("ssh://git@127.0.0.1:%d/%s.git", s.sshPort, full), "mirror_url": nil,
		"default_branch": rp.DefaultBranch, "disabled": false, "topics": rp.Topics, "template_repository": template,
		"permissions": perms("admin"), "security_and_analysis": nil, "size": 0, "language": nil, "license": nil,
		"has_pages": false, "forks_count": 0, "stargazers_count": 0, "watchers_count": 0, "open_issues_count": 0,
		"created_at": stamp(rp.CreatedAt), "updated_at": stamp(rp.UpdatedAt), "pushed_at": stamp(rp.PushedAt)}
	maps.Copy(m, rp.Settings)
	return m
}

func setVisibility(rp *Repo, body M) {
	if v := str(body["visibility"]); v == "public" || v == "private" || v == "internal" {
		rp.Visibility = v
	} else if private, ok := body["private"].(bool); ok {
		rp.Visibility = map[bool]string{true: "private", false: "public"}[private]
	}
}

func nameTaken(msg string) (int, any) {
	return fail(422, msg, M{"resource": "Repository", "code": "custom", "field": "name", "message": "name already exists on this account"})
}

// newRepo registers a repository and creates its empty bare repository.
func (s *server) newRepo(owner string, body M) (rp *Repo, status int, errBody any) {
	name := badName.ReplaceAllString(str(body["name"]), "-")
	switch {
	case name == "" || name == "." || name == "..":
		status, errBody = fail(422, "Repository creation failed.", M{"resource": "Repository", "code": "missing_field", "field": "name"})
	case s.st.find(owner, name) != nil:
		status, errBody = nameTaken("Repository creation failed.")
	case applySettings(nil, body) != "":
		status, errBody = invalid("Repository", applySettings(nil, body), "invalid", "")
	}
	if errBody != nil {
		return nil, status, errBody
	}
	now := time.Now().UTC()
	rp = &Repo{ID: s.st.NextRepoID, Owner: owner, Name: name, Description: str(body["description"]), Visibility: "public",
		DefaultBranch: "main", Topics: []string{}, Settings: maps.Clone(repoDefaults), Keys: []*DeployKey{},
		CreatedAt: now, UpdatedAt: now, PushedAt: now}
	applySettings(rp, body)
	setVisibility(rp, body)
	if err := initBare(s.repoDir(rp)); err != nil {
		status, errBody = internal(err)
		return nil, status, errBody
	}
	s.st.NextRepoID++
	s.st.Repos[rp.ID] = rp
	return rp, 0, nil
}

func (s *server) createRepo(r *http.Request, _ *Repo) (int, any) {
	owner := userLogin
	if org := r.PathValue("org"); org != "" {
		if !strings.EqualFold(org, s.cfg.owner) {
			return notFound()
		}
		owner = s.cfg.owner
	}
	var body M
	if !decode(r, &body) {
		return badJSON()
	}
	rp, status, errBody := s.newRepo(owner, body)
	if rp == nil {
		return status, errBody
	}
	if body["auto_init"] == true {
		readme := "# " + rp.Name + "\n" // what GitHub writes
		if rp.Description != "" {
			readme += "\n" + rp.Description + "\n"
		}
		files := map[string][]byte{"README.md": []byte(readme)}
		if _, err := commitFiles(s.repoDir(rp), "main", "", "", files, nil, "Initial commit", rigIdent, rigIdent); err != nil {
			return internal(err)
		}
	}
	s.save()
	return 201, s.repoJSON(r, rp)
}

func (s *server) generate(r *http.Request, tmpl *Repo) (int, any) {
	var body M
	if !decode(r, &body) {
		return badJSON()
	}
	if !tmpl.flag("is_template") {
		return fail(422, tmpl.Owner+"/"+tmpl.Name+" is not a template repository")
	}
	owner := s.cfg.owner
	if o := str(body["owner"]); o == "" || strings.EqualFold(o, userLogin) {
		owner = userLogin
	} else if !strings.EqualFold(o, s.cfg.owner) {
		return notFound()
	}
	rp, status, errBody := s.newRepo(owner, M{"name": body["name"], "description": body["description"], "private": body["private"] == true})
	if rp == nil {
		return status, errBody
	}
	rp.TemplateID, rp.DefaultBranch = tmpl.ID, tmpl.DefaultBranch
	setHead(s.repoDir(rp), rp.DefaultBranch)
	s.save()
	go s.fillFromTemplate(rp.ID, tmpl.ID, body["include_all_branches"] == true)
	return 201, s.repoJSON(r, rp)
}

// fillFromTemplate copies the template's branches a moment after the repository was created:
// GitHub does it asynchronously too, and clients must cope with the empty repository meanwhile.
func (s *server) fillFromTemplate(id, tmplID int64, all bool) {
	time.Sleep(s.fillDelay)
	s.mu.Lock()
	defer s.mu.Unlock()
	rp, tmpl := s.st.Repos[id], s.st.Repos[tmplID]
	if rp == nil || tmpl == nil {
		log.Printf("ERROR generating repository %d: it or its template %d is gone", id, tmplID)
		return
	}
	names := []string{tmpl.DefaultBranch}
	if all {
		_, names = branches(s.repoDir(tmpl))
	}
	for _, b := range names {
		if err := copyBranch(s.repoDir(rp), s.repoDir(tmpl), b); err != nil {
			log.Printf("ERROR generating %s/%s from its template: %v", rp.Owner, rp.Name, err)
		}
	}
	s.touch(rp, "", false)
}

func (s *server) patchRepo(r *http.Request, rp *Repo) (int, any) {
	var body M
	if !decode(r, &body) {
		return badJSON()
	}
	dir, name, branch := s.repoDir(rp), badName.ReplaceAllString(str(body["name"]), "-"), str(body["default_branch"])
	heads, _ := branches(dir)
	// Validate everything before changing anything.
	switch other := s.st.find(rp.Owner, name); {
	case rp.flag("archived") && body["archived"] != false:
		return archived()
	case name != "" && other != nil && other != rp:
		return nameTaken("Validation Failed")
	case branch != "" && len(heads) > 0 && heads[branch] == "":
		return invalid("Repository", "default_branch", "invalid", "")
	case applySettings(nil, body) != "":
		return invalid("Repository", applySettings(nil, body), "invalid", "")
	}
	if name != "" && name != rp.Name {
		newDir := filepath.Join(filepath.Dir(dir), name+".git")
		if err := os.Rename(dir, newDir); err != nil {
			return internal(err)
		}
		rp.Name, dir = name, newDir
	}
	if branch != "" && setHead(dir, branch) == nil {
		rp.DefaultBranch = branch
	}
	if d, ok := body["description"].(string); ok {
		rp.Description = d
	}
	applySettings(rp, body)
	setVisibility(rp, body)
	rp.UpdatedAt = time.Now().UTC()
	s.save()
	return 200, s.repoJSON(r, rp)
}

func (s *server) deleteRepo(r *http.Request, rp *Repo) (int, any) {
	os.RemoveAll(s.repoDir(rp))
	delete(s.st.Repos, rp.ID)
	for _, g := range s.st.Grants {
		delete(g, rp.ID)
	}
	s.save()
	return 204, nil
}

func (s *server) topics(r *http.Request, rp *Repo) (int, any) {
	var body struct{ Names []string }
	switch {
	case r.Method == "PUT" && !decode(r, &body):
		return badJSON()
	case r.Method == "PUT" && rp.flag("archived"):
		return archived()
	case r.Method == "PUT":
		rp.Topics = []string{}
		for _, t := range body.Names {
			rp.Topics = append(rp.Topics, strings.ToLower(t))
		}
		s.save()
	case r.Method != "GET":
		return s.unhandled(r, rp)
	}
	return 200, M{"names": rp.Topics}
}

// vulnAlerts: GitHub answers 204 when enabled, 404 when disabled.
func (s *server) vulnAlerts(r *http.Request, rp *Repo) (int, any) {
	switch r.Method {
	case "GET":
		if rp.VulnAlerts {
			return 204, nil
		}
		return notFound()
	case "PUT", "DELETE":
		rp.VulnAlerts = r.Method == "PUT"
		s.save()
		return 204, nil
	}
	return s.unhandled(r, rp)
}

// --- branches and refs ---

func commitJSON(r *http.Request, rp *Repo, c commitMeta) M {
	api, web := repoAPI(r, rp), repoWeb(r, rp)
	parents := []M{}
	for _, p := range c.Parents {
		parents = append(parents, M{"sha": p, "url": api + "/git/commits/" + p, "html_url": web + "/commit/" + p})
	}
	return M{"sha": c.SHA, "node_id": "C_" + c.SHA, "url": api + "/git/commits/" + c.SHA, "html_url": web + "/commit/" + c.SHA,
		"message": c.Message, "parents": parents, "tree": M{"sha": c.Tree, "url": api + "/git/trees/" + c.Tree},
		"author":       M{"name": c.Author.Name, "email": c.Author.Email, "date": stamp(c.AuthorDate)},
		"committer":    M{"name": c.Committer.Name, "email": c.Committer.Email, "date": stamp(c.CommitDate)},
		"verification": M{"verified": false, "reason": "unsigned", "signature": nil, "payload": nil}}
}

func (s *server) branchJSON(r *http.Request, rp *Repo, name, sha string) M {
	api, c := repoAPI(r, rp), commitJSON(r, rp, readCommit(s.repoDir(rp), sha))
	inner := M{"url": c["url"], "comment_count": 0}
	for _, k := range []string{"author", "committer", "message", "tree", "verification"} {
		inner[k] = c[k]
	}
	return M{"name": name, "protected": false, "protection_url": api + "/branches/" + name + "/protection",
		"protection": M{"enabled": false, "required_status_checks": M{"enforcement_level": "off", "contexts": []string{}, "checks": []any{}}},
		"_links":     M{"self": api + "/branches/" + name, "html": repoWeb(r, rp) + "/tree/" + name},
		"commit": M{"sha": sha, "node_id": c["node_id"], "url": api + "/commits/" + sha, "html_url": c["html_url"],
			"parents": c["parents"], "author": nil, "committer": nil, "commit": inner}}
}

func (s *server) listBranches(r *http.Request, rp *Repo) (int, any) {
	heads, names := branches(s.repoDir(rp))
	list := []M{}
	for _, n := range names {
		list = append(list, M{"name": n, "protected": false, "commit": M{"sha": heads[n], "url": repoAPI(r, rp) + "/commits/" + heads[n]}})
	}
	return 200, list
}

func (s *server) getBranch(r *http.Request, rp *Repo) (int, any) {
	if sha, ok := revParse(s.repoDir(rp), "refs/heads/"+r.PathValue("branch")); ok {
		return 200, s.branchJSON(r, rp, r.PathValue("branch"), sha)
	}
	return fail(404, "Branch not found")
}

// renameBranch is POST …/branches/{branch}/rename; the default branch follows, as on GitHub.
func (s *server) renameBranch(r *http.Request, rp *Repo) (int, any) {
	from, isRename := strings.CutSuffix(r.PathValue("branch"), "/rename")
	var body struct {
		NewName string `json:"new_name"`
	}
	if !isRename {
		return s.unhandled(r, rp)
	}
	if !decode(r, &body) {
		return badJSON()
	}
	dir, to := s.repoDir(rp), body.NewName
	sha, exists := revParse(dir, "refs/heads/"+from)
	_, taken := revParse(dir, "refs/heads/"+to)
	_, badRef := git(dir, nil, nil, "check-ref-format", "refs/heads/"+to)
	switch {
	case rp.flag("archived"):
		return archived()
	case !exists:
		return fail(404, "Branch not found")
	case to == from: // already so named: nothing to do
		return 201, s.branchJSON(r, rp, to, sha)
	case badRef != nil:
		return invalid("Branch", "new_name", "invalid", "")
	case taken:
		return invalid("Branch", "new_name", "already_exists", "")
	}
	if _, err := git(dir, nil, nil, "update-ref", "refs/heads/"+to, sha, ""); err != nil {
		return internal(err)
	}
	if _, err := git(dir, nil, nil, "update-ref", "-d", "refs/heads/"+from, sha); err != nil {
		return internal(err)
	}
	if rp.DefaultBranch == from && setHead(dir, to) == nil {
		rp.DefaultBranch = to
	}
	s.save()
	return 201, s.branchJSON(r, rp, to, sha)
}

func (s *server) getRef(r *http.Request, rp *Repo) (int, any) {
	name := r.PathValue("branch")
	sha, ok := revParse(s.repoDir(rp), "refs/heads/"+name)
	if !ok {
		return notFound()
	}
	api := repoAPI(r, rp)
	return 200, M{"ref": "refs/heads/" + name, "node_id": "REF_" + sha, "url": api + "/git/refs/heads/" + name,
		"object": M{"sha": sha, "type": "commit", "url": api + "/git/commits/" + sha}}
}

// --- deploy keys ---

func keyJSON(r *http.Request, rp *Repo, k *DeployKey) M {
	return M{"id": k.ID, "key": k.Key, "url": repoAPI(r, rp) + "/keys/" + strconv.FormatInt(k.ID, 10), "title": k.Title,
		"verified": true, "created_at": stamp(k.CreatedAt), "read_only": k.ReadOnly, "added_by": userLogin,
		"last_used": k.LastUsed, "enabled": true}
}

// keys lists (GET) and adds (POST) deploy keys.
func (s *server) keys(r *http.Request, rp *Repo) (int, any) {
	var body struct {
		Title, Key string
		ReadOnly   bool `json:"read_only"`
	}
	switch {
	case r.Method == "GET":
		list := []M{}
		for _, k := range rp.Keys {
			list = append(list, keyJSON(r, rp, k))
		}
		return 200, list
	case r.Method != "POST":
		return s.unhandled(r, rp)
	case !decode(r, &body):
		return badJSON()
	}
	pk, _, _, _, err := gossh.ParseAuthorizedKey([]byte(body.Key))
	switch {
	case err != nil:
		return invalid("PublicKey", "key", "custom", "key is invalid. You must supply a key in OpenSSH public key format")
	case rp.flag("archived"):
		return archived()
	}
	if s.st.findKey(authorizedKey(pk)) != nil {
		return invalid("PublicKey", "key", "custom", "key is already in use")
	}
	k := &DeployKey{ID: s.st.NextKeyID, Title: body.Title, Key: authorizedKey(pk), ReadOnly: body.ReadOnly, CreatedAt: time.Now().UTC()}
	s.st.NextKeyID++
	rp.Keys = append(rp.Keys, k)
	s.save()
	return 201, keyJSON(r, rp, k)
}

// key reads (GET) or removes (DELETE) one deploy key.
func (s *server) key(r *http.Request, rp *Repo) (int, any) {
	for i, k := range rp.Keys {
		switch {
		case strconv.FormatInt(k.ID, 10) != r.PathValue("id"):
			continue
		case r.Method == "GET":
			return 200, keyJSON(r, rp, k)
		case r.Method != "DELETE":
			return s.unhandled(r, rp)
		case rp.flag("archived"):
			return archived()
		}
		rp.Keys = append(rp.Keys[:i], rp.Keys[i+1:]...)
		s.save()
		return 204, nil
	}
	return notFound()
}

// --- teams ---

// teamFor resolves /orgs/{org}/teams/{slug} and /organizations/{orgid}/team/{teamid}.
func (s *server) teamFor(r *http.Request) *team {
	if org, oid := r.PathValue("org"), r.PathValue("orgid"); (org != "" && !strings.EqualFold(org, s.cfg.owner)) || (oid != "" && oid != strconv.Itoa(orgID)) {
		return nil
	}
	for i, t := range s.teams {
		if strings.EqualFold(t.Slug, r.PathValue("slug")) || strconv.FormatInt(t.ID, 10) == r.PathValue("teamid") {
			return &s.teams[i]
		}
	}
	return nil
}

func (s *server) teamJSON(r *http.Request, t *team) M {
	url := fmt.Sprintf("%s/organizations/%d/team/%d", apiBase(r), orgID, t.ID)
	return M{"id": t.ID, "node_id": nodeID("Team", t.ID), "name": t.Slug, "slug": t.Slug, "description": "",
		"privacy": "closed", "notification_setting": "notifications_enabled", "permission": "pull", "parent": nil,
		"members_count": 0, "repos_count": len(s.st.Grants[t.Slug]), "url": url, "members_url": url + "/members{/member}",
		"repositories_url": url + "/repos", "html_url": "http://" + r.Host + "/orgs/" + s.cfg.owner + "/teams/" + t.Slug,
		"organization": s.accountJSON(r, s.cfg.owner)}
}

func (s *server) listTeams(r *http.Request, _ *Repo) (int, any) {
	if !strings.EqualFold(r.PathValue("org"), s.cfg.owner) {
		return notFound()
	}
	list := []M{}
	for i := range s.teams {
		list = append(list, s.teamJSON(r, &s.teams[i]))
	}
	return 200, list
}

// teamRepoJSON is a repository as seen through a team's grant.
func (s *server) teamRepoJSON(r *http.Request, rp *Repo, perm string) M {
	m := s.repoJSON(r, rp)
	m["permissions"], m["role_name"] = perms(perm), roleNames[perm]
	return m
}

// team answers a team, its members (always none) and its repositories.
func (s *server) team(r *http.Request, _ *Repo) (int, any) {
	t := s.teamFor(r)
	switch {
	case t == nil:
		return notFound()
	case strings.HasSuffix(r.URL.Path, "/members"):
		return 200, []M{}
	case strings.HasSuffix(r.URL.Path, "/repos"):
		list := []M{}
		for id, perm := range s.st.Grants[t.Slug] {
			if rp := s.st.Repos[id]; rp != nil {
				list = append(list, s.teamRepoJSON(r, rp, perm))
			}
		}
		sort.Slice(list, func(i, j int) bool { return list[i]["id"].(int64) < list[j]["id"].(int64) })
		return 200, list
	}
	return 200, s.teamJSON(r, t)
}

// teamRepo checks (GET), grants (PUT) and revokes (DELETE) a team's access to a repository.
func (s *server) teamRepo(r *http.Request, rp *Repo) (int, any) {
	var body struct{ Permission string }
	t := s.teamFor(r)
	if t == nil {
		return notFound()
	}
	perm, granted := s.st.Grants[t.Slug][rp.ID]
	switch r.Method {
	case "GET":
		switch {
		case !granted:
			return notFound()
		case strings.Contains(r.Header.Get("Accept"), "application/vnd.github.v3.repository+json"):
			return 200, s.teamRepoJSON(r, rp, perm)
		}
		return 204, nil
	case "PUT":
		if !decode(r, &body) {
			return badJSON()
		}
		if body.Permission == "" {
			body.Permission = "push"
		}
		if roleNames[body.Permission] == "" || !strings.EqualFold(rp.Owner, s.cfg.owner) {
			return invalid("TeamRepository", "permission", "invalid", "")
		}
		if s.st.Grants[t.Slug] == nil {
			s.st.Grants[t.Slug] = map[int64]string{}
		}
		s.st.Grants[t.Slug][rp.ID] = body.Permission
	case "DELETE":
		delete(s.st.Grants[t.Slug], rp.ID)
	default:
		return s.unhandled(r, rp)
	}
	s.save()
	return 204, nil
}
