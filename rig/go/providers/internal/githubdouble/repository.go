package githubdouble

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"fleet-rig/providers/internal/double"
)

// repository is github:index/repository:Repository (TF github_repository, v6.13.0). ID: the name.
//
// Create (resourceGithubRepositoryCreate): POST orgs/{owner}/repos (user/repos when the owner is a
// user account), or POST repos/{template owner}/{template}/generate; PUT …/topics when topics are
// set; then Update as TF's Create does: PATCH repos/{owner}/{name} with the settings, PUT …/topics
// again when set, PUT/DELETE …/vulnerability-alerts when vulnerabilityAlerts is set, and, when
// visibility (or private) is set, a second PATCH with the visibility (a 422 "Visibility is already
// …" is not an error); then Read. A repository the program creates with a visibility therefore
// costs one POST and two PATCHes.
//
// Read: GET repos/{owner}/{name}, 404 removing it from state; template from template_repository
// (without include_all_branches, so false), fork "true"/"false"; GET …/vulnerability-alerts only
// when the answer has security_and_analysis. Delete: DELETE repos/{owner}/{name}, or with
// archiveOnDestroy a PATCH of the settings with archived true (nothing when already archived).
// Diff: no input forces a replacement but fork, sourceOwner and sourceRepo changing from a
// non-empty value (template is not ForceNew in v6.13.0: a template change is an update that
// changes nothing on GitHub).
//
// Not reproduced: forks (an error), pages (accepted, ignored), the ETag/If-None-Match handling
// (etag is never output). A rename changes TF's id, which Pulumi cannot record from Update: the
// double reads the repository by the name in state (by the id only on import).
type repository struct{ p *provider }

var repositoryInputs = []string{
	"allowAutoMerge", "allowForking", "allowMergeCommit", "allowRebaseMerge", "allowSquashMerge",
	"allowUpdateBranch", "archiveOnDestroy", "archived", "autoInit", "defaultBranch",
	"deleteBranchOnMerge", "description", "etag", "fork", "gitignoreTemplate", "hasDiscussions",
	"hasDownloads", "hasIssues", "hasProjects", "hasWiki", "homepageUrl",
	"ignoreVulnerabilityAlertsDuringRead", "isTemplate", "licenseTemplate", "mergeCommitMessage",
	"mergeCommitTitle", "name", "pages", "private", "securityAndAnalysis", "sourceOwner", "sourceRepo",
	"squashMergeCommitMessage", "squashMergeCommitTitle", "template", "topics", "visibility",
	"vulnerabilityAlerts", "webCommitSignoffRequired",
}

// Outputs that are not inputs, or Computed inputs: unknown in a preview when not set.
var repositoryComputed = []string{
	"fullName", "htmlUrl", "sshCloneUrl", "svnUrl", "gitCloneUrl", "httpCloneUrl", "nodeId", "repoId",
	"primaryLanguage", "defaultBranch", "private", "visibility", "topics", "allowForking", "fork",
	"sourceOwner", "sourceRepo", "securityAndAnalysis", "vulnerabilityAlerts", "webCommitSignoffRequired",
}

var repoNameRe = regexp.MustCompile(`^[-a-zA-Z0-9_.]{1,100}$`)

