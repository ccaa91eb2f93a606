package githubdouble

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"fleet-rig/providers/internal/double"
)

// branchDefault is github:index/branchDefault:BranchDefault (TF github_branch_default, v6.13.0):
// id the repository name; rename and waitForRename default false.
//
// Create reads the repository (any error, 404 included, fails); when its default branch is not
// `branch` it renames that branch (rename: POST repos/{owner}/{repo}/branches/{current}/rename) or
// makes `branch` the default (PATCH repos/{owner}/{repo} {default_branch}); a branch already the
// default costs no write. With rename and waitForRename it then polls GET repos/{owner}/{repo}
// (after 1 s, every second, for at most 2 minutes) until GitHub reports the new default branch.
// No Read follows: the outputs are the inputs and repositoryId from the first GET. Update renames
// the current default branch (rename, after a GET; nothing when it is already `branch`) or always
// PATCHes default_branch. Read: GET repos/{owner}/{repository}, 404 or no default branch removing
// it from state; it sets branch and repositoryId. Delete does nothing: "There is no way to 'reset'
// the default branch for a repository". Diff (diffRepository): a repository change is a
// replacement unless GET of the new name answers the same repository id (a rename).
type branchDefault struct{ p *provider }

// Poll delay, interval and limit of waitForRename (TF waitForDefaultBranch; variables for tests).
var (
	WaitForRenameDelay    = time.Second
	WaitForRenameInterval = time.Second
	WaitForRenameTimeout  = 2 * time.Minute
)

var branchDefaultSpec = &double.Spec{
	Inputs:   []string{"branch", "etag", "rename", "repository", "waitForRename"},
	Required: []string{"branch", "repository"},
	Ignored:  []string{"etag"},
	Defaults: resource.PropertyMap{"rename": double.B(false), "waitForRename": double.B(false)},
}

func (b branchDefault) Spec() *double.Spec {
	spec := *branchDefaultSpec
	spec.CustomizeDiff = diffRepository(b.p)
	return &spec
}

// diffRepository is TF's (util_diff.go): when repository changes, it is the same resource only if
// the new name is the same repository (same id); without a repositoryId, or on a 404, replace.
func diffRepository(p *provider) func(ctx context.Context, id string, olds, news resource.PropertyMap) ([]string, error) {
	return func(ctx context.Context, _ string, olds, news resource.PropertyMap) ([]string, error) {
		if double.Equal(olds["repository"], news["repository"]) {
			return nil, nil
		}
		repoID := double.Num(olds, "repositoryId")
		if repoID == 0 || !double.Known(news, "repository") {
			return []string{"repository"}, nil
		}
		c, err := p.get()
		if err != nil {
			return nil, err
		}
		owner, err := c.Owner(ctx)
		if err != nil {
			return nil, err
		}
		g, err := getRepo(ctx, c, owner, double.Str(news, "repository"))
		switch {
		case IsNotFound(err):
			return []string{"repository"}, nil
		case err != nil:
			return nil, err
		case float64(g.ID) != repoID:
			return []string{"repository"}, nil
		}
		return nil, nil
	}
}

func getRepo(ctx context.Context, c *Client, owner, repo string) (ghRepo, error) {
	var g ghRepo
	_, err := c.Do(ctx, Request{Method: http.MethodGet, Path: P("repos", owner, repo), Out: &g})
	return g, err
}

func renameBranch(ctx context.Context, c *Client, owner, repo, from, to string) error {
	path := P("repos", owner, repo, "branches", from, "rename")
	_, err := c.Do(ctx, Request{Method: http.MethodPost, Path: path, Body: map[string]any{"new_name": to}})
	return err
}

func patchDefault(ctx context.Context, c *Client, owner, repo, branch string) error {
	_, err := c.Do(ctx, Request{Method: http.MethodPatch, Path: P("repos", owner, repo), Body: map[string]any{"default_branch": branch}})
	return err
}

