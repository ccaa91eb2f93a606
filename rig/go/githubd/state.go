package main

import (
	"encoding/json"
	"errors"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// State is everything the double remembers besides git objects. It is rewritten as one JSON file
// after every change, so a restarted githubd answers exactly as before.
type State struct {
	NextRepoID int64           `json:"next_repo_id"`
	NextKeyID  int64           `json:"next_key_id"`
	Repos      map[int64]*Repo `json:"repos"`
	// Grants: team slug → repository id → permission. Keyed by id so a rename keeps the grant.
	Grants map[string]map[int64]string `json:"grants"`
}

type Repo struct {
	ID            int64    `json:"id"`
	Owner         string   `json:"owner"`
	Name          string   `json:"name"`
	Description   string   `json:"description"`
	Visibility    string   `json:"visibility"` // public, private or internal
	DefaultBranch string   `json:"default_branch"`
	TemplateID    int64    `json:"template_id,omitempty"`
	Topics        []string `json:"topics"`
	VulnAlerts    bool     `json:"vulnerability_alerts"`
	// Settings holds the plain settable fields under their GitHub names (see repoDefaults), so
	// create, PATCH and the JSON answer share one list instead of a struct field each.
	Settings  map[string]any `json:"settings"`
	Keys      []*DeployKey   `json:"keys"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
	PushedAt  time.Time      `json:"pushed_at"`
}

type DeployKey struct {
	ID        int64      `json:"id"`
	Title     string     `json:"title"`
	Key       string     `json:"key"` // "type base64": the comment is dropped, as GitHub does
	ReadOnly  bool       `json:"read_only"`
	CreatedAt time.Time  `json:"created_at"`
	LastUsed  *time.Time `json:"last_used"`
}

// repoDefaults are GitHub's defaults for a new repository; only these keys are settable, and a
// value must have the default's JSON type.
var repoDefaults = map[string]any{
	"homepage": "", "has_issues": true, "has_wiki": true, "has_projects": true, "has_downloads": true,
	"has_discussions": false, "is_template": false, "archived": false, "allow_forking": true,
	"allow_merge_commit": true, "allow_squash_merge": true, "allow_rebase_merge": true,
	"allow_auto_merge": false, "allow_update_branch": false, "delete_branch_on_merge": false,
	"web_commit_signoff_required": false, "squash_merge_commit_title": "COMMIT_OR_PR_TITLE",
	"squash_merge_commit_message": "COMMIT_MESSAGES", "merge_commit_title": "MERGE_MESSAGE",
	"merge_commit_message": "PR_TITLE",
}

func (rp *Repo) flag(name string) bool { b, _ := rp.Settings[name].(bool); return b }

// applySettings copies the known settings in body onto rp (nil: only check them); it returns the
// first field whose value has the wrong type, for a 422.
func applySettings(rp *Repo, body map[string]any) string {
	for k, def := range repoDefaults {
		v, ok := body[k]
		if !ok || v == nil {
			continue
		}
		_, isBool := v.(bool)
		_, isString := v.(string)
		if _, wantBool := def.(bool); (wantBool && !isBool) || (!wantBool && !isString) {
			return k
		}
		if rp != nil {
			rp.Settings[k] = v
		}
	}
	return ""
}

func loadState(path string) (*State, error) {
	st := &State{NextRepoID: 1000001, NextKeyID: 5000001}
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, st)
	} else if errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	if st.Repos == nil {
		st.Repos = map[int64]*Repo{}
	}
	if st.Grants == nil {
		st.Grants = map[string]map[int64]string{}
	}
	return st, err
}

// save persists the state (s.mu held), through a rename so a crash never leaves half a file. A
// failed write is logged, not answered: the in-memory state is still right.
func (s *server) save() {
	b, err := json.MarshalIndent(s.st, "", "  ")
	if err == nil {
		err = writeAtomic(filepath.Join(s.cfg.data, "state.json"), b)
	}
	if err != nil {
		log.Printf("ERROR saving state: %v", err)
	}
}

// find looks a repository up by owner and name; GitHub names are case-insensitive.
func (st *State) find(owner, name string) *Repo {
	name = strings.TrimSuffix(name, ".git")
	for _, rp := range st.Repos {
		if strings.EqualFold(rp.Owner, owner) && strings.EqualFold(rp.Name, name) {
			return rp
		}
	}
	return nil
}

// findKey finds the deploy key with this normalized text on any repository.
func (st *State) findKey(norm string) *DeployKey {
	for _, rp := range st.Repos {
		for _, k := range rp.Keys {
			if k.Key == norm {
				return k
			}
		}
	}
	return nil
}

func (s *server) repoDir(rp *Repo) string {
	return filepath.Join(s.cfg.data, "repos", rp.Owner, rp.Name+".git")
}

// touch records new content (s.mu held): pushed_at, and, when the repository was empty, its first
// branch becomes the default, as on GitHub.
func (s *server) touch(rp *Repo, branch string, wasEmpty bool) {
	rp.PushedAt = time.Now().UTC()
	rp.UpdatedAt = rp.PushedAt
	if wasEmpty && branch != "" && branch != rp.DefaultBranch && setHead(s.repoDir(rp), branch) == nil {
		rp.DefaultBranch = branch
	}
	s.save()
}