var repositorySpec = &double.Spec{
	Inputs: repositoryInputs,
	// Optional+Computed in TF: unset keeps what GitHub has.
	Computed: []string{"allowForking", "defaultBranch", "etag", "fork", "name", "private",
		"securityAndAnalysis", "sourceOwner", "sourceRepo", "topics", "visibility",
		"vulnerabilityAlerts", "webCommitSignoffRequired"},
	Ignored:  []string{"etag"},
	AutoName: "name", // pulumi-github: SetAutonaming(255, "-")
	// TF schema defaults (v6.13.0).
	Defaults: resource.PropertyMap{
		"allowAutoMerge":                      double.B(false),
		"allowMergeCommit":                    double.B(true),
		"allowRebaseMerge":                    double.B(true),
		"allowSquashMerge":                    double.B(true),
		"archived":                            double.B(false),
		"deleteBranchOnMerge":                 double.B(false),
		"ignoreVulnerabilityAlertsDuringRead": double.B(false),
		"mergeCommitMessage":                  double.S("PR_TITLE"),
		"mergeCommitTitle":                    double.S("MERGE_MESSAGE"),
		"squashMergeCommitMessage":            double.S("COMMIT_MESSAGES"),
		"squashMergeCommitTitle":              double.S("COMMIT_OR_PR_TITLE"),
	},
	Validate: func(in resource.PropertyMap) []*pulumirpc.CheckFailure {
		var fs []*pulumirpc.CheckFailure
		if double.Known(in, "name") && !repoNameRe.MatchString(double.Str(in, "name")) {
			fs = append(fs, &pulumirpc.CheckFailure{Property: "name",
				Reason: "must include only alphanumeric characters, underscores or hyphens and consist of 100 characters or less"})
		}
		if double.Known(in, "visibility") {
			switch v := double.Str(in, "visibility"); v {
			case "public", "private", "internal":
			default:
				fs = append(fs, &pulumirpc.CheckFailure{Property: "visibility",
					Reason: fmt.Sprintf("expected visibility to be one of [\"public\" \"private\" \"internal\"], got %s", v)})
			}
		}
		if double.Known(in, "visibility") && double.Known(in, "private") {
			fs = append(fs, &pulumirpc.CheckFailure{Property: "private", Reason: `"private": conflicts with visibility`})
		}
		if t := double.Obj(in, "template"); t != nil {
			for _, k := range []string{"owner", "repository"} {
				if !double.Has(t, k) {
					fs = append(fs, &pulumirpc.CheckFailure{Property: "template." + k,
						Reason: fmt.Sprintf("Missing required property 'template.%s'", k)})
				}
			}
		}
		return fs
	},
	// customdiff.ForceNewIfChange(fork|source_repo|source_owner, valueChangedButNotEmpty).
	CustomizeDiff: func(_ context.Context, _ string, olds, news resource.PropertyMap) ([]string, error) {
		var replace []string
		for _, k := range []string{"fork", "sourceRepo", "sourceOwner"} {
			if !double.Has(news, k) {
				continue
			}
			if old := double.Str(olds, k); old != "" && (double.Unknown(news, k) || double.Str(news, k) != old) {
				replace = append(replace, k)
			}
		}
		return replace, nil
	},
}

func (repository) Spec() *double.Spec { return repositorySpec }

