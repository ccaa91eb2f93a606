package githubdouble

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"fleet-rig/providers/internal/double"
)

// teamRepository is github:index/teamRepository:TeamRepository (TF github_team_repository,
// v6.13.0): teamId (a team id or slug) and repository ForceNew, permission defaulting to pull and
// updated in place; id "{numeric team id}:{repository}" (a slug is looked up first: GET
// orgs/{owner}/teams/{slug}). The owner must be an organization.
//
// Like TF (go-github's …ByID calls) it uses the legacy by-id routes with the organization's id
// (from GET orgs/{owner} at configuration): PUT organizations/{org id}/team/{team id}/repos/
// {owner}/{repo} {permission} to create and update, GET (Accept
// application/vnd.github.v3.repository+json) to read, 404 removing it from state, permission
// from role_name (read → pull, write → push), and DELETE, where a 404 and the 403 of an archived
// repository count as done.
type teamRepository struct{ p *provider }

var teamRepositorySpec = &double.Spec{
	Inputs:   []string{"etag", "permission", "repository", "teamId"},
	Required: []string{"repository", "teamId"},
	ForceNew: []string{"repository", "teamId"},
	Ignored:  []string{"etag"},
	Defaults: resource.PropertyMap{"permission": double.S("pull")},
}

func (teamRepository) Spec() *double.Spec { return teamRepositorySpec }

type ghTeam struct {
	ID                  int64   `json:"id"`
	NodeID              string  `json:"node_id"`
	Name                string  `json:"name"`
	Slug                string  `json:"slug"`
	Description         *string `json:"description"`
	Privacy             string  `json:"privacy"`
	Permission          string  `json:"permission"`
	NotificationSetting string  `json:"notification_setting"`
}

// getTeamID is TF's: a number is the team id, anything else a slug to look up.
func getTeamID(ctx context.Context, c *Client, owner, s string) (int64, error) {
	if id, err := strconv.ParseInt(s, 10, 64); err == nil {
		return id, nil
	}
	var t ghTeam
	if _, err := c.Do(ctx, Request{Method: http.MethodGet, Path: P("orgs", owner, "teams", s), Out: &t}); err != nil {
		return 0, err
	}
	return t.ID, nil
}

// getPermission is TF's: the API's read/write are pull/push; other role names stand.
func getPermission(role string) string {
	switch role {
	case "read":
		return "pull"
	case "write":
		return "push"
	}
	return role
}

func teamRepoPath(orgID, teamID int64, owner, repo string) string {
	return P("organizations", strconv.FormatInt(orgID, 10), "team", strconv.FormatInt(teamID, 10), "repos", owner, repo)
}

func (t teamRepository) Create(ctx context.Context, in resource.PropertyMap, preview bool) (string, resource.PropertyMap, error) {
	if preview {
		return "", double.Copy(in), nil
	}
	c, err := t.p.get()
	if err != nil {
		return "", nil, err
	}
	owner, err := c.Owner(ctx)
	if err != nil {
		return "", nil, err
	}
	orgID, err := c.checkOrganization(ctx)
	if err != nil {
		return "", nil, err
	}
	teamID, err := getTeamID(ctx, c, owner, double.Str(in, "teamId"))
	if err != nil {
		return "", nil, err
	}
	repo := double.Str(in, "repository")
	body := map[string]any{}
	if p := double.Str(in, "permission"); p != "" {
		body["permission"] = p
	}
	if _, err := c.Do(ctx, Request{Method: http.MethodPut, Path: teamRepoPath(orgID, teamID, owner, repo), Body: body}); err != nil {
		return "", nil, err
	}
	id := strconv.FormatInt(teamID, 10) + ":" + repo
	out, found, err := t.read(ctx, c, owner, id, in)
	if err != nil {
		return "", nil, &double.PartialError{ID: id, State: double.Copy(in), Err: err}
	}
	if !found {
		return "", nil, &double.PartialError{ID: id, State: double.Copy(in),
			Err: fmt.Errorf("team %d was granted %s but reading the grant answers 404", teamID, repo)}
	}
	return id, out, nil
}

type ghTeamRepo struct {
	Name     string `json:"name"`
	RoleName string `json:"role_name"`
}

