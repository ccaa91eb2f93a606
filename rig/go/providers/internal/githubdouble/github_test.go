package githubdouble

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil/rpcerror"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"fleet-rig/providers/internal/double"
)

var opts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true}

func urnOf(tok, name string) string {
	return "urn:pulumi:test::fleet::fleet:repository:Repository$" + tok + "::" + name
}

func marshalMap(t *testing.T, m resource.PropertyMap) *structpb.Struct {
	t.Helper()
	s, err := plugin.MarshalProperties(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func props(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	return marshalMap(t, resource.NewPropertyMapFromMap(m))
}

func unprops(t *testing.T, s *structpb.Struct) resource.PropertyMap {
	t.Helper()
	m, err := plugin.UnmarshalProperties(s, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type harness struct {
	t    *testing.T
	fake *fakeGitHub
	s    *double.Server
	ctx  context.Context
}

func setup(t *testing.T) *harness {
	t.Helper()
	f := newFake(t)
	h := &harness{t: t, fake: f, s: New(), ctx: context.Background()}
	// The engine passes a default provider's stack config as strings.
	_, err := h.s.Configure(h.ctx, &pulumirpc.ConfigureRequest{Args: props(t, map[string]any{
		"owner": "acme", "baseUrl": f.url(), "token": "test-token", "writeDelayMs": "0",
	})})
	if err != nil {
		t.Fatal(err)
	}
	f.reset() // Configure looked the owner up (GET orgs/acme)
	return h
}

// check runs Check and fails on failures.
func (h *harness) check(tok string, in map[string]any) *structpb.Struct {
	h.t.Helper()
	resp, err := h.s.Check(h.ctx, &pulumirpc.CheckRequest{Urn: urnOf(tok, "r"), News: props(h.t, in)})
	if err != nil {
		h.t.Fatal(err)
	}
	if len(resp.Failures) > 0 {
		h.t.Fatalf("check failures: %v", resp.Failures)
	}
	return resp.Inputs
}

// create runs Check and Create; it returns the id, the checked inputs and the outputs.
func (h *harness) create(tok string, in map[string]any) (string, *structpb.Struct, resource.PropertyMap) {
	h.t.Helper()
	inputs := h.check(tok, in)
	resp, err := h.s.Create(h.ctx, &pulumirpc.CreateRequest{Urn: urnOf(tok, "r"), Properties: inputs})
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.Id, inputs, unprops(h.t, resp.Properties)
}

// noDiff asserts that the checked inputs against the state show no change.
func (h *harness) noDiff(tok string, state resource.PropertyMap, inputs *structpb.Struct) {
	h.t.Helper()
	d, err := h.s.Diff(h.ctx, &pulumirpc.DiffRequest{Urn: urnOf(tok, "r"), Olds: marshalMap(h.t, state), News: inputs})
	if err != nil {
		h.t.Fatal(err)
	}
	if d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		h.t.Fatalf("unexpected diff %v (replaces %v)", d.Diffs, d.Replaces)
	}
}

func (h *harness) read(tok, id string, state resource.PropertyMap, inputs *structpb.Struct) (*pulumirpc.ReadResponse, resource.PropertyMap) {
	h.t.Helper()
	resp, err := h.s.Read(h.ctx, &pulumirpc.ReadRequest{Urn: urnOf(tok, "r"), Id: id, Properties: marshalMap(h.t, state), Inputs: inputs})
	if err != nil {
		h.t.Fatal(err)
	}
	return resp, unprops(h.t, resp.Properties)
}

func str(m resource.PropertyMap, k string) string { return double.Str(m, k) }

func TestConfigureLooksTheOwnerUp(t *testing.T) {
	f := newFake(t)
	s := New()
	if _, err := s.Configure(context.Background(), &pulumirpc.ConfigureRequest{Args: props(t, map[string]any{
		"owner": "acme", "baseUrl": f.url(), "token": "test-token"})}); err != nil {
		t.Fatal(err)
	}
	if r := f.all(); len(r) != 1 || r[0].Method != "GET" || r[0].Path != "/orgs/acme" {
		t.Fatalf("requests %+v", r)
	}
	// No owner: the token's user.
	f.reset()
	t.Setenv("GITHUB_OWNER", "")
	if _, err := s.Configure(context.Background(), &pulumirpc.ConfigureRequest{Args: props(t, map[string]any{
		"baseUrl": f.url(), "token": "test-token"})}); err != nil {
		t.Fatal(err)
	}
	if r := f.all(); len(r) != 2 || r[0].Path != "/user" || r[1].Path != "/orgs/fleet-bot" {
		t.Fatalf("requests %+v", r)
	}
	// A bad token fails the configuration, as the TF provider's lookup does.
	_, err := s.Configure(context.Background(), &pulumirpc.ConfigureRequest{Args: props(t, map[string]any{
		"baseUrl": f.url(), "token": "wrong"})})
	if err == nil || !strings.Contains(err.Error(), "owner cannot be found by token") || !strings.Contains(err.Error(), "401 Bad credentials") {
		t.Fatalf("error %v", err)
	}
}

func TestRepositoryCreatePlain(t *testing.T) {
	h := setup(t)
	in := map[string]any{"name": "flux-fleet", "description": "the fleet", "visibility": "private", "autoInit": true,
		"hasIssues": true, "deleteBranchOnMerge": true}
	id, inputs, out := h.create(RepositoryType, in)
	if id != "flux-fleet" {
		t.Fatalf("id %q", id)
	}
	// TF: POST, then Update: a PATCH of the settings and, visibility being set, a PATCH with it.
	w := h.fake.writes()
	if len(w) != 3 || w[0].Method != "POST" || w[0].Path != "/orgs/acme/repos" ||
		w[1].Method != "PATCH" || w[1].Path != "/repos/acme/flux-fleet" || w[2].Method != "PATCH" {
		t.Fatalf("writes: %+v", w)
	}
	post := w[0].Body
	if post["name"] != "flux-fleet" || post["auto_init"] != true || post["visibility"] != "private" ||
		post["has_issues"] != true || post["description"] != "the fleet" || post["delete_branch_on_merge"] != true {
		t.Fatalf("create body %v", post)
	}
	if _, ok := post["private"]; ok {
		t.Fatalf("TF sends visibility, not private: %v", post)
	}
	if patch := w[1].Body; patch["delete_branch_on_merge"] != true || patch["has_issues"] != true ||
		patch["allow_merge_commit"] != true || patch["merge_commit_title"] != "MERGE_MESSAGE" || patch["visibility"] != nil {
		t.Fatalf("settings body %v", patch)
	}
	if w[2].Body["visibility"] != "private" {
		t.Fatalf("visibility body %v", w[2].Body)
	}
	for _, r := range h.fake.all() {
		if r.Auth != "Bearer test-token" || r.Accept != "application/vnd.github+json" {
			t.Fatalf("headers %+v", r)
		}
	}
	for k, want := range map[string]string{"fullName": "acme/flux-fleet", "htmlUrl": "https://github.example/acme/flux-fleet",
		"sshCloneUrl": "git@github.example:acme/flux-fleet.git", "httpCloneUrl": "https://github.example/acme/flux-fleet.git",
		"gitCloneUrl": "git://github.example/acme/flux-fleet.git", "name": "flux-fleet", "visibility": "private",
		"defaultBranch": "master", "description": "the fleet", "fork": "false"} {
		if got := str(out, k); got != want {
			t.Fatalf("%s = %q, want %q", k, got, want)
		}
	}
	if double.Num(out, "repoId") == 0 || str(out, "nodeId") == "" || !double.Bool(out, "autoInit") || !double.Bool(out, "hasIssues") ||
		!double.Bool(out, "private") {
		t.Fatalf("outputs %v", out)
	}
	if _, ok := out["etag"]; ok {
		t.Fatal("etag must be omitted")
	}
	h.noDiff(RepositoryType, out, inputs)

	// A refresh reads the same state: still no diff.
	rd, state := h.read(RepositoryType, id, out, inputs)
	if rd.Id != id {
		t.Fatalf("read id %q", rd.Id)
	}
	h.noDiff(RepositoryType, state, inputs)

	// A rename is an update, not a replacement.
	renamed := h.check(RepositoryType, map[string]any{"name": "flux-fleet-2", "description": "the fleet", "visibility": "private",
		"autoInit": true, "hasIssues": true, "deleteBranchOnMerge": true})
	d, err := h.s.Diff(h.ctx, &pulumirpc.DiffRequest{Urn: urnOf(RepositoryType, "r"), Id: id, Olds: marshalMap(t, state), News: renamed})
	if err != nil || d.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(d.Replaces) != 0 || len(d.Diffs) != 1 || d.Diffs[0] != "name" {
		t.Fatalf("rename diff %v %v", d, err)
	}
	h.fake.reset()
	up, err := h.s.Update(h.ctx, &pulumirpc.UpdateRequest{Urn: urnOf(RepositoryType, "r"), Id: id, Olds: marshalMap(t, state), News: renamed})
	if err != nil {
		t.Fatal(err)
	}
	if got := str(unprops(t, up.Properties), "fullName"); got != "acme/flux-fleet-2" {
		t.Fatalf("renamed fullName %q", got)
	}
	if w := h.fake.writes(); len(w) != 1 || w[0].Path != "/repos/acme/flux-fleet" || w[0].Body["name"] != "flux-fleet-2" {
		t.Fatalf("rename writes %+v", w)
	}
	// Refresh after the rename: the id is still the old name, the state's name is followed.
	rd, _ = h.read(RepositoryType, id, unprops(t, up.Properties), renamed)
	if rd.Id != id {
		t.Fatalf("refresh after rename lost the repository: %q", rd.Id)
	}

	// Delete deletes; archiveOnDestroy archives instead.
	h.fake.reset()
	if _, err := h.s.Delete(h.ctx, &pulumirpc.DeleteRequest{Urn: urnOf(RepositoryType, "r"), Id: id, Properties: up.Properties}); err != nil {
		t.Fatal(err)
	}
	if w := h.fake.writes(); len(w) != 1 || w[0].Method != "DELETE" || w[0].Path != "/repos/acme/flux-fleet-2" {
		t.Fatalf("delete writes %+v", w)
	}
	h.fake.addRepo("kept", nil)
	h.fake.reset()
	_, err = h.s.Delete(h.ctx, &pulumirpc.DeleteRequest{Urn: urnOf(RepositoryType, "r"), Id: "kept",
		Properties: props(t, map[string]any{"name": "kept", "archiveOnDestroy": true})})
	if err != nil {
		t.Fatal(err)
	}
	if w := h.fake.writes(); len(w) != 1 || w[0].Method != "PATCH" || w[0].Body["archived"] != true {
		t.Fatalf("archive writes %+v", w)
	}
}

func TestRepositoryCreateFromTemplate(t *testing.T) {
	h := setup(t)
	h.fake.addRepo("flux-fleet-tenant-template", map[string]any{"is_template": true, "default_branch": "main"})
	h.fake.reset()
	in := map[string]any{"name": "shop-deploy", "description": "shop", "visibility": "private",
		"template": map[string]any{"owner": "acme", "repository": "flux-fleet-tenant-template"}, "hasIssues": true, "deleteBranchOnMerge": true}
	id, inputs, out := h.create(RepositoryType, in)
	if id != "shop-deploy" {
		t.Fatalf("id %q", id)
	}
	w := h.fake.writes()
	if len(w) != 3 || w[0].Method != "POST" || w[0].Path != "/repos/acme/flux-fleet-tenant-template/generate" || w[1].Method != "PATCH" || w[2].Method != "PATCH" {
		t.Fatalf("writes %+v", w)
	}
	if b := w[0].Body; b["name"] != "shop-deploy" || b["owner"] != "acme" || b["private"] != true || b["include_all_branches"] != false || b["description"] != "shop" {
		t.Fatalf("generate body %v", b)
	}
	tmpl := double.Obj(out, "template")
	if str(tmpl, "owner") != "acme" || str(tmpl, "repository") != "flux-fleet-tenant-template" {
		t.Fatalf("template output %v", out["template"])
	}
	if str(out, "defaultBranch") != "main" || str(out, "fullName") != "acme/shop-deploy" {
		t.Fatalf("outputs %v", out)
	}
	h.noDiff(RepositoryType, out, inputs)

	// template is not ForceNew in v6.13.0: another template is an update.
	other := h.check(RepositoryType, map[string]any{"name": "shop-deploy", "description": "shop", "visibility": "private",
		"template": map[string]any{"owner": "acme", "repository": "other-template"}, "hasIssues": true, "deleteBranchOnMerge": true})
	d, err := h.s.Diff(h.ctx, &pulumirpc.DiffRequest{Urn: urnOf(RepositoryType, "r"), Id: id, Olds: marshalMap(t, out), News: other})
	if err != nil || d.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(d.Replaces) != 0 || d.DeleteBeforeReplace {
		t.Fatalf("template change: %v %v", d, err)
	}
	// fork changing from a non-empty value replaces (customdiff.ForceNewIfChange).
	forked := h.check(RepositoryType, map[string]any{"name": "shop-deploy", "description": "shop", "visibility": "private",
		"template": map[string]any{"owner": "acme", "repository": "flux-fleet-tenant-template"}, "fork": "true",
		"sourceOwner": "acme", "sourceRepo": "x", "hasIssues": true, "deleteBranchOnMerge": true})
	d, err = h.s.Diff(h.ctx, &pulumirpc.DiffRequest{Urn: urnOf(RepositoryType, "r"), Id: id, Olds: marshalMap(t, out), News: forked})
	if err != nil || len(d.Replaces) != 1 || d.Replaces[0] != "fork" {
		t.Fatalf("fork change must replace: %v %v", d, err)
	}
}

func TestRepositoryPartialCreate(t *testing.T) {
	h := setup(t)
	h.fake.failPatch["half"] = 422
	inputs := h.check(RepositoryType, map[string]any{"name": "half", "visibility": "private"})
	_, err := h.s.Create(h.ctx, &pulumirpc.CreateRequest{Urn: urnOf(RepositoryType, "r"), Properties: inputs})
	rerr, ok := rpcerror.FromError(err)
	if !ok || len(rerr.Details()) != 1 {
		t.Fatalf("a failed settings PATCH must report the created repository: %v", err)
	}
	if d, ok := rerr.Details()[0].(*pulumirpc.ErrorResourceInitFailed); !ok || d.Id != "half" ||
		!strings.Contains(rerr.Message(), "PATCH ") || !strings.Contains(rerr.Message(), "422 Validation Failed") {
		t.Fatalf("details %v: %s", rerr.Details(), rerr.Message())
	}
}

func TestRepositoryAutoNameAndValidation(t *testing.T) {
	h := setup(t)
	resp, err := h.s.Check(h.ctx, &pulumirpc.CheckRequest{Urn: urnOf(RepositoryType, "tenant"), Name: "tenant",
		News: props(t, map[string]any{"visibility": "secret"})})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Failures) != 1 || resp.Failures[0].Property != "visibility" {
		t.Fatalf("failures %v", resp.Failures)
	}
	if n := str(unprops(t, resp.Inputs), "name"); !strings.HasPrefix(n, "tenant-") || len(n) != len("tenant-")+7 {
		t.Fatalf("auto-name %q", n)
	}
	resp, _ = h.s.Check(h.ctx, &pulumirpc.CheckRequest{Urn: urnOf(RepositoryType, "r"), News: props(t, map[string]any{"name": "no spaces"})})
	if len(resp.Failures) != 1 || resp.Failures[0].Property != "name" {
		t.Fatalf("failures %v", resp.Failures)
	}
}

func TestReadOf404RemovesFromState(t *testing.T) {
	h := setup(t)
	h.fake.addRepo("present", nil)
	cases := []struct {
		tok, id string
		state   map[string]any
	}{
		{RepositoryType, "gone", map[string]any{"name": "gone"}},
		{RepositoryDeployKeyType, "present:999", map[string]any{"repository": "present"}},
		{TeamRepositoryType, "7:present", map[string]any{"teamId": "7", "repository": "present"}},
		{TeamRepositoryType, "99:present", map[string]any{"teamId": "99", "repository": "present"}},
		{BranchDefaultType, "gone", map[string]any{"repository": "gone", "branch": "main"}},
	}
	for _, c := range cases {
		resp, err := h.s.Read(h.ctx, &pulumirpc.ReadRequest{Urn: urnOf(c.tok, "r"), Id: c.id, Properties: props(t, c.state)})
		if err != nil {
			t.Fatalf("%s %s: %v", c.tok, c.id, err)
		}
		if resp.Id != "" || resp.Properties != nil {
			t.Fatalf("%s: a 404 must answer an empty id, got %q", c.tok, resp.Id)
		}
	}
	// TF looks a slug up first, and that failing fails the read.
	_, err := h.s.Read(h.ctx, &pulumirpc.ReadRequest{Urn: urnOf(TeamRepositoryType, "r"), Id: "ghost:present",
		Properties: props(t, map[string]any{"teamId": "ghost"})})
	if err == nil || !strings.Contains(err.Error(), "/orgs/acme/teams/ghost") {
		t.Fatalf("missing team slug: %v", err)
	}
	_, err = h.s.Read(h.ctx, &pulumirpc.ReadRequest{Urn: urnOf(RepositoryDeployKeyType, "r"), Id: "not-a-two-part-id"})
	if err == nil || !strings.Contains(err.Error(), "unexpected ID format") {
		t.Fatalf("bad id: %v", err)
	}
}

func TestGetRepository(t *testing.T) {
	h := setup(t)
	resp, err := h.s.Invoke(h.ctx, &pulumirpc.InvokeRequest{Tok: GetRepositoryFunc, Args: props(t, map[string]any{"fullName": "acme/missing"})})
	if err != nil {
		t.Fatalf("a missing repository must not be an error: %v", err)
	}
	if len(resp.Failures) != 0 {
		t.Fatalf("failures %v", resp.Failures)
	}
	ret := unprops(t, resp.Return)
	for _, k := range []string{"name", "fullName", "htmlUrl", "id", "defaultBranch", "sshCloneUrl"} {
		if v, ok := ret[resource.PropertyKey(k)]; !ok || !v.IsString() || v.StringValue() != "" {
			t.Fatalf("%s must be the empty string, got %v", k, v)
		}
	}
	if double.Num(ret, "repoId") != 0 || double.Bool(ret, "private") || len(ret["topics"].ArrayValue()) != 0 {
		t.Fatalf("zero result expected, got %v", ret)
	}

	h.fake.addRepo("analytics-gitops", map[string]any{"description": "analytics", "private": true, "visibility": "private", "default_branch": "release"})
	resp, err = h.s.Invoke(h.ctx, &pulumirpc.InvokeRequest{Tok: GetRepositoryFunc, Args: props(t, map[string]any{"fullName": "acme/analytics-gitops"})})
	if err != nil {
		t.Fatal(err)
	}
	ret = unprops(t, resp.Return)
	for k, want := range map[string]string{"name": "analytics-gitops", "fullName": "acme/analytics-gitops", "id": "analytics-gitops",
		"defaultBranch": "release", "description": "analytics", "visibility": "private",
		"htmlUrl": "https://github.example/acme/analytics-gitops", "sshCloneUrl": "git@github.example:acme/analytics-gitops.git"} {
		if got := str(ret, k); got != want {
			t.Fatalf("%s = %q, want %q", k, got, want)
		}
	}
	if !double.Bool(ret, "private") || double.Num(ret, "repoId") == 0 {
		t.Fatalf("result %v", ret)
	}
	// name: under the provider's owner.
	resp, err = h.s.Invoke(h.ctx, &pulumirpc.InvokeRequest{Tok: GetRepositoryFunc, Args: props(t, map[string]any{"name": "analytics-gitops"})})
	if err != nil || str(unprops(t, resp.Return), "fullName") != "acme/analytics-gitops" {
		t.Fatalf("by name: %v", err)
	}
	// Other errors are errors.
	_, err = h.s.Invoke(h.ctx, &pulumirpc.InvokeRequest{Tok: GetRepositoryFunc, Args: props(t, map[string]any{})})
	if err == nil || !strings.Contains(err.Error(), `one of "full_name" or "name" has to be provided`) {
		t.Fatalf("no name: %v", err)
	}
}

func TestGetTeam(t *testing.T) {
	h := setup(t)
	_, err := h.s.Invoke(h.ctx, &pulumirpc.InvokeRequest{Tok: GetTeamFunc, Args: props(t, map[string]any{"slug": "nobody", "summaryOnly": true})})
	if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "GET ") || !strings.Contains(err.Error(), "/orgs/acme/teams/nobody") {
		t.Fatalf("a missing team must be an error naming the request: %v", err)
	}
	h.fake.reset()
	resp, err := h.s.Invoke(h.ctx, &pulumirpc.InvokeRequest{Tok: GetTeamFunc, Args: props(t, map[string]any{"slug": "platform", "summaryOnly": true})})
	if err != nil {
		t.Fatal(err)
	}
	ret := unprops(t, resp.Return)
	if str(ret, "id") != "7" || str(ret, "slug") != "platform" || str(ret, "name") != "Platform" || str(ret, "nodeId") != "T_7" ||
		str(ret, "privacy") != "closed" || len(ret["members"].ArrayValue()) != 0 || !double.Bool(ret, "summaryOnly") {
		t.Fatalf("result %v", ret)
	}
	if n := len(h.fake.all()); n != 1 {
		t.Fatalf("summaryOnly must make one request, made %d", n)
	}
	resp, err = h.s.Invoke(h.ctx, &pulumirpc.InvokeRequest{Tok: GetTeamFunc, Args: props(t, map[string]any{"slug": "platform"})})
	if err != nil {
		t.Fatal(err)
	}
	if got := double.Strs(unprops(t, resp.Return), "members"); len(got) != 2 || got[0] != "alice" {
		t.Fatalf("members %v", got)
	}
}

func TestDeployKey(t *testing.T) {
	h := setup(t)
	h.fake.addRepo("flux-fleet", nil)
	pub := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl flux\n"
	in := resource.PropertyMap{
		"repository": resource.NewStringProperty("flux-fleet"),
		"title":      resource.NewStringProperty("flux-staging"),
		"key":        resource.MakeSecret(resource.NewStringProperty(pub)),
		"readOnly":   resource.NewBoolProperty(true),
	}
	chk, err := h.s.Check(h.ctx, &pulumirpc.CheckRequest{Urn: urnOf(RepositoryDeployKeyType, "k"), News: marshalMap(t, in)})
	if err != nil || len(chk.Failures) > 0 {
		t.Fatalf("check %v %v", chk, err)
	}
	resp, err := h.s.Create(h.ctx, &pulumirpc.CreateRequest{Urn: urnOf(RepositoryDeployKeyType, "k"), Properties: chk.Inputs})
	if err != nil {
		t.Fatal(err)
	}
	w := h.fake.writes()
	if len(w) != 1 || w[0].Path != "/repos/acme/flux-fleet/keys" || w[0].Body["key"] != pub || w[0].Body["title"] != "flux-staging" || w[0].Body["read_only"] != true {
		t.Fatalf("writes %+v", w)
	}
	if !strings.HasPrefix(resp.Id, "flux-fleet:") || len(resp.Id) <= len("flux-fleet:") {
		t.Fatalf("id %q, want flux-fleet:<key id>", resp.Id)
	}
	out := unprops(t, resp.Properties)
	// TF stores GitHub's key (comment and newline dropped); the input was secret, so is the output.
	if !out["key"].IsSecret() || out["key"].SecretValue().Element.StringValue() != strings.Join(strings.Fields(pub)[:2], " ") {
		t.Fatalf("key %v", out["key"])
	}
	if str(out, "title") != "flux-staging" || !double.Bool(out, "readOnly") || str(out, "repository") != "flux-fleet" {
		t.Fatalf("outputs %v", out)
	}
	h.noDiff(RepositoryDeployKeyType, out, chk.Inputs) // suppressDeployKeyDiff
	rd, state := h.read(RepositoryDeployKeyType, resp.Id, out, chk.Inputs)
	if rd.Id != resp.Id || !state["key"].IsSecret() {
		t.Fatalf("read %v %v", rd.Id, state)
	}
	h.noDiff(RepositoryDeployKeyType, state, chk.Inputs)

	// Any change replaces, the old key deleted first (pulumi-github's DeleteBeforeReplace).
	other := h.check(RepositoryDeployKeyType, map[string]any{"repository": "flux-fleet", "title": "flux-prod", "key": pub, "readOnly": true})
	d, err := h.s.Diff(h.ctx, &pulumirpc.DiffRequest{Urn: urnOf(RepositoryDeployKeyType, "k"), Id: resp.Id, Olds: marshalMap(t, state), News: other})
	if err != nil || len(d.Replaces) != 1 || d.Replaces[0] != "title" || !d.DeleteBeforeReplace {
		t.Fatalf("title change must replace: %v %v", d, err)
	}

	if _, err := h.s.Delete(h.ctx, &pulumirpc.DeleteRequest{Urn: urnOf(RepositoryDeployKeyType, "k"), Id: resp.Id, Properties: resp.Properties}); err != nil {
		t.Fatal(err)
	}
	// TF fails the delete of a key that is already gone (only an archived repository's 403 passes).
	_, err = h.s.Delete(h.ctx, &pulumirpc.DeleteRequest{Urn: urnOf(RepositoryDeployKeyType, "k"), Id: resp.Id, Properties: resp.Properties})
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("second delete: %v", err)
	}
}

