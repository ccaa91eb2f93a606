// Package double is the shared gRPC side of the rig's provider doubles (pulumi-resource-tls and
// pulumi-resource-github stand-ins, see cmd/): a pulumirpc.ResourceProviderServer that dispatches
// each call by type token to a small Resource or Function written for the rig, and answers every
// other token with an error that names the double.
//
// It copies the few behaviours of the Pulumi Terraform bridge that the engine can observe:
// Check applies defaults (and the bridge's auto-name), Diff compares the new inputs with the old
// state on the declared inputs only and reports replacements for ForceNew inputs, a zero value is
// the same as unset (the Terraform plugin SDK does not tell them apart), Read with an empty id
// removes the resource from state, and a Create that fails after the remote object exists reports
// it to the engine (ErrorResourceInitFailed) so that it is kept in state.
package double

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil/rpcerror"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// Spec describes a resource's inputs the way its Terraform schema does.
type Spec struct {
	// Inputs are the declared input properties (Pulumi names); Diff looks at these only.
	Inputs []string
	// Required inputs: Check fails when one is missing.
	Required []string
	// ForceNew inputs: a change replaces the resource.
	ForceNew []string
	// Computed inputs (Optional+Computed in Terraform): leaving one unset keeps the old value.
	Computed []string
	// Ignored inputs never produce a diff (etag: its Terraform diff is always suppressed).
	Ignored []string
	// Defaults (Terraform Default) that Check fills in when an input is unset.
	Defaults resource.PropertyMap
	// AutoName is the input Check fills with <resource name>-<7 hex> when unset (the bridge's
	// AutoName), keeping the old value when there is one.
	AutoName string
	// Suppress holds Terraform DiffSuppressFuncs: old and new (unwrapped) count as equal when it says so.
	Suppress map[string]func(old, new resource.PropertyValue) bool
	// Validate returns check failures for the (unwrapped) inputs after defaults; unknowns must pass.
	Validate func(inputs resource.PropertyMap) []*pulumirpc.CheckFailure
	// CustomizeDiff is Terraform's CustomizeDiff: given the (unwrapped) old state and new inputs of
	// an existing resource, it returns further inputs whose change forces a replacement (it may ask
	// the API).
	CustomizeDiff func(ctx context.Context, id string, olds, news resource.PropertyMap) ([]string, error)
	// DeleteBeforeReplace is the bridge's ResourceInfo.DeleteBeforeReplace.
	DeleteBeforeReplace bool
}

// Resource is one resource type of a double. Maps are passed with secrets unwrapped; the server
// marks secret again every output whose input was secret.
type Resource interface {
	Spec() *Spec
	// Create returns the id and the outputs; in preview it makes no remote write and returns the
	// inputs with unknown computed outputs.
	Create(ctx context.Context, inputs resource.PropertyMap, preview bool) (string, resource.PropertyMap, error)
	// Read returns the id ("" when the remote object is gone) and the state. inputs is empty on import.
	Read(ctx context.Context, id string, state, inputs resource.PropertyMap) (string, resource.PropertyMap, error)
	Update(ctx context.Context, id string, olds, news resource.PropertyMap, preview bool) (resource.PropertyMap, error)
	Delete(ctx context.Context, id string, state resource.PropertyMap) error
}

// Function is an invoke (a Terraform data source).
type Function func(ctx context.Context, args resource.PropertyMap, preview bool) (resource.PropertyMap, error)

// PartialError is returned by Create or Update when the remote object exists (ID) but a later
// step failed: the engine is told, so the object stays in state, as the bridge does.
type PartialError struct {
	ID    string
	State resource.PropertyMap
	Err   error
}

func (e *PartialError) Error() string { return e.Err.Error() }
func (e *PartialError) Unwrap() error { return e.Err }