// read is TF's resourceGithubTeamRepositoryRead over prior (the state or the inputs).
func (teamRepository) read(ctx context.Context, c *Client, owner, id string, prior resource.PropertyMap) (resource.PropertyMap, bool, error) {
	orgID, err := c.checkOrganization(ctx)
	if err != nil {
		return nil, false, err
	}
	teamPart, repo, err := parseID2(id)
	if err != nil {
		return nil, false, err
	}
	teamID, err := getTeamID(ctx, c, owner, teamPart)
	if err != nil {
		return nil, false, err
	}
	var g ghTeamRepo
	req := Request{Method: http.MethodGet, Path: teamRepoPath(orgID, teamID, owner, repo),
		Accept: "application/vnd.github.v3.repository+json", Out: &g}
	if _, err := c.Do(ctx, req); err != nil {
		if IsNotFound(err) {
			return nil, false, nil
		}
		return nil, false, err
	}
	out := double.Copy(prior)
	delete(out, "etag")
	if double.Str(out, "teamId") == "" { // import: the id's team part
		out["teamId"] = double.S(teamPart)
	}
	out["repository"] = double.S(g.Name)
	out["permission"] = double.S(getPermission(g.RoleName))
	return out, true, nil
}

func (t teamRepository) Read(ctx context.Context, id string, state, _ resource.PropertyMap) (string, resource.PropertyMap, error) {
	c, err := t.p.get()
	if err != nil {
		return "", nil, err
	}
	owner, err := c.Owner(ctx)
	if err != nil {
		return "", nil, err
	}
	if len(state) == 0 { // TF's importer: a slug in the id becomes the team's id
		teamPart, repo, err := parseID2(id)
		if err != nil {
			return "", nil, err
		}
		teamID, err := getTeamID(ctx, c, owner, teamPart)
		if err != nil {
			return "", nil, err
		}
		id = strconv.FormatInt(teamID, 10) + ":" + repo
	}
	out, found, err := t.read(ctx, c, owner, id, state)
	if err != nil || !found {
		return "", nil, err // 404: removed from state (TF d.SetId(""))
	}
	return id, out, nil
}

// Update changes the permission (the same PUT, with the team id of the resource id).
func (t teamRepository) Update(ctx context.Context, id string, olds, news resource.PropertyMap, preview bool) (resource.PropertyMap, error) {
	planned := double.Planned(teamRepositorySpec, olds, news)
	if preview {
		return planned, nil
	}
	c, err := t.p.get()
	if err != nil {
		return nil, err
	}
	owner, err := c.Owner(ctx)
	if err != nil {
		return nil, err
	}
	orgID, err := c.checkOrganization(ctx)
	if err != nil {
		return nil, err
	}
	teamPart, repo, err := parseID2(id)
	if err != nil {
		return nil, err
	}
	teamID, err := parseNumericID(teamPart)
	if err != nil {
		return nil, err
	}
	body := map[string]any{}
	if p := double.Str(planned, "permission"); p != "" {
		body["permission"] = p
	}
	if _, err := c.Do(ctx, Request{Method: http.MethodPut, Path: teamRepoPath(orgID, teamID, owner, repo), Body: body}); err != nil {
		return nil, err
	}
	out, found, err := t.read(ctx, c, owner, id, planned)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("team repository %s not found after update (404)", id)
	}
	return out, nil
}

func (t teamRepository) Delete(ctx context.Context, id string, _ resource.PropertyMap) error {
	c, err := t.p.get()
	if err != nil {
		return err
	}
	owner, err := c.Owner(ctx)
	if err != nil {
		return err
	}
	orgID, err := c.checkOrganization(ctx)
	if err != nil {
		return err
	}
	teamPart, repo, err := parseID2(id)
	if err != nil {
		return err
	}
	teamID, err := parseNumericID(teamPart)
	if err != nil {
		return err
	}
	_, err = c.Do(ctx, Request{Method: http.MethodDelete, Path: teamRepoPath(orgID, teamID, owner, repo)})
	if err == nil || IsNotFound(err) || isArchivedError(err) {
		return nil
	}
	return err
}