func TestTeamRepository(t *testing.T) {
	h := setup(t)
	h.fake.addRepo("flux-fleet", nil)
	for _, teamID := range []string{"7", "platform"} {
		h.fake.reset()
		id, inputs, out := h.create(TeamRepositoryType, map[string]any{"teamId": teamID, "repository": "flux-fleet", "permission": "maintain"})
		if id != "7:flux-fleet" {
			t.Fatalf("id %q, want 7:flux-fleet", id)
		}
		w := h.fake.writes()
		if len(w) != 1 || w[0].Method != "PUT" || w[0].Path != "/organizations/4242/team/7/repos/acme/flux-fleet" || w[0].Body["permission"] != "maintain" {
			t.Fatalf("writes %+v", w)
		}
		if str(out, "permission") != "maintain" || str(out, "teamId") != teamID || str(out, "repository") != "flux-fleet" {
			t.Fatalf("outputs %v", out)
		}
		var sawAccept bool
		for _, r := range h.fake.all() {
			if r.Method == "GET" && r.Path == "/organizations/4242/team/7/repos/acme/flux-fleet" && r.Accept == "application/vnd.github.v3.repository+json" {
				sawAccept = true
			}
		}
		if !sawAccept {
			t.Fatalf("the read must ask for application/vnd.github.v3.repository+json: %+v", h.fake.all())
		}
		h.noDiff(TeamRepositoryType, out, inputs)
	}
	// Default permission pull, read back from role_name "read".
	h.fake.addRepo("shop-deploy", nil)
	id, inputs, out := h.create(TeamRepositoryType, map[string]any{"teamId": "8", "repository": "shop-deploy"})
	if str(out, "permission") != "pull" {
		t.Fatalf("permission %q", str(out, "permission"))
	}
	h.noDiff(TeamRepositoryType, out, inputs)
	// A permission change is an update (the same PUT); a team change replaces.
	push := h.check(TeamRepositoryType, map[string]any{"teamId": "8", "repository": "shop-deploy", "permission": "push"})
	d, err := h.s.Diff(h.ctx, &pulumirpc.DiffRequest{Urn: urnOf(TeamRepositoryType, "r"), Id: id, Olds: marshalMap(t, out), News: push})
	if err != nil || d.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(d.Replaces) != 0 {
		t.Fatalf("permission diff %v %v", d, err)
	}
	up, err := h.s.Update(h.ctx, &pulumirpc.UpdateRequest{Urn: urnOf(TeamRepositoryType, "r"), Id: id, Olds: marshalMap(t, out), News: push})
	if err != nil || str(unprops(t, up.Properties), "permission") != "push" {
		t.Fatalf("update %v", err)
	}
	other := h.check(TeamRepositoryType, map[string]any{"teamId": "7", "repository": "shop-deploy", "permission": "push"})
	d, _ = h.s.Diff(h.ctx, &pulumirpc.DiffRequest{Urn: urnOf(TeamRepositoryType, "r"), Id: id, Olds: up.Properties, News: other})
	if len(d.Replaces) != 1 || d.Replaces[0] != "teamId" || d.DeleteBeforeReplace {
		t.Fatalf("team change must replace: %v", d)
	}
	for i := 0; i < 2; i++ { // TF: a grant already gone counts as deleted
		h.fake.reset()
		if _, err := h.s.Delete(h.ctx, &pulumirpc.DeleteRequest{Urn: urnOf(TeamRepositoryType, "r"), Id: id, Properties: up.Properties}); err != nil {
			t.Fatal(err)
		}
		if w := h.fake.writes(); len(w) != 1 || w[0].Method != "DELETE" || w[0].Path != "/organizations/4242/team/8/repos/acme/shop-deploy" {
			t.Fatalf("delete writes %+v", w)
		}
	}
}

