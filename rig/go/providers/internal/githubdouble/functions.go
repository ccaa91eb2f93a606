package githubdouble

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"fleet-rig/providers/internal/double"
)

// repositoryResultKeys are GetRepositoryResult's properties (node_modules/@pulumi/github/getRepository.d.ts).
var repositoryResultKeys = map[string]resource.PropertyValue{
	"allowAutoMerge": double.B(false), "allowForking": double.B(false), "allowMergeCommit": double.B(false),
	"allowRebaseMerge": double.B(false), "allowSquashMerge": double.B(false), "allowUpdateBranch": double.B(false),
	"archived": double.B(false), "defaultBranch": double.S(""), "deleteBranchOnMerge": double.B(false),
	"description": double.S(""), "fork": double.B(false), "fullName": double.S(""), "gitCloneUrl": double.S(""),
	"hasDiscussions": double.B(false), "hasDownloads": double.B(false), "hasIssues": double.B(false),
	"hasProjects": double.B(false), "hasWiki": double.B(false), "homepageUrl": double.S(""), "htmlUrl": double.S(""),
	"httpCloneUrl": double.S(""), "id": double.S(""), "isTemplate": double.B(false), "mergeCommitMessage": double.S(""),
	"mergeCommitTitle": double.S(""), "name": double.S(""), "nodeId": double.S(""), "pages": double.L(nil),
	"primaryLanguage": double.S(""), "private": double.B(false), "repoId": double.N(0),
	"repositoryLicenses": double.L(nil), "squashMergeCommitMessage": double.S(""), "squashMergeCommitTitle": double.S(""),
	"sshCloneUrl": double.S(""), "svnUrl": double.S(""), "templates": double.L(nil), "topics": double.L(nil),
	"visibility": double.S(""),
}

func zeroRepositoryResult() resource.PropertyMap {
	out := resource.PropertyMap{}
	for k, v := range repositoryResultKeys {
		out[resource.PropertyKey(k)] = v
	}
	return out
}

// getRepository is github:index/getRepository:getRepository (TF data source github_repository,
// v6.13.0): GET repos/{owner}/{name}, with fullName ("owner/name") or name (under the provider's
// owner; name wins when both are given, which the schema forbids anyway). A 404 is not an error:
// TF's data source clears its id and sets nothing (d.SetId(""); return nil), so the invoke answers
// every property empty or zero, and the program has to check. When GitHub reports Pages or a
// license, GET …/pages and GET …/license follow, as in TF.
func (p *provider) getRepository(ctx context.Context, args resource.PropertyMap, _ bool) (resource.PropertyMap, error) {
	c, err := p.get()
	if err != nil {
		return nil, err
	}
	fullName, name := double.Str(args, "fullName"), double.Str(args, "name")
	if fullName != "" && name != "" {
		return nil, errors.New(`"full_name": conflicts with name`)
	}
	var owner, repo string
	if fullName != "" {
		parts := strings.Split(fullName, "/")
		if len(parts) != 2 {
			return nil, fmt.Errorf("unexpected full name format (%q), expected owner/repo_name", fullName)
		}
		owner, repo = parts[0], parts[1]
	}
	if name != "" {
		repo = name
	}
	if repo == "" {
		return nil, fmt.Errorf("one of %q or %q has to be provided", "full_name", "name")
	}
	if owner == "" {
		if owner, err = c.Owner(ctx); err != nil {
			return nil, err
		}
	}
	var g ghRepo
	if _, err := c.Do(ctx, Request{Method: http.MethodGet, Path: P("repos", owner, repo), Out: &g}); err != nil {
		if IsNotFound(err) {
			return zeroRepositoryResult(), nil
		}
		return nil, err
	}
	out := zeroRepositoryResult()
	set := func(k string, v resource.PropertyValue) { out[resource.PropertyKey(k)] = v }
	set("id", double.S(repo)) // TF: d.SetId(repoName)
	set("name", double.S(g.Name))
	setRepoFields(set, &g)
	setRepoSettings(set, &g)
	set("fork", double.B(g.Fork))
	if g.HasPages {
		var pages ghPages
		if _, err := c.Do(ctx, Request{Method: http.MethodGet, Path: P("repos", owner, repo, "pages"), Out: &pages}); err != nil {
			return nil, err
		}
		set("pages", resource.NewArrayProperty([]resource.PropertyValue{pages.flatten()}))
	}
	if g.License != nil {
		var lic ghLicense
		if _, err := c.Do(ctx, Request{Method: http.MethodGet, Path: P("repos", owner, repo, "license"), Out: &lic}); err != nil {
			return nil, err
		}
		set("repositoryLicenses", resource.NewArrayProperty([]resource.PropertyValue{lic.flatten()}))
	}
	if tr := g.TemplateRepository; tr != nil {
		set("templates", resource.NewArrayProperty([]resource.PropertyValue{resource.NewObjectProperty(resource.PropertyMap{
			"owner": double.S(tr.Owner.Login), "repository": double.S(tr.Name),
		})}))
	}
	set("topics", double.L(g.Topics))
	return out, nil
}