// waitForDefault is TF's waitForDefaultBranch (retry.StateChangeConf: Delay 1 s, MinTimeout 1 s).
func waitForDefault(ctx context.Context, c *Client, owner, repo, branch string) error {
	deadline := time.Now().Add(WaitForRenameTimeout)
	if err := sleep(ctx, WaitForRenameDelay); err != nil {
		return err
	}
	for {
		g, err := getRepo(ctx, c, owner, repo)
		if err != nil {
			return err
		}
		if deref(g.DefaultBranch) == branch {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timeout while waiting for state to become 'converged' (last state: 'pending', timeout: %s): the default branch of %s/%s is still %q, not %q",
				WaitForRenameTimeout, owner, repo, deref(g.DefaultBranch), branch)
		}
		if err := sleep(ctx, WaitForRenameInterval); err != nil {
			return err
		}
	}
}

func (b branchDefault) Create(ctx context.Context, in resource.PropertyMap, preview bool) (string, resource.PropertyMap, error) {
	if preview {
		return "", double.Unknowns(in, "repositoryId"), nil
	}
	c, err := b.p.get()
	if err != nil {
		return "", nil, err
	}
	owner, err := c.Owner(ctx)
	if err != nil {
		return "", nil, err
	}
	repo, branch := double.Str(in, "repository"), double.Str(in, "branch")
	g, err := getRepo(ctx, c, owner, repo)
	if err != nil {
		return "", nil, err
	}
	if current := deref(g.DefaultBranch); current != branch {
		if double.Bool(in, "rename") {
			if err := renameBranch(ctx, c, owner, repo, current, branch); err != nil {
				return "", nil, err
			}
			if double.Bool(in, "waitForRename") {
				if err := waitForDefault(ctx, c, owner, repo, branch); err != nil {
					return "", nil, err
				}
			}
		} else if err := patchDefault(ctx, c, owner, repo, branch); err != nil {
			return "", nil, err
		}
	}
	out := double.Copy(in)
	delete(out, "etag")
	out["repositoryId"] = double.N(float64(g.ID))
	return repo, out, nil
}

func (b branchDefault) Read(ctx context.Context, id string, state, _ resource.PropertyMap) (string, resource.PropertyMap, error) {
	c, err := b.p.get()
	if err != nil {
		return "", nil, err
	}
	owner, err := c.Owner(ctx)
	if err != nil {
		return "", nil, err
	}
	out := double.Copy(state)
	repo := double.Str(state, "repository")
	if repo == "" { // import (TF's importer: repository = id, rename and waitForRename default false)
		repo = id
		out["repository"] = double.S(id)
		out["rename"] = double.B(false)
		out["waitForRename"] = double.B(false)
	}
	g, err := getRepo(ctx, c, owner, repo)
	if err != nil {
		if IsNotFound(err) {
			return "", nil, nil // removed from state (TF d.SetId(""))
		}
		return "", nil, err
	}
	if g.DefaultBranch == nil {
		return "", nil, nil
	}
	delete(out, "etag")
	out["repositoryId"] = double.N(float64(g.ID))
	out["branch"] = double.S(*g.DefaultBranch)
	return id, out, nil
}

func (b branchDefault) Update(ctx context.Context, _ string, olds, news resource.PropertyMap, preview bool) (resource.PropertyMap, error) {
	out := double.Planned(branchDefaultSpec, olds, news)
	delete(out, "etag")
	if preview {
		return out, nil
	}
	c, err := b.p.get()
	if err != nil {
		return nil, err
	}
	owner, err := c.Owner(ctx)
	if err != nil {
		return nil, err
	}
	repo, branch := double.Str(news, "repository"), double.Str(news, "branch")
	if double.Bool(news, "rename") {
		g, err := getRepo(ctx, c, owner, repo)
		if err != nil {
			return nil, err
		}
		if current := deref(g.DefaultBranch); current != branch {
			if err := renameBranch(ctx, c, owner, repo, current, branch); err != nil {
				return nil, err
			}
			if double.Bool(news, "waitForRename") {
				if err := waitForDefault(ctx, c, owner, repo, branch); err != nil {
					return nil, err
				}
			}
		}
	} else if err := patchDefault(ctx, c, owner, repo, branch); err != nil {
		return nil, err
	}
	return out, nil
}

// Delete does nothing, as TF's: the default branch cannot be "reset".
func (branchDefault) Delete(context.Context, string, resource.PropertyMap) error { return nil }