// ghRepo is the part of GitHub's repository object the double reads.
type ghRepo struct {
	ID                       int64          `json:"id"`
	NodeID                   string         `json:"node_id"`
	Name                     string         `json:"name"`
	FullName                 string         `json:"full_name"`
	Description              *string        `json:"description"`
	Homepage                 *string        `json:"homepage"`
	Language                 *string        `json:"language"`
	Private                  bool           `json:"private"`
	Visibility               string         `json:"visibility"`
	Fork                     bool           `json:"fork"`
	HTMLURL                  string         `json:"html_url"`
	SSHURL                   string         `json:"ssh_url"`
	SVNURL                   string         `json:"svn_url"`
	GitURL                   string         `json:"git_url"`
	CloneURL                 string         `json:"clone_url"`
	DefaultBranch            *string        `json:"default_branch"`
	HasIssues                bool           `json:"has_issues"`
	HasDiscussions           bool           `json:"has_discussions"`
	HasProjects              bool           `json:"has_projects"`
	HasWiki                  bool           `json:"has_wiki"`
	HasDownloads             bool           `json:"has_downloads"`
	HasPages                 bool           `json:"has_pages"`
	IsTemplate               bool           `json:"is_template"`
	Archived                 bool           `json:"archived"`
	Topics                   []string       `json:"topics"`
	AllowAutoMerge           bool           `json:"allow_auto_merge"`
	AllowMergeCommit         bool           `json:"allow_merge_commit"`
	AllowRebaseMerge         bool           `json:"allow_rebase_merge"`
	AllowSquashMerge         bool           `json:"allow_squash_merge"`
	AllowUpdateBranch        bool           `json:"allow_update_branch"`
	AllowForking             bool           `json:"allow_forking"`
	DeleteBranchOnMerge      bool           `json:"delete_branch_on_merge"`
	WebCommitSignoffRequired bool           `json:"web_commit_signoff_required"`
	MergeCommitMessage       string         `json:"merge_commit_message"`
	MergeCommitTitle         string         `json:"merge_commit_title"`
	SquashMergeCommitMessage string         `json:"squash_merge_commit_message"`
	SquashMergeCommitTitle   string         `json:"squash_merge_commit_title"`
	License                  map[string]any `json:"license"`
	SecurityAndAnalysis      *struct {
		AdvancedSecurity             *ghStatus `json:"advanced_security"`
		SecretScanning               *ghStatus `json:"secret_scanning"`
		SecretScanningPushProtection *ghStatus `json:"secret_scanning_push_protection"`
	} `json:"security_and_analysis"`
	TemplateRepository *ghRepoRef `json:"template_repository"`
	Parent             *ghRepoRef `json:"parent"`
}

type ghStatus struct {
	Status string `json:"status"`
}