// Server implements pulumirpc.ResourceProviderServer for a double.
type Server struct {
	pulumirpc.UnimplementedResourceProviderServer

	// Package is the provider package name ("tls", "github"); Version the version GetPluginInfo
	// reports; Label names the double in errors ("the rig's GitHub double (rig/go/providers)").
	Package, Version, Label string
	Resources               map[string]Resource
	Functions               map[string]Function
	// OnConfigure receives the provider configuration, secrets unwrapped, keys without the package prefix.
	OnConfigure func(config resource.PropertyMap) error
	// ConfigReplaces returns the configuration keys whose change replaces the provider.
	ConfigReplaces func(olds, news resource.PropertyMap) []string

	once   sync.Once
	root   context.Context
	cancel context.CancelFunc
}

var _ pulumirpc.ResourceProviderServer = (*Server)(nil)

// ctx joins a request's context with the server's (which Cancel ends).
func (s *Server) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	s.once.Do(func() { s.root, s.cancel = context.WithCancel(context.Background()) })
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.root, cancel)
	return ctx, func() { stop(); cancel() }
}

// unmarshalOldsNews decodes the olds and news every check, diff and update carries.
func unmarshalOldsNews(olds, news *structpb.Struct) (resource.PropertyMap, resource.PropertyMap, error) {
	o, err := unmarshal(olds, "olds")
	if err != nil {
		return nil, nil, err
	}
	n, err := unmarshal(news, "news")
	if err != nil {
		return nil, nil, err
	}
	return o, n, nil
}

func unmarshal(st *structpb.Struct, label string) (resource.PropertyMap, error) {
	if st == nil {
		return resource.PropertyMap{}, nil
	}
	m, err := plugin.UnmarshalProperties(st, plugin.MarshalOptions{
		Label: label, KeepUnknowns: true, KeepSecrets: true, SkipNulls: true,
	})
	if err != nil {
		return nil, err
	}
	if m == nil {
		m = resource.PropertyMap{}
	}
	return m, nil
}

func marshal(m resource.PropertyMap, label string) (*structpb.Struct, error) {
	return plugin.MarshalProperties(m, plugin.MarshalOptions{
		Label: label, KeepUnknowns: true, KeepSecrets: true, SkipNulls: true,
	})
}

func typeOf(urn, typ string) string {
	if typ != "" {
		return typ
	}
	if urn == "" {
		return ""
	}
	return string(resource.URN(urn).Type())
}

func (s *Server) resource(tok string) (Resource, error) {
	if r, ok := s.Resources[tok]; ok {
		return r, nil
	}
	return nil, fmt.Errorf("resource type %s is not implemented by %s", tok, s.Label)
}

func set(keys []string) map[string]bool {
	m := map[string]bool{}
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// GetPluginInfo reports the version of the real plugin the double stands in for.
func (s *Server) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: s.Version}, nil
}

// GetSchema returns a minimal schema: the double has no real one.
func (s *Server) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: fmt.Sprintf(`{"name":%q,"version":%q}`, s.Package, s.Version)}, nil
}

// CheckConfig accepts the configuration as given.
func (s *Server) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.News}, nil
}

// DiffConfig replaces the provider when a key ConfigReplaces names changed; nothing else is a diff.
func (s *Server) DiffConfig(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, news, err := unmarshalOldsNews(req.Olds, req.News)
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}
	if s.ConfigReplaces != nil {
		if keys := s.ConfigReplaces(UnsecretMap(olds), UnsecretMap(news)); len(keys) > 0 {
			resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
			resp.Replaces = keys
			resp.Diffs = keys
		}
	}
	return resp, nil
}

// Configure hands the configuration (from args, else from the variables) to s.OnConfigure.
func (s *Server) Configure(_ context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	config := resource.PropertyMap{}
	if req.Args != nil {
		m, err := plugin.UnmarshalProperties(req.Args, plugin.MarshalOptions{Label: "config", KeepUnknowns: true, SkipNulls: true})
		if err != nil {
			return nil, err
		}
		config = m
	} else {
		for k, v := range req.Variables {
			k = strings.TrimPrefix(k, s.Package+":config:")
			k = strings.TrimPrefix(k, s.Package+":")
			config[resource.PropertyKey(k)] = resource.NewStringProperty(v)
		}
	}
	if s.OnConfigure != nil {
		if err := s.OnConfigure(config); err != nil {
			return nil, err
		}
	}
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true, AcceptResources: true}, nil
}