// ghPages and ghLicense: what TF's flattenPages and flattenRepositoryLicense read.
type ghPages struct {
	URL       string `json:"url"`
	HTMLURL   string `json:"html_url"`
	Status    string `json:"status"`
	CNAME     string `json:"cname"`
	Custom404 bool   `json:"custom_404"`
	BuildType string `json:"build_type"`
	Source    struct {
		Branch string `json:"branch"`
		Path   string `json:"path"`
	} `json:"source"`
}

func (g ghPages) flatten() resource.PropertyValue {
	sources := []resource.PropertyValue{}
	if g.BuildType == "legacy" {
		sources = append(sources, resource.NewObjectProperty(resource.PropertyMap{
			"branch": double.S(g.Source.Branch), "path": double.S(g.Source.Path)}))
	}
	return resource.NewObjectProperty(resource.PropertyMap{
		"buildType": double.S(g.BuildType), "cname": double.S(g.CNAME), "custom404": double.B(g.Custom404),
		"htmlUrl": double.S(g.HTMLURL), "sources": resource.NewArrayProperty(sources), "status": double.S(g.Status),
		"url": double.S(g.URL),
	})
}

type ghLicense struct {
	Name        string `json:"name"`
	Path        string `json:"path"`
	SHA         string `json:"sha"`
	Size        int64  `json:"size"`
	URL         string `json:"url"`
	HTMLURL     string `json:"html_url"`
	GitURL      string `json:"git_url"`
	DownloadURL string `json:"download_url"`
	Type        string `json:"type"`
	Content     string `json:"content"`
	Encoding    string `json:"encoding"`
	License     struct {
		Key            string   `json:"key"`
		Name           string   `json:"name"`
		URL            string   `json:"url"`
		SPDXID         string   `json:"spdx_id"`
		HTMLURL        string   `json:"html_url"`
		Featured       bool     `json:"featured"`
		Description    string   `json:"description"`
		Implementation string   `json:"implementation"`
		Permissions    []string `json:"permissions"`
		Conditions     []string `json:"conditions"`
		Limitations    []string `json:"limitations"`
		Body           string   `json:"body"`
	} `json:"license"`
}

func (g ghLicense) flatten() resource.PropertyValue {
	l := g.License
	return resource.NewObjectProperty(resource.PropertyMap{
		"licenses": resource.NewArrayProperty([]resource.PropertyValue{resource.NewObjectProperty(resource.PropertyMap{
			"key": double.S(l.Key), "name": double.S(l.Name), "url": double.S(l.URL), "spdxId": double.S(l.SPDXID),
			"htmlUrl": double.S(l.HTMLURL), "featured": double.B(l.Featured), "description": double.S(l.Description),
			"implementation": double.S(l.Implementation), "permissions": double.L(l.Permissions),
			"conditions": double.L(l.Conditions), "limitations": double.L(l.Limitations), "body": double.S(l.Body),
		})}),
		"name": double.S(g.Name), "path": double.S(g.Path), "sha": double.S(g.SHA), "size": double.N(float64(g.Size)),
		"url": double.S(g.URL), "htmlUrl": double.S(g.HTMLURL), "gitUrl": double.S(g.GitURL),
		"downloadUrl": double.S(g.DownloadURL), "type": double.S(g.Type), "content": double.S(g.Content),
		"encoding": double.S(g.Encoding),
	})
}

