package main

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// The contents API: files read from and committed to the bare repositories.

// wrap64 is base64 in lines of 60 characters, each ending in \n, as GitHub sends file content.
func wrap64(b []byte) string {
	enc := base64.StdEncoding.EncodeToString(b)
	var out strings.Builder
	for len(enc) > 0 {
		n := min(60, len(enc))
		out.WriteString(enc[:n] + "\n")
		enc = enc[n:]
	}
	return out.String()
}

func contentJSON(r *http.Request, rp *Repo, ref string, e treeEntry) M {
	api, web := repoAPI(r, rp), repoWeb(r, rp)
	typ, gitURL, html := "file", api+"/git/blobs/"+e.SHA, web+"/blob/"+ref+"/"+e.Path
	var download any = web + "/raw/" + ref + "/" + e.Path
	switch {
	case e.Type == "tree":
		typ, gitURL, html, download = "dir", api+"/git/trees/"+e.SHA, web+"/tree/"+ref+"/"+e.Path, nil
	case e.Type == "commit":
		typ, download = "submodule", nil
	case e.Mode == "120000":
		typ = "symlink"
	}
	var segs []string
	for _, seg := range strings.Split(e.Path, "/") {
		segs = append(segs, url.PathEscape(seg))
	}
	self := api + "/contents/" + strings.Join(segs, "/") + "?ref=" + url.QueryEscape(ref)
	return M{"type": typ, "name": path.Base(e.Path), "path": e.Path, "sha": e.SHA, "size": e.Size, "url": self,
		"html_url": html, "git_url": gitURL, "download_url": download, "_links": M{"self": self, "git": gitURL, "html": html}}
}

func (s *server) getContents(r *http.Request, rp *Repo) (int, any) {
	dir, p, ref := s.repoDir(rp), strings.Trim(r.PathValue("path"), "/"), r.URL.Query().Get("ref")
	if heads, _ := branches(dir); ref == "" && len(heads) == 0 {
		return fail(404, "This repository is empty.")
	} else if ref == "" {
		ref = rp.DefaultBranch
	}
	sha, ok := revParse(dir, "refs/heads/"+ref)
	if !ok {
		sha, ok = revParse(dir, ref) // a tag or commit, as ?ref= also takes
	}
	if !ok {
		return fail(404, "No commit found for the ref "+ref)
	}
	var children []treeEntry
	if p == "" {
		children = lsTree(dir, sha)
	} else {
		e := fileEntry(dir, sha, p)
		switch {
		case e == nil:
			return notFound()
		case e.Type == "blob":
			m := contentJSON(r, rp, ref, *e)
			content, err := git(dir, nil, nil, "cat-file", "blob", e.SHA)
			if err != nil {
				return internal(err)
			}
			m["content"], m["encoding"] = wrap64([]byte(content)), "base64"
			return 200, m
		case e.Type != "tree":
			return 200, contentJSON(r, rp, ref, *e)
		}
		children = lsTree(dir, sha, p+"/")
	}
	list := []M{}
	for _, c := range children {
		list = append(list, contentJSON(r, rp, ref, c))
	}
	return 200, list
}

func orIdent(p *ident, def ident) ident {
	if p == nil || p.Name == "" {
		return def
	}
	return *p
}

func notSupplied(field string) (int, any) {
	return fail(422, "Invalid request.\n\n\""+field+"\" wasn't supplied.")
}

// changeContents is PUT (create or update) and DELETE of one file, each one commit.
func (s *server) changeContents(r *http.Request, rp *Repo) (int, any) {
	var body struct {
		Message, Branch, SHA string
		Content              *string
		Committer, Author    *ident
	}
	put, p := r.Method == "PUT", strings.Trim(r.PathValue("path"), "/")
	if !decode(r, &body) {
		return badJSON()
	}
	var data []byte
	var err error
	if body.Content != nil {
		data, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(*body.Content), ""))
	}
	switch {
	case p == "":
		return notFound()
	case body.Message == "":
		return notSupplied("message")
	case put && body.Content == nil:
		return notSupplied("content")
	case put && err != nil:
		return fail(422, "content is not valid Base64")
	case !put && body.SHA == "":
		return notSupplied("sha")
	case rp.flag("archived"):
		return archived()
	}
	dir, branch := s.repoDir(rp), body.Branch
	if branch == "" {
		branch = rp.DefaultBranch
	}
	heads, _ := branches(dir)
	parent := heads[branch]
	var old *treeEntry
	if parent != "" {
		old = fileEntry(dir, parent, p)
	}
	switch {
	case parent == "" && (len(heads) > 0 || !put): // an empty repository gets the branch created
		return fail(404, "Branch "+branch+" not found")
	case old == nil && !put, old != nil && old.Type != "blob":
		return notFound()
	case old != nil && body.SHA == "":
		return notSupplied("sha")
	case old != nil && body.SHA != old.SHA:
		return fail(409, p+" does not match "+body.SHA)
	}
	// GitHub's defaults: the committer is the token's user, the author the committer.
	committer := orIdent(body.Committer, rigIdent)
	author := orIdent(body.Author, committer)
	files, deletes := map[string][]byte{p: data}, []string(nil)
	if !put {
		files, deletes = nil, []string{p}
	}
	sha, err := commitFiles(dir, branch, parent, parent, files, deletes, body.Message, author, committer)
	if err != nil {
		return fail(409, "githubd: "+err.Error())
	}
	s.touch(rp, branch, len(heads) == 0)
	answer := M{"content": nil, "commit": commitJSON(r, rp, readCommit(dir, sha))}
	if !put {
		return 200, answer
	}
	if e := fileEntry(dir, sha, p); e != nil {
		answer["content"] = contentJSON(r, rp, branch, *e)
	}
	if old == nil {
		return 201, answer
	}
	return 200, answer
}