func TestBranchDefault(t *testing.T) {
	WaitForRenameDelay, WaitForRenameInterval = time.Millisecond, 5*time.Millisecond
	h := setup(t)
	h.fake.addRepo("flux-fleet", map[string]any{"default_branch": "master"})
	h.fake.renameLag = 3 // GitHub reports the old default branch three more times
	id, inputs, out := h.create(BranchDefaultType, map[string]any{"repository": "flux-fleet", "branch": "main", "rename": true, "waitForRename": true})
	if id != "flux-fleet" || str(out, "branch") != "main" || double.Num(out, "repositoryId") == 0 {
		t.Fatalf("id %q outputs %v", id, out)
	}
	w := h.fake.writes()
	if len(w) != 1 || w[0].Method != "POST" || w[0].Path != "/repos/acme/flux-fleet/branches/master/rename" || w[0].Body["new_name"] != "main" {
		t.Fatalf("writes %+v", w)
	}
	gets := 0
	for _, r := range h.fake.all() {
		if r.Method == "GET" && r.Path == "/repos/acme/flux-fleet" {
			gets++
		}
	}
	if gets != 5 { // the first read, three stale answers, the renamed answer
		t.Fatalf("the rename was not waited for: %d GETs", gets)
	}
	h.noDiff(BranchDefaultType, out, inputs)
	rd, state := h.read(BranchDefaultType, id, out, inputs)
	if rd.Id != id || str(state, "branch") != "main" {
		t.Fatalf("read %v %v", rd.Id, state)
	}

	// Already the default: no write at all.
	h.fake.addRepo("tenant", map[string]any{"default_branch": "main"})
	h.fake.reset()
	_, _, out = h.create(BranchDefaultType, map[string]any{"repository": "tenant", "branch": "main", "rename": true, "waitForRename": true})
	if w := h.fake.writes(); len(w) != 0 || str(out, "branch") != "main" {
		t.Fatalf("writes %+v", w)
	}

	// Without rename: PATCH default_branch.
	h.fake.addRepo("plain", map[string]any{"default_branch": "main"})
	h.fake.reset()
	h.create(BranchDefaultType, map[string]any{"repository": "plain", "branch": "develop"})
	if w := h.fake.writes(); len(w) != 1 || w[0].Method != "PATCH" || w[0].Body["default_branch"] != "develop" {
		t.Fatalf("writes %+v", w)
	}

	// Delete does nothing (TF: the default branch cannot be reset).
	h.fake.reset()
	if _, err := h.s.Delete(h.ctx, &pulumirpc.DeleteRequest{Urn: urnOf(BranchDefaultType, "r"), Id: id, Properties: marshalMap(t, out)}); err != nil {
		t.Fatal(err)
	}
	if n := len(h.fake.all()); n != 0 {
		t.Fatalf("delete made %d requests", n)
	}

	// A repository rename (same repository id) is an update; another repository replaces.
	renamedRepo := h.check(BranchDefaultType, map[string]any{"repository": "plain", "branch": "main", "rename": true, "waitForRename": true})
	d, err := h.s.Diff(h.ctx, &pulumirpc.DiffRequest{Urn: urnOf(BranchDefaultType, "r"), Id: id, Olds: marshalMap(t, state), News: renamedRepo})
	if err != nil || len(d.Replaces) != 1 || d.Replaces[0] != "repository" {
		t.Fatalf("another repository must replace: %v %v", d, err)
	}
	sameRepo := resource.PropertyMap{}
	for k, v := range state {
		sameRepo[k] = v
	}
	h.fake.mu.Lock()
	plainID := h.fake.repos["plain"]["id"]
	h.fake.mu.Unlock()
	sameRepo["repositoryId"] = double.N(float64(plainID.(int64)))
	d, err = h.s.Diff(h.ctx, &pulumirpc.DiffRequest{Urn: urnOf(BranchDefaultType, "r"), Id: id, Olds: marshalMap(t, sameRepo), News: renamedRepo})
	if err != nil || len(d.Replaces) != 0 || d.Changes != pulumirpc.DiffResponse_DIFF_SOME {
		t.Fatalf("a renamed repository is an update: %v %v", d, err)
	}

	// A rename GitHub never reports times out.
	h.fake.addRepo("stuck", map[string]any{"default_branch": "master"})
	h.fake.renameLag = 1 << 30
	WaitForRenameTimeout = 50 * time.Millisecond
	defer func() { WaitForRenameTimeout = 2 * time.Minute }()
	inputs = h.check(BranchDefaultType, map[string]any{"repository": "stuck", "branch": "main", "rename": true, "waitForRename": true})
	_, err = h.s.Create(h.ctx, &pulumirpc.CreateRequest{Urn: urnOf(BranchDefaultType, "r"), Properties: inputs})
	if err == nil || !strings.Contains(err.Error(), "timeout while waiting") {
		t.Fatalf("expected a timeout, got %v", err)
	}
}