// Check applies the auto-name and defaults and validates.
func (s *Server) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	r, err := s.resource(typeOf(req.Urn, req.Type))
	if err != nil {
		return nil, err
	}
	olds, news, err := unmarshalOldsNews(req.Olds, req.News)
	if err != nil {
		return nil, err
	}
	spec := r.Spec()
	out := Copy(news)
	if k := resource.PropertyKey(spec.AutoName); k != "" && !Has(out, string(k)) {
		if Has(olds, string(k)) {
			out[k] = olds[k]
		} else {
			name := req.Name
			if name == "" && req.Urn != "" {
				name = resource.URN(req.Urn).Name()
			}
			auto, err := resource.NewUniqueName(req.RandomSeed, name+"-", 7, 0, nil)
			if err != nil {
				return nil, err
			}
			out[k] = resource.NewStringProperty(auto)
		}
	}
	for k, v := range spec.Defaults {
		if !Has(out, string(k)) {
			out[k] = v
		}
	}
	var failures []*pulumirpc.CheckFailure
	for _, k := range spec.Required {
		if !Has(out, k) {
			failures = append(failures, &pulumirpc.CheckFailure{Property: k, Reason: fmt.Sprintf("Missing required property '%s'", k)})
		}
	}
	if spec.Validate != nil {
		failures = append(failures, spec.Validate(UnsecretMap(out))...)
	}
	inputs, err := marshal(out, "inputs")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs, Failures: failures}, nil
}

// Diff compares the new inputs with the old state on the declared inputs.
func (s *Server) Diff(ctx context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	r, err := s.resource(typeOf(req.Urn, req.Type))
	if err != nil {
		return nil, err
	}
	olds, news, err := unmarshalOldsNews(req.Olds, req.News)
	if err != nil {
		return nil, err
	}
	spec := r.Spec()
	resp := Diff(spec, olds, news, req.IgnoreChanges)
	if spec.CustomizeDiff != nil && req.Id != "" {
		ctx, done := s.ctx(ctx)
		defer done()
		more, err := spec.CustomizeDiff(ctx, req.Id, UnsecretMap(olds), UnsecretMap(news))
		if err != nil {
			return nil, err
		}
		addReplaces(resp, olds, news, more)
	}
	resp.DeleteBeforeReplace = spec.DeleteBeforeReplace && len(resp.Replaces) > 0
	return resp, nil
}