type ghRepoRef struct {
	Name  string `json:"name"`
	Owner struct {
		Login string `json:"login"`
	} `json:"owner"`
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// visibilityOf is TF's calculateVisibility: visibility, else private, else public.
func visibilityOf(in resource.PropertyMap) string {
	if v := double.Str(in, "visibility"); v != "" {
		return v
	}
	if b, ok := double.BoolOK(in, "private"); ok {
		if b {
			return "private"
		}
		return "public"
	}
	return "public"
}

// changed is TF's d.IsNewResource() || d.HasChange(k).
func changed(isNew bool, olds, planned resource.PropertyMap, k string) bool {
	if isNew {
		return !double.IsZero(planned[resource.PropertyKey(k)])
	}
	return !double.Equal(olds[resource.PropertyKey(k)], planned[resource.PropertyKey(k)])
}

// securityAndAnalysis is TF's calculateSecurityAndAnalysis (nil when unset).
func securityAndAnalysis(in resource.PropertyMap) map[string]any {
	sa := double.Obj(in, "securityAndAnalysis")
	if sa == nil {
		return nil
	}
	out := map[string]any{}
	for k, api := range map[string]string{"advancedSecurity": "advanced_security", "secretScanning": "secret_scanning",
		"secretScanningPushProtection": "secret_scanning_push_protection"} {
		if s := double.Obj(sa, k); s != nil {
			out[api] = map[string]any{"status": double.Str(s, "status")}
		}
	}
	return out
}

// object is TF's resourceGithubRepositoryObject as go-github marshals it (a field is sent when
// TF sets its pointer, false and "" included).
func object(planned, olds resource.PropertyMap, isNew bool) map[string]any {
	visibility := visibilityOf(planned)
	b := map[string]any{
		"name":                   double.Str(planned, "name"),
		"description":            double.Str(planned, "description"),
		"homepage":               double.Str(planned, "homepageUrl"),
		"visibility":             visibility,
		"has_downloads":          double.Bool(planned, "hasDownloads"),
		"has_issues":             double.Bool(planned, "hasIssues"),
		"has_discussions":        double.Bool(planned, "hasDiscussions"),
		"has_projects":           double.Bool(planned, "hasProjects"),
		"has_wiki":               double.Bool(planned, "hasWiki"),
		"is_template":            double.Bool(planned, "isTemplate"),
		"allow_merge_commit":     double.Bool(planned, "allowMergeCommit"),
		"allow_squash_merge":     double.Bool(planned, "allowSquashMerge"),
		"allow_rebase_merge":     double.Bool(planned, "allowRebaseMerge"),
		"allow_auto_merge":       double.Bool(planned, "allowAutoMerge"),
		"delete_branch_on_merge": double.Bool(planned, "deleteBranchOnMerge"),
		"auto_init":              double.Bool(planned, "autoInit"),
		"license_template":       double.Str(planned, "licenseTemplate"),
		"gitignore_template":     double.Str(planned, "gitignoreTemplate"),
		"archived":               double.Bool(planned, "archived"),
		"allow_update_branch":    double.Bool(planned, "allowUpdateBranch"),
	}
	if t := double.Strs(planned, "topics"); len(t) > 0 {
		b["topics"] = t
	}
	if sa := securityAndAnalysis(planned); sa != nil {
		b["security_and_analysis"] = sa
	}
	if double.Bool(planned, "allowMergeCommit") {
		b["merge_commit_title"] = double.Str(planned, "mergeCommitTitle")
		b["merge_commit_message"] = double.Str(planned, "mergeCommitMessage")
	}
	if double.Bool(planned, "allowSquashMerge") {
		b["squash_merge_commit_title"] = double.Str(planned, "squashMergeCommitTitle")
		b["squash_merge_commit_message"] = double.Str(planned, "squashMergeCommitMessage")
	}
	if visibility != "public" && changed(isNew, olds, planned, "allowForking") {
		if v, ok := double.BoolOK(planned, "allowForking"); ok {
			b["allow_forking"] = v
		}
	}
	if changed(isNew, olds, planned, "webCommitSignoffRequired") {
		if v, ok := double.BoolOK(planned, "webCommitSignoffRequired"); ok {
			b["web_commit_signoff_required"] = v
		}
	}
	return b
}

// createBody is what go-github's Repositories.Create sends of the object (createRepoRequest).
func createBody(obj map[string]any) map[string]any {
	b := map[string]any{}
	for _, k := range []string{"name", "description", "homepage", "visibility", "has_issues", "has_projects",
		"has_wiki", "has_discussions", "is_template", "auto_init", "gitignore_template", "license_template",
		"allow_squash_merge", "allow_merge_commit", "allow_rebase_merge", "allow_update_branch", "allow_auto_merge",
		"allow_forking", "delete_branch_on_merge", "squash_merge_commit_title", "squash_merge_commit_message",
		"merge_commit_title", "merge_commit_message"} {
		if v, ok := obj[k]; ok {
			b[k] = v
		}
	}
	return b
}

func (r repository) Create(ctx context.Context, in resource.PropertyMap, preview bool) (string, resource.PropertyMap, error) {
	if preview {
		return "", double.Unknowns(in, repositoryComputed...), nil
	}
	c, err := r.p.get()
	if err != nil {
		return "", nil, err
	}
	owner, err := c.Owner(ctx)
	if err != nil {
		return "", nil, err
	}
	if b := double.Str(in, "defaultBranch"); b != "" && b != "main" {
		return "", nil, fmt.Errorf("cannot set the default branch on a new repository to something other than 'main'")
	}
	obj := object(in, nil, true)
	name := double.Str(in, "name")
	var created ghRepo
	switch t := double.Obj(in, "template"); {
	case t != nil:
		body := map[string]any{
			"name":                 name,
			"owner":                owner,
			"description":          double.Str(in, "description"),
			"private":              obj["visibility"] != "public", // internal too, then set by PATCH
			"include_all_branches": double.Bool(t, "includeAllBranches"),
		}
		path := P("repos", double.Str(t, "owner"), double.Str(t, "repository"), "generate")
		if _, err := c.Do(ctx, Request{Method: http.MethodPost, Path: path, Body: body, Out: &created}); err != nil {
			return "", nil, err
		}
	case double.Str(in, "fork") == "true":
		return "", nil, fmt.Errorf("%s: fork is not implemented by %s", RepositoryType, Label)
	default:
		isOrg, _, err := c.Org(ctx)
		if err != nil {
			return "", nil, err
		}
		path := "user/repos"
		if isOrg {
			path = P("orgs", owner, "repos")
		}
		if _, err := c.Do(ctx, Request{Method: http.MethodPost, Path: path, Body: createBody(obj), Out: &created}); err != nil {
			return "", nil, err
		}
	}
	id := firstNonEmpty(created.Name, name)
	partial := func(err error) error {
		return &double.PartialError{ID: id, State: double.Copy(in), Err: err}
	}
	if t := double.Strs(in, "topics"); len(t) > 0 {
		if _, err := c.Do(ctx, Request{Method: http.MethodPut, Path: P("repos", owner, name, "topics"),
			Body: map[string]any{"names": t}}); err != nil {
			return "", nil, partial(err)
		}
	}
	out, err := r.update(ctx, c, owner, id, nil, in, true)
	if err != nil {
		return "", nil, partial(err)
	}
	return id, out, nil
}

// update is TF's resourceGithubRepositoryUpdate (isNew: called from Create), ending in read.
func (r repository) update(ctx context.Context, c *Client, owner, name string, olds, planned resource.PropertyMap, isNew bool) (resource.PropertyMap, error) {
	// An archived repository is only updated to archive it (GitHub cannot unarchive).
	if double.Bool(planned, "archived") && !changed(isNew, olds, planned, "archived") {
		return planned, nil
	}
	obj := object(planned, olds, isNew)
	visibility := obj["visibility"]
	delete(obj, "visibility")
	visibilityChanged := changed(isNew, olds, planned, "visibility") || changed(isNew, olds, planned, "private")
	allowForking, hasAllowForking := obj["allow_forking"]
	if visibilityChanged {
		delete(obj, "allow_forking")
	}
	if !changed(isNew, olds, planned, "securityAndAnalysis") {
		delete(obj, "security_and_analysis")
	}
	if !isNew && changed(isNew, olds, planned, "defaultBranch") {
		obj["default_branch"] = double.Str(planned, "defaultBranch")
	}
	var edited ghRepo
	if _, err := c.Do(ctx, Request{Method: http.MethodPatch, Path: P("repos", owner, name), Body: obj, Out: &edited}); err != nil {
		return nil, err
	}
	oldName := name
	name = firstNonEmpty(edited.Name, name)
	if changed(isNew, olds, planned, "topics") {
		topics := append([]string{}, double.Strs(planned, "topics")...)
		if _, err := c.Do(ctx, Request{Method: http.MethodPut, Path: P("repos", owner, name, "topics"),
			Body: map[string]any{"names": topics}}); err != nil {
			return nil, err
		}
	}
	if isNew || changed(isNew, olds, planned, "vulnerabilityAlerts") {
		if v, ok := double.BoolOK(planned, "vulnerabilityAlerts"); ok {
			method := http.MethodDelete
			if v {
				method = http.MethodPut
			}
			if _, err := c.Do(ctx, Request{Method: method, Path: P("repos", owner, oldName, "vulnerability-alerts")}); err != nil {
				return nil, err
			}
		}
	}
	if visibilityChanged {
		obj["visibility"] = visibility
		if hasAllowForking {
			obj["allow_forking"] = allowForking
		}
		if _, err := c.Do(ctx, Request{Method: http.MethodPatch, Path: P("repos", owner, oldName), Body: obj}); err != nil {
			if !IsStatus(err, http.StatusUnprocessableEntity) || !strings.Contains(err.Error(), fmt.Sprintf("Visibility is already %s", visibility)) {
				return nil, err
			}
		}
	}
	out, found, err := r.read(ctx, c, owner, name, planned)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("repository %s/%s not found (GET answered 404) right after writing it", owner, name)
	}
	return out, nil
}