func TestPreviewCreateMakesNoRequests(t *testing.T) {
	h := setup(t)
	cases := map[string]map[string]any{
		RepositoryType:          {"name": "flux-fleet", "visibility": "private", "autoInit": true},
		RepositoryDeployKeyType: {"repository": "flux-fleet", "title": "flux-staging", "key": "ssh-ed25519 AAAA"},
		TeamRepositoryType:      {"teamId": "7", "repository": "flux-fleet"},
		BranchDefaultType:       {"repository": "flux-fleet", "branch": "main", "rename": true},
	}
	for tok, in := range cases {
		inputs := h.check(tok, in)
		resp, err := h.s.Create(h.ctx, &pulumirpc.CreateRequest{Urn: urnOf(tok, "r"), Properties: inputs, Preview: true})
		if err != nil {
			t.Fatalf("%s: %v", tok, err)
		}
		out := unprops(t, resp.Properties)
		if tok == RepositoryType && (!out["fullName"].IsComputed() || !out["htmlUrl"].IsComputed() || str(out, "name") != "flux-fleet") {
			t.Fatalf("preview outputs %v", out)
		}
	}
	// Unknown inputs in a preview (a name from another resource) are fine too.
	unknownName := resource.PropertyMap{"repository": resource.MakeComputed(resource.NewStringProperty("")),
		"branch": resource.NewStringProperty("main")}
	if _, err := h.s.Create(h.ctx, &pulumirpc.CreateRequest{Urn: urnOf(BranchDefaultType, "r"), Properties: marshalMap(t, unknownName), Preview: true}); err != nil {
		t.Fatal(err)
	}
	if n := len(h.fake.all()); n != 0 {
		t.Fatalf("preview made %d requests: %+v", n, h.fake.all())
	}
}