// addReplaces marks keys as changed and forcing a replacement.
func addReplaces(resp *pulumirpc.DiffResponse, olds, news resource.PropertyMap, keys []string) {
	for _, k := range keys {
		if slices.Contains(resp.Replaces, k) {
			continue
		}
		resp.Replaces = append(resp.Replaces, k)
		if !slices.Contains(resp.Diffs, k) {
			resp.Diffs = append(resp.Diffs, k)
		}
		kind := pulumirpc.PropertyDiff_UPDATE_REPLACE
		switch key := resource.PropertyKey(k); {
		case IsZero(olds[key]):
			kind = pulumirpc.PropertyDiff_ADD_REPLACE
		case news[key].IsNull():
			kind = pulumirpc.PropertyDiff_DELETE_REPLACE
		}
		resp.DetailedDiff[k] = &pulumirpc.PropertyDiff{Kind: kind}
	}
	if len(resp.Diffs) > 0 {
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
}

// Diff is the generic diff of Server.Diff, exported for tests.
func Diff(spec *Spec, olds, news resource.PropertyMap, ignoreChanges []string) *pulumirpc.DiffResponse {
	ignored := set(spec.Ignored)
	for _, p := range ignoreChanges {
		if i := strings.IndexAny(p, ".["); i >= 0 {
			p = p[:i]
		}
		ignored[p] = true
	}
	forceNew, computed := set(spec.ForceNew), set(spec.Computed)
	resp := &pulumirpc.DiffResponse{
		Changes:         pulumirpc.DiffResponse_DIFF_NONE,
		DetailedDiff:    map[string]*pulumirpc.PropertyDiff{},
		HasDetailedDiff: true,
	}
	for _, k := range spec.Inputs {
		key := resource.PropertyKey(k)
		if ignored[k] {
			continue
		}
		n, o := news[key], olds[key]
		if n.IsNull() && computed[k] {
			continue
		}
		if Equal(o, n) {
			continue
		}
		if sup := spec.Suppress[k]; sup != nil && !n.ContainsUnknowns() && sup(Unsecret(o), Unsecret(n)) {
			continue
		}
		kind := pulumirpc.PropertyDiff_UPDATE
		switch {
		case IsZero(o):
			kind = pulumirpc.PropertyDiff_ADD
		case n.IsNull():
			kind = pulumirpc.PropertyDiff_DELETE
		}
		if forceNew[k] {
			kind++ // ADD_REPLACE, DELETE_REPLACE, UPDATE_REPLACE follow ADD, DELETE, UPDATE
			resp.Replaces = append(resp.Replaces, k)
		}
		resp.Diffs = append(resp.Diffs, k)
		resp.DetailedDiff[k] = &pulumirpc.PropertyDiff{Kind: kind}
	}
	if len(resp.Diffs) > 0 {
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return resp
}

func initFailed(id string, state resource.PropertyMap, err error) error {
	props, merr := marshal(state, "state")
	if merr != nil {
		return err
	}
	return rpcerror.WithDetails(rpcerror.New(codes.Unknown, err.Error()),
		&pulumirpc.ErrorResourceInitFailed{Id: id, Properties: props, Reasons: []string{err.Error()}})
}

// Create creates the resource (or, in preview, returns what it would be).
func (s *Server) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	r, err := s.resource(typeOf(req.Urn, req.Type))
	if err != nil {
		return nil, err
	}
	ctx, done := s.ctx(ctx)
	defer done()
	inputs, err := unmarshal(req.Properties, "properties")
	if err != nil {
		return nil, err
	}
	secrets := SecretKeys(inputs)
	id, out, err := r.Create(ctx, UnsecretMap(inputs), req.Preview)
	if err != nil {
		var pe *PartialError
		if errors.As(err, &pe) && pe.ID != "" && !req.Preview {
			Rewrap(pe.State, secrets)
			return nil, initFailed(pe.ID, pe.State, err)
		}
		return nil, err
	}
	Rewrap(out, secrets)
	props, err := marshal(out, "outputs")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

// Read refreshes (or imports) the resource; an empty id tells the engine it is gone.
func (s *Server) Read(ctx context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	r, err := s.resource(typeOf(req.Urn, req.Type))
	if err != nil {
		return nil, err
	}
	ctx, done := s.ctx(ctx)
	defer done()
	state, err := unmarshal(req.Properties, "state")
	if err != nil {
		return nil, err
	}
	inputs, err := unmarshal(req.Inputs, "inputs")
	if err != nil {
		return nil, err
	}
	secrets := SecretKeys(state, inputs)
	id, out, err := r.Read(ctx, req.Id, UnsecretMap(state), UnsecretMap(inputs))
	if err != nil {
		return nil, err
	}
	if id == "" {
		return &pulumirpc.ReadResponse{Id: ""}, nil
	}
	newInputs := ExtractInputs(r.Spec(), inputs, out)
	Rewrap(out, secrets)
	Rewrap(newInputs, secrets)
	props, err := marshal(out, "state")
	if err != nil {
		return nil, err
	}
	ins, err := marshal(newInputs, "inputs")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: id, Properties: props, Inputs: ins}, nil
}

// ExtractInputs derives the inputs to record after a Read: the old inputs, each declared input
// they held refreshed from the state; on import (no old inputs) every declared, non-computed input
// the state holds (and the auto-named one).
func ExtractInputs(spec *Spec, oldInputs, state resource.PropertyMap) resource.PropertyMap {
	out := resource.PropertyMap{}
	if len(oldInputs) > 0 {
		for k, v := range oldInputs {
			out[k] = v
		}
		for _, k := range spec.Inputs {
			key := resource.PropertyKey(k)
			if _, had := oldInputs[key]; had && Has(state, k) {
				out[key] = state[key]
			}
		}
		return out
	}
	computed, ignored := set(spec.Computed), set(spec.Ignored)
	for _, k := range spec.Inputs {
		if (computed[k] && k != spec.AutoName) || ignored[k] || !Has(state, k) {
			continue
		}
		out[resource.PropertyKey(k)] = state[resource.PropertyKey(k)]
	}
	return out
}

// Update updates the resource in place.
func (s *Server) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	r, err := s.resource(typeOf(req.Urn, req.Type))
	if err != nil {
		return nil, err
	}
	ctx, done := s.ctx(ctx)
	defer done()
	olds, news, err := unmarshalOldsNews(req.Olds, req.News)
	if err != nil {
		return nil, err
	}
	secrets := SecretKeys(news)
	out, err := r.Update(ctx, req.Id, UnsecretMap(olds), UnsecretMap(news), req.Preview)
	if err != nil {
		var pe *PartialError
		if errors.As(err, &pe) && pe.State != nil && !req.Preview {
			Rewrap(pe.State, secrets)
			return nil, initFailed(req.Id, pe.State, err)
		}
		return nil, err
	}
	Rewrap(out, secrets)
	props, err := marshal(out, "outputs")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

// Delete deletes the resource.
func (s *Server) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	r, err := s.resource(typeOf(req.Urn, req.Type))
	if err != nil {
		return nil, err
	}
	ctx, done := s.ctx(ctx)
	defer done()
	state, err := unmarshal(req.Properties, "state")
	if err != nil {
		return nil, err
	}
	if err := r.Delete(ctx, req.Id, UnsecretMap(state)); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// Invoke calls a function (data source).
func (s *Server) Invoke(ctx context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	fn, ok := s.Functions[req.Tok]
	if !ok {
		return nil, fmt.Errorf("function %s is not implemented by %s", req.Tok, s.Label)
	}
	ctx, done := s.ctx(ctx)
	defer done()
	args, err := unmarshal(req.Args, "args")
	if err != nil {
		return nil, err
	}
	out, err := fn(ctx, UnsecretMap(args), req.Preview)
	if err != nil {
		return nil, err
	}
	ret, err := marshal(out, "return")
	if err != nil {
		return nil, err
	}
	return &pulumirpc.InvokeResponse{Return: ret}, nil
}

// Call and Construct: the doubles have no methods and no components.
func (s *Server) Call(_ context.Context, req *pulumirpc.CallRequest) (*pulumirpc.CallResponse, error) {
	return nil, fmt.Errorf("method %s is not implemented by %s", req.Tok, s.Label)
}

func (s *Server) Construct(_ context.Context, req *pulumirpc.ConstructRequest) (*pulumirpc.ConstructResponse, error) {
	return nil, fmt.Errorf("component %s is not implemented by %s", req.Type, s.Label)
}

// Cancel ends every operation in flight.
func (s *Server) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	s.once.Do(func() { s.root, s.cancel = context.WithCancel(context.Background()) })
	s.cancel()
	return &emptypb.Empty{}, nil
}

// GetMapping and GetMappings: the doubles carry no Terraform mappings.
func (s *Server) GetMapping(context.Context, *pulumirpc.GetMappingRequest) (*pulumirpc.GetMappingResponse, error) {
	return &pulumirpc.GetMappingResponse{}, nil
}

func (s *Server) GetMappings(context.Context, *pulumirpc.GetMappingsRequest) (*pulumirpc.GetMappingsResponse, error) {
	return &pulumirpc.GetMappingsResponse{}, nil
}