// read is TF's resourceGithubRepositoryRead: GET repos/{owner}/{name} (404: gone), over prior
// (the state), which keeps whatever Read does not set.
func (repository) read(ctx context.Context, c *Client, owner, name string, prior resource.PropertyMap) (resource.PropertyMap, bool, error) {
	var g ghRepo
	if _, err := c.Do(ctx, Request{Method: http.MethodGet, Path: P("repos", owner, name), Out: &g}); err != nil {
		if IsNotFound(err) {
			return nil, false, nil
		}
		return nil, false, err
	}
	out := double.Copy(prior)
	delete(out, "etag")
	set := func(k string, v resource.PropertyValue) { out[resource.PropertyKey(k)] = v }
	set("name", double.S(name))
	setRepoFields(set, &g)
	set("topics", double.L(g.Topics))
	// TF sets these only when the state says the repository is not archived.
	if !g.Archived {
		setRepoSettings(set, &g)
		set("webCommitSignoffRequired", double.B(g.WebCommitSignoffRequired))
	}
	if g.Fork {
		set("fork", double.S("true"))
		if g.Parent != nil {
			set("sourceOwner", double.S(g.Parent.Owner.Login))
			set("sourceRepo", double.S(g.Parent.Name))
		}
	} else {
		set("fork", double.S("false"))
		set("sourceOwner", double.S(""))
		set("sourceRepo", double.S(""))
	}
	if tr := g.TemplateRepository; tr != nil {
		set("template", resource.NewObjectProperty(resource.PropertyMap{
			"owner":              double.S(tr.Owner.Login),
			"repository":         double.S(tr.Name),
			"includeAllBranches": double.B(false), // not in GitHub's answer: its zero value
		}))
	} else {
		delete(out, "template")
	}
	if sa := g.SecurityAndAnalysis; sa != nil {
		status, err := c.Do(ctx, Request{Method: http.MethodGet, Path: P("repos", owner, name, "vulnerability-alerts")})
		switch {
		case err == nil:
			set("vulnerabilityAlerts", double.B(status == http.StatusNoContent || status == http.StatusOK))
		case IsNotFound(err): // go-github's parseBoolResponse
			set("vulnerabilityAlerts", double.B(false))
		default:
			return nil, false, fmt.Errorf("error reading repository vulnerability alerts: %w", err)
		}
		flat := resource.PropertyMap{}
		st := func(s *ghStatus) resource.PropertyValue {
			status := ""
			if s != nil {
				status = s.Status
			}
			return resource.NewObjectProperty(resource.PropertyMap{"status": double.S(status)})
		}
		if sa.AdvancedSecurity != nil {
			flat["advancedSecurity"] = st(sa.AdvancedSecurity)
		}
		flat["secretScanning"] = st(sa.SecretScanning)
		flat["secretScanningPushProtection"] = st(sa.SecretScanningPushProtection)
		set("securityAndAnalysis", resource.NewObjectProperty(flat))
	}
	return out, true, nil
}