func TestProviderProtocol(t *testing.T) {
	h := setup(t)
	ctx := h.ctx
	_, err := h.s.Check(ctx, &pulumirpc.CheckRequest{Urn: urnOf("github:index/repositoryFile:RepositoryFile", "f"), News: props(t, map[string]any{})})
	if err == nil || !strings.Contains(err.Error(), "github:index/repositoryFile:RepositoryFile is not implemented by the rig's GitHub double (rig/go/providers)") {
		t.Fatalf("other tokens: %v", err)
	}
	_, err = h.s.Invoke(ctx, &pulumirpc.InvokeRequest{Tok: "github:index/getUser:getUser"})
	if err == nil || !strings.Contains(err.Error(), "is not implemented by the rig's GitHub double (rig/go/providers)") {
		t.Fatalf("other functions: %v", err)
	}
	info, _ := h.s.GetPluginInfo(ctx, &emptypb.Empty{})
	schema, _ := h.s.GetSchema(ctx, &pulumirpc.GetSchemaRequest{})
	if info.Version != "6.15.0" || schema.Schema != `{"name":"github","version":"6.15.0"}` {
		t.Fatalf("info %v schema %v", info, schema)
	}
	d, err := h.s.DiffConfig(ctx, diffConfigReq(t,
		map[string]any{"owner": "acme", "baseUrl": "http://a/"}, map[string]any{"owner": "acme", "baseUrl": "http://a"}))
	if err != nil || d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("same config (trailing slash aside): %v %v", d, err)
	}
	t.Setenv("GITHUB_OWNER", "")
	d, _ = h.s.DiffConfig(ctx, diffConfigReq(t,
		map[string]any{"owner": "acme", "baseUrl": "http://a/"}, map[string]any{"owner": "other", "baseUrl": "http://a/"}))
	if len(d.Replaces) != 1 || d.Replaces[0] != "owner" {
		t.Fatalf("owner change must replace the provider: %v", d)
	}

	// Configure from variables (old engines), with the token from the environment.
	t.Setenv("GITHUB_TOKEN", "test-token")
	s := New()
	cfg, err := s.Configure(ctx, &pulumirpc.ConfigureRequest{Variables: map[string]string{
		"github:config:owner": "acme", "github:config:baseUrl": strings.TrimSuffix(h.fake.url(), "/"), "github:config:writeDelayMs": "0",
	}})
	if err != nil || !cfg.AcceptSecrets || !cfg.SupportsPreview {
		t.Fatalf("configure %v %v", cfg, err)
	}
	if _, err := s.Invoke(ctx, &pulumirpc.InvokeRequest{Tok: GetTeamFunc, Args: props(t, map[string]any{"slug": "platform", "summaryOnly": true})}); err != nil {
		t.Fatal(err)
	}

	// Errors name the method, the path, the status and GitHub's message.
	h.fake.addRepo("taken", nil)
	inputs := h.check(RepositoryType, map[string]any{"name": "taken"})
	_, err = h.s.Create(ctx, &pulumirpc.CreateRequest{Urn: urnOf(RepositoryType, "r"), Properties: inputs})
	if err == nil || !strings.Contains(err.Error(), "POST ") || !strings.Contains(err.Error(), "/orgs/acme/repos") ||
		!strings.Contains(err.Error(), "422") || !strings.Contains(err.Error(), "name already exists on this account") {
		t.Fatalf("error %v", err)
	}
}

