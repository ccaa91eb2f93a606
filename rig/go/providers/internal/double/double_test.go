package double

import (
	"context"
	"errors"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil/rpcerror"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func TestEqualTreatsZeroAsUnset(t *testing.T) {
	null := resource.NewNullProperty()
	for _, c := range []struct {
		a, b resource.PropertyValue
		want bool
	}{
		{null, B(false), true},
		{null, S(""), true},
		{null, N(0), true},
		{null, L(nil), true},
		{S("a"), resource.MakeSecret(S("a")), true},
		{S("a"), S("b"), false},
		{B(true), null, false},
		{resource.NewObjectProperty(resource.PropertyMap{"a": S("x")}),
			resource.NewObjectProperty(resource.PropertyMap{"a": S("x"), "b": B(false)}), true},
		{S("a"), resource.MakeComputed(S("")), false},
	} {
		if got := Equal(c.a, c.b); got != c.want {
			t.Errorf("Equal(%v, %v) = %v", c.a, c.b, got)
		}
	}
}

func TestDiff(t *testing.T) {
	spec := &Spec{
		Inputs:   []string{"name", "template", "visibility", "etag", "key"},
		ForceNew: []string{"template", "key"},
		Computed: []string{"visibility"},
		Ignored:  []string{"etag"},
		Suppress: map[string]func(o, n resource.PropertyValue) bool{
			"key": func(o, n resource.PropertyValue) bool { return o.StringValue() == n.StringValue()+"\n" },
		},
	}
	olds := resource.PropertyMap{"name": S("a"), "visibility": S("private"), "etag": S("W/1"), "key": S("k\n"), "extra": S("x")}
	d := Diff(spec, olds, resource.PropertyMap{"name": S("a"), "key": S("k")}, nil)
	if d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("no change expected: %v", d.Diffs)
	}
	d = Diff(spec, olds, resource.PropertyMap{"name": S("b"), "key": resource.MakeComputed(S("")),
		"template": resource.NewObjectProperty(resource.PropertyMap{"owner": S("o")})}, []string{"name"})
	if d.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(d.Replaces) != 2 || len(d.Diffs) != 2 {
		t.Fatalf("diff %v replaces %v", d.Diffs, d.Replaces)
	}
	if d.DetailedDiff["template"].Kind != pulumirpc.PropertyDiff_ADD_REPLACE || d.DetailedDiff["key"].Kind != pulumirpc.PropertyDiff_UPDATE_REPLACE {
		t.Fatalf("detailed %v", d.DetailedDiff)
	}
}

type fake struct{ created resource.PropertyMap }

func (f *fake) Spec() *Spec {
	return &Spec{Inputs: []string{"name", "secret"}, Defaults: resource.PropertyMap{"flag": B(true)}, AutoName: "name", Required: []string{"secret"}}
}

func (f *fake) Create(_ context.Context, in resource.PropertyMap, _ bool) (string, resource.PropertyMap, error) {
	f.created = in
	if Str(in, "name") == "fail" {
		return "", nil, &PartialError{ID: "half", State: Copy(in), Err: errors.New("PATCH failed")}
	}
	return "id", Copy(in), nil
}

func (f *fake) Read(_ context.Context, id string, state, _ resource.PropertyMap) (string, resource.PropertyMap, error) {
	if id == "gone" {
		return "", nil, nil
	}
	return id, state, nil
}

func (f *fake) Update(_ context.Context, _ string, _, news resource.PropertyMap, _ bool) (resource.PropertyMap, error) {
	return news, nil
}
func (f *fake) Delete(context.Context, string, resource.PropertyMap) error { return nil }

func TestServerSecretsDefaultsAndPartialCreate(t *testing.T) {
	ctx := context.Background()
	f := &fake{}
	s := &Server{Package: "x", Version: "1.0.0", Label: "the test double", Resources: map[string]Resource{"x:index:R": f}}
	o := plugin.MarshalOptions{KeepSecrets: true, KeepUnknowns: true}
	news, _ := plugin.MarshalProperties(resource.PropertyMap{"secret": resource.MakeSecret(S("s3"))}, o)
	urn := "urn:pulumi:st::p::x:index:R::res"
	chk, err := s.Check(ctx, &pulumirpc.CheckRequest{Urn: urn, News: news})
	if err != nil {
		t.Fatal(err)
	}
	in, _ := plugin.UnmarshalProperties(chk.Inputs, o)
	if !in["flag"].BoolValue() || len(Str(in, "name")) != len("res-")+7 || !in["secret"].IsSecret() {
		t.Fatalf("checked inputs %v", in)
	}
	resp, err := s.Create(ctx, &pulumirpc.CreateRequest{Urn: urn, Properties: chk.Inputs})
	if err != nil {
		t.Fatal(err)
	}
	if f.created["secret"].IsSecret() || Str(f.created, "secret") != "s3" {
		t.Fatal("resources must see secrets unwrapped")
	}
	out, _ := plugin.UnmarshalProperties(resp.Properties, o)
	if !out["secret"].IsSecret() {
		t.Fatal("an output whose input was secret must be secret")
	}

	failing, _ := plugin.MarshalProperties(resource.PropertyMap{"name": S("fail"), "secret": S("s")}, o)
	_, err = s.Create(ctx, &pulumirpc.CreateRequest{Urn: urn, Properties: failing})
	rerr, ok := rpcerror.FromError(err)
	if !ok || len(rerr.Details()) != 1 {
		t.Fatalf("partial create must carry ErrorResourceInitFailed: %v", err)
	}
	if d, ok := rerr.Details()[0].(*pulumirpc.ErrorResourceInitFailed); !ok || d.Id != "half" {
		t.Fatalf("details %v", rerr.Details())
	}

	rd, err := s.Read(ctx, &pulumirpc.ReadRequest{Urn: urn, Id: "gone"})
	if err != nil || rd.Id != "" {
		t.Fatalf("read gone: %v %v", rd, err)
	}
	missing, _ := plugin.MarshalProperties(resource.PropertyMap{}, o)
	chk, _ = s.Check(ctx, &pulumirpc.CheckRequest{Urn: urn, News: missing})
	if len(chk.Failures) != 1 || chk.Failures[0].Property != "secret" {
		t.Fatalf("failures %v", chk.Failures)
	}
}