// nameOf is the repository's current name: the state's name (it follows renames), else the id.
func nameOf(id string, state resource.PropertyMap) string {
	return firstNonEmpty(double.Str(state, "name"), id)
}

func (r repository) Read(ctx context.Context, id string, state, _ resource.PropertyMap) (string, resource.PropertyMap, error) {
	c, err := r.p.get()
	if err != nil {
		return "", nil, err
	}
	owner, err := c.Owner(ctx)
	if err != nil {
		return "", nil, err
	}
	prior := double.Copy(state)
	if len(state) == 0 {
		prior["autoInit"] = double.B(false) // TF's importer
	}
	out, found, err := r.read(ctx, c, owner, nameOf(id, state), prior)
	if err != nil || !found {
		return "", nil, err // not found: removed from state, as TF's Read does (d.SetId(""))
	}
	return id, out, nil
}

func (r repository) Update(ctx context.Context, id string, olds, news resource.PropertyMap, preview bool) (resource.PropertyMap, error) {
	planned := double.Planned(repositorySpec, olds, news)
	if preview {
		if !double.Equal(olds["name"], news["name"]) {
			for _, k := range []string{"fullName", "htmlUrl", "sshCloneUrl", "svnUrl", "gitCloneUrl", "httpCloneUrl"} {
				planned[resource.PropertyKey(k)] = resource.MakeComputed(double.S(""))
			}
		}
		return planned, nil
	}
	c, err := r.p.get()
	if err != nil {
		return nil, err
	}
	owner, err := c.Owner(ctx)
	if err != nil {
		return nil, err
	}
	return r.update(ctx, c, owner, nameOf(id, olds), olds, planned, false)
}