// getTeam is github:index/getTeam:getTeam (TF data source github_team, v6.13.0): GET
// orgs/{owner}/teams/{slug}; any error, 404 included, fails the invoke (TF returns it). id is the
// team's numeric id as a string. Unless summaryOnly, members (GET orgs/{owner}/teams/{slug}/members)
// and repositories (…/repos) are listed, resultsPerPage a page. membershipType "immediate" makes TF
// ask GraphQL, which the double does not speak: that is an error naming the double.
func (p *provider) getTeam(ctx context.Context, args resource.PropertyMap, _ bool) (resource.PropertyMap, error) {
	c, err := p.get()
	if err != nil {
		return nil, err
	}
	membershipType := firstNonEmpty(double.Str(args, "membershipType"), "all")
	if membershipType != "all" && membershipType != "immediate" {
		return nil, fmt.Errorf(`expected membership_type to be one of ["all" "immediate"], got %s`, membershipType)
	}
	perPage := 100
	if double.Known(args, "resultsPerPage") {
		perPage = int(double.Num(args, "resultsPerPage"))
		if perPage < 0 || perPage > 100 {
			return nil, fmt.Errorf("expected results_per_page to be in the range (0 - 100), got %d", perPage)
		}
	}
	owner, err := c.Owner(ctx)
	if err != nil {
		return nil, err
	}
	slug := double.Str(args, "slug")
	if slug == "" {
		return nil, errors.New(`The argument "slug" is required, but no definition was found.`)
	}
	var t ghTeam
	if _, err := c.Do(ctx, Request{Method: http.MethodGet, Path: P("orgs", owner, "teams", slug), Out: &t}); err != nil {
		return nil, err
	}
	members, repos, detailed := []string{}, []string{}, []resource.PropertyValue{}
	summaryOnly := double.Bool(args, "summaryOnly")
	if !summaryOnly {
		if membershipType == "immediate" {
			return nil, fmt.Errorf("getTeam with membershipType immediate (a GraphQL query) is not implemented by %s", Label)
		}
		err := c.List(ctx, P("orgs", owner, "teams", firstNonEmpty(t.Slug, slug), "members"), perPage, func(raw json.RawMessage) error {
			var u struct {
				Login string `json:"login"`
			}
			if err := json.Unmarshal(raw, &u); err != nil {
				return err
			}
			members = append(members, u.Login)
			return nil
		})
		if err != nil {
			return nil, err
		}
		err = c.List(ctx, P("orgs", owner, "teams", firstNonEmpty(t.Slug, slug), "repos"), perPage, func(raw json.RawMessage) error {
			var r struct {
				ID       int64  `json:"id"`
				Name     string `json:"name"`
				RoleName string `json:"role_name"`
			}
			if err := json.Unmarshal(raw, &r); err != nil {
				return err
			}
			repos = append(repos, r.Name)
			detailed = append(detailed, resource.NewObjectProperty(resource.PropertyMap{
				"repoId":   double.N(float64(r.ID)),
				"repoName": double.S(r.Name),
				"roleName": double.S(r.RoleName),
			}))
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return resource.PropertyMap{
		"id":                    double.S(strconv.FormatInt(t.ID, 10)),
		"nodeId":                double.S(t.NodeID),
		"name":                  double.S(t.Name),
		"slug":                  double.S(slug),
		"description":           double.S(deref(t.Description)),
		"privacy":               double.S(t.Privacy),
		"permission":            double.S(t.Permission),
		"notificationSetting":   double.S(t.NotificationSetting),
		"members":               double.L(members),
		"repositories":          double.L(repos),
		"repositoriesDetaileds": resource.NewArrayProperty(detailed),
		"membershipType":        double.S(membershipType),
		"resultsPerPage":        double.N(float64(perPage)),
		"summaryOnly":           double.B(summaryOnly),
	}, nil
}
