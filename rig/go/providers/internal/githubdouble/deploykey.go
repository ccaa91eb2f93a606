package githubdouble

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"fleet-rig/providers/internal/double"
)

// deployKey is github:index/repositoryDeployKey:RepositoryDeployKey (TF
// github_repository_deploy_key, v6.13.0): every input ForceNew, read_only defaulting to true, id
// "{repository}:{key id}" (TF buildTwoPartID); pulumi-github sets DeleteBeforeReplace (GitHub
// refuses a key already in use).
//
// Create: POST repos/{owner}/{repository}/keys {key, title, read_only}, then Read. Read: GET
// repos/{owner}/{repository}/keys/{id}, 404 removing it from state; like TF it stores the key as
// GitHub returns it (GitHub drops the comment), and Diff compares the configured key with it the
// way TF's suppressDeployKeyDiff does (trimmed, comment dropped), so that is no change. Delete:
// DELETE …/keys/{id}; the 403 of an archived repository counts as done (handleArchivedRepoDelete),
// any other error fails, a 404 included, as in TF.
type deployKey struct{ p *provider }

var deployKeyRe = regexp.MustCompile(`^([a-z0-9-]+ [^\s]+)( [^\s]+)?$`)

// normalizeKey is TF's suppressDeployKeyDiff normalization: trimmed, without the comment.
func normalizeKey(k string) string {
	return deployKeyRe.ReplaceAllString(strings.TrimSpace(k), "$1")
}

var deployKeySpec = &double.Spec{
	DeleteBeforeReplace: true,
	Inputs:              []string{"etag", "key", "readOnly", "repository", "title"},
	Required:            []string{"key", "repository", "title"},
	ForceNew:            []string{"key", "readOnly", "repository", "title"},
	Ignored:             []string{"etag"},
	Defaults:            resource.PropertyMap{"readOnly": double.B(true)},
	Suppress: map[string]func(o, n resource.PropertyValue) bool{
		"key": func(o, n resource.PropertyValue) bool {
			return o.IsString() && n.IsString() && o.StringValue() == normalizeKey(n.StringValue())
		},
	},
}

func (deployKey) Spec() *double.Spec { return deployKeySpec }

type ghKey struct {
	ID       int64  `json:"id"`
	Key      string `json:"key"`
	Title    string `json:"title"`
	ReadOnly bool   `json:"read_only"`
}

// parseID2 is TF's.
func parseID2(id string) (string, string, error) {
	parts := strings.SplitN(id, ":", 2)
	if len(parts) != 2 {
		return "", "", fmt.Errorf("unexpected ID format (%q); expected %d parts separated by %q", id, 2, ":")
	}
	return parts[0], parts[1], nil
}

// parseNumericID is strconv.ParseInt with TF's unconvertibleIdErr message.
func parseNumericID(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("Unexpected ID format (%q), expected numerical ID. %s", s, err.Error())
	}
	return n, nil
}

func (k deployKey) Create(ctx context.Context, in resource.PropertyMap, preview bool) (string, resource.PropertyMap, error) {
	if preview {
		return "", double.Copy(in), nil
	}
	c, err := k.p.get()
	if err != nil {
		return "", nil, err
	}
	owner, err := c.Owner(ctx)
	if err != nil {
		return "", nil, err
	}
	repo := double.Str(in, "repository")
	readOnly := true
	if b, ok := double.BoolOK(in, "readOnly"); ok {
		readOnly = b
	}
	var created ghKey
	body := map[string]any{"title": double.Str(in, "title"), "key": double.Str(in, "key"), "read_only": readOnly}
	if _, err := c.Do(ctx, Request{Method: http.MethodPost, Path: P("repos", owner, repo, "keys"), Body: body, Out: &created}); err != nil {
		return "", nil, err
	}
	id := repo + ":" + strconv.FormatInt(created.ID, 10)
	out, found, err := k.read(ctx, c, owner, id)
	if err != nil {
		return "", nil, &double.PartialError{ID: id, State: double.Copy(in), Err: err}
	}
	if !found {
		return "", nil, &double.PartialError{ID: id, State: double.Copy(in),
			Err: fmt.Errorf("deploy key %s of %s/%s was created but reading it answers 404", id, owner, repo)}
	}
	return id, out, nil
}

func (deployKey) read(ctx context.Context, c *Client, owner, id string) (resource.PropertyMap, bool, error) {
	repo, keyID, err := parseID2(id)
	if err != nil {
		return nil, false, err
	}
	if _, err := parseNumericID(keyID); err != nil {
		return nil, false, err
	}
	var g ghKey
	if _, err := c.Do(ctx, Request{Method: http.MethodGet, Path: P("repos", owner, repo, "keys", keyID), Out: &g}); err != nil {
		if IsNotFound(err) {
			return nil, false, nil
		}
		return nil, false, err
	}
	return resource.PropertyMap{
		"key":        double.S(g.Key),
		"readOnly":   double.B(g.ReadOnly),
		"repository": double.S(repo),
		"title":      double.S(g.Title),
	}, true, nil
}

func (k deployKey) Read(ctx context.Context, id string, _, _ resource.PropertyMap) (string, resource.PropertyMap, error) {
	c, err := k.p.get()
	if err != nil {
		return "", nil, err
	}
	owner, err := c.Owner(ctx)
	if err != nil {
		return "", nil, err
	}
	out, found, err := k.read(ctx, c, owner, id)
	if err != nil || !found {
		return "", nil, err // 404: removed from state (TF d.SetId(""))
	}
	return id, out, nil
}

// Update is only reached with no input change (all ForceNew): the state stays.
func (deployKey) Update(_ context.Context, _ string, olds, news resource.PropertyMap, _ bool) (resource.PropertyMap, error) {
	out := double.Copy(olds)
	for k, v := range news {
		out[k] = v
	}
	return out, nil
}

func (k deployKey) Delete(ctx context.Context, id string, _ resource.PropertyMap) error {
	c, err := k.p.get()
	if err != nil {
		return err
	}
	owner, err := c.Owner(ctx)
	if err != nil {
		return err
	}
	repo, keyID, err := parseID2(id)
	if err != nil {
		return err
	}
	if _, err := parseNumericID(keyID); err != nil {
		return err
	}
	_, err = c.Do(ctx, Request{Method: http.MethodDelete, Path: P("repos", owner, repo, "keys", keyID)})
	if err == nil || isArchivedError(err) {
		return nil
	}
	return err
}