func (r repository) Delete(ctx context.Context, id string, state resource.PropertyMap) error {
	c, err := r.p.get()
	if err != nil {
		return err
	}
	owner, err := c.Owner(ctx)
	if err != nil {
		return err
	}
	name := nameOf(id, state)
	if double.Bool(state, "archiveOnDestroy") {
		if double.Bool(state, "archived") {
			return nil
		}
		archived := double.Copy(state)
		archived["archived"] = double.B(true)
		_, err := c.Do(ctx, Request{Method: http.MethodPatch, Path: P("repos", owner, name), Body: object(archived, state, false)})
		return err
	}
	_, err = c.Do(ctx, Request{Method: http.MethodDelete, Path: P("repos", owner, name)})
	return err
}

// setRepoFields sets what both the repository resource and the getRepository function read from
// GET repos/{owner}/{name} the same way (TF resourceGithubRepositoryRead, dataSourceGithubRepositoryRead).
func setRepoFields(set func(string, resource.PropertyValue), g *ghRepo) {
	set("description", double.S(deref(g.Description)))
	set("primaryLanguage", double.S(deref(g.Language)))
	set("homepageUrl", double.S(deref(g.Homepage)))
	set("private", double.B(g.Private))
	set("visibility", double.S(g.Visibility))
	set("hasIssues", double.B(g.HasIssues))
	set("hasDiscussions", double.B(g.HasDiscussions))
	set("hasProjects", double.B(g.HasProjects))
	set("hasWiki", double.B(g.HasWiki))
	set("isTemplate", double.B(g.IsTemplate))
	set("fullName", double.S(g.FullName))
	set("defaultBranch", double.S(deref(g.DefaultBranch)))
	set("htmlUrl", double.S(g.HTMLURL))
	set("sshCloneUrl", double.S(g.SSHURL))
	set("svnUrl", double.S(g.SVNURL))
	set("gitCloneUrl", double.S(g.GitURL))
	set("httpCloneUrl", double.S(g.CloneURL))
	set("archived", double.B(g.Archived))
	set("nodeId", double.S(g.NodeID))
	set("repoId", double.N(float64(g.ID)))
}

// setRepoSettings sets the merge and branch settings both read the same way; the resource reads
// them only while the repository is not archived.
func setRepoSettings(set func(string, resource.PropertyValue), g *ghRepo) {
	set("allowAutoMerge", double.B(g.AllowAutoMerge))
	set("allowMergeCommit", double.B(g.AllowMergeCommit))
	set("allowRebaseMerge", double.B(g.AllowRebaseMerge))
	set("allowSquashMerge", double.B(g.AllowSquashMerge))
	set("allowUpdateBranch", double.B(g.AllowUpdateBranch))
	set("allowForking", double.B(g.AllowForking))
	set("deleteBranchOnMerge", double.B(g.DeleteBranchOnMerge))
	set("hasDownloads", double.B(g.HasDownloads))
	set("mergeCommitMessage", double.S(g.MergeCommitMessage))
	set("mergeCommitTitle", double.S(g.MergeCommitTitle))
	set("squashMergeCommitMessage", double.S(g.SquashMergeCommitMessage))
	set("squashMergeCommitTitle", double.S(g.SquashMergeCommitTitle))
}