func TestWriteDelay(t *testing.T) {
	f := newFake(t)
	f.addRepo("flux-fleet", nil)
	s := New()
	if _, err := s.Configure(context.Background(), &pulumirpc.ConfigureRequest{Args: props(t, map[string]any{
		"owner": "acme", "baseUrl": f.url(), "token": "test-token", "writeDelayMs": "150"})}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for _, title := range []string{"a", "b"} {
		inputs, _ := s.Check(context.Background(), &pulumirpc.CheckRequest{Urn: urnOf(RepositoryDeployKeyType, title),
			News: props(t, map[string]any{"repository": "flux-fleet", "title": title, "key": "ssh-ed25519 AAAA" + title})})
		if _, err := s.Create(context.Background(), &pulumirpc.CreateRequest{Urn: urnOf(RepositoryDeployKeyType, title), Properties: inputs.Inputs}); err != nil {
			t.Fatal(err)
		}
	}
	// POST, (150 ms) GET, POST, (150 ms) GET: the request after each write waits writeDelayMs.
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Fatalf("two writes took %s: the write delay was not kept", took)
	}
}

func diffConfigReq(t *testing.T, olds, news map[string]any) *pulumirpc.DiffRequest {
	return &pulumirpc.DiffRequest{Urn: "urn:pulumi:test::fleet::pulumi:providers:github::default", Olds: props(t, olds), News: props(t, news)}
}
