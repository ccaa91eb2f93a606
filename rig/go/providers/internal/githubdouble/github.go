// Package githubdouble is the rig's double of pulumi-resource-github 6.15.0 (pulumi-github, which
// bridges integrations/terraform-provider-github v6): the resources Repository,
// RepositoryDeployKey, TeamRepository and BranchDefault and the functions getRepository and
// getTeam, over a minimal GitHub REST v3 client. See cmd/pulumi-resource-github for what a double is.
//
// Behaviour follows terraform-provider-github v6.13.0, the release pulumi-github 6.15.0 builds
// (resource_github_repository.go, resource_github_repository_deploy_key.go,
// resource_github_team_repository.go, resource_github_branch_default.go,
// data_source_github_repository.go, data_source_github_team.go, provider.go, config.go,
// transport.go), and pulumi-github's resources.go (auto-naming, DeleteBeforeReplace of deploy
// keys, base_url and token defaults); each file notes where the double departs from it.
package githubdouble

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"fleet-rig/providers/internal/double"
)

// Version is the version of pulumi-resource-github this double answers as: the one whose SDK
// (@pulumi/github 6.15.0) the program pins. It is still a double, not that release.
const Version = "6.15.0"

// Label names the double in errors.
const Label = "the rig's GitHub double (rig/go/providers)"

// Type and function tokens, as the SDK (node_modules/@pulumi/github) spells them.
const (
	RepositoryType          = "github:index/repository:Repository"
	RepositoryDeployKeyType = "github:index/repositoryDeployKey:RepositoryDeployKey"
	TeamRepositoryType      = "github:index/teamRepository:TeamRepository"
	BranchDefaultType       = "github:index/branchDefault:BranchDefault"
	GetRepositoryFunc       = "github:index/getRepository:getRepository"
	GetTeamFunc             = "github:index/getTeam:getTeam"
)

// provider holds the configured client.
type provider struct {
	mu     sync.Mutex
	client *Client
}

var errNotConfigured = errors.New("the GitHub provider is not configured (" + Label + ")")

func (p *provider) get() (*Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.client == nil {
		return nil, errNotConfigured
	}
	return p.client, nil
}

// New returns the double's gRPC server.
func New() *double.Server {
	p := &provider{}
	return &double.Server{
		Package: "github",
		Version: Version,
		Label:   Label,
		Resources: map[string]double.Resource{
			RepositoryType:          repository{p},
			RepositoryDeployKeyType: deployKey{p},
			TeamRepositoryType:      teamRepository{p},
			BranchDefaultType:       branchDefault{p},
		},
		Functions: map[string]double.Function{
			GetRepositoryFunc: p.getRepository,
			GetTeamFunc:       p.getTeam,
		},
		OnConfigure:    p.configure,
		ConfigReplaces: configReplaces,
	}
}

// configString reads a config value; the engine passes a default provider's config as strings.
func configString(cfg resource.PropertyMap, k string) string {
	v := double.Unsecret(cfg[resource.PropertyKey(k)])
	switch {
	case v.IsString():
		return v.StringValue()
	case v.IsNumber():
		return strconv.FormatFloat(v.NumberValue(), 'f', -1, 64)
	case v.IsBool():
		return strconv.FormatBool(v.BoolValue())
	}
	return ""
}

func configInt(cfg resource.PropertyMap, k string, def int) int {
	s := strings.TrimSpace(configString(cfg, k))
	if s == "" {
		return def
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		return int(n)
	}
	return def
}

func configInts(cfg resource.PropertyMap, k string) []int {
	v := double.Unsecret(cfg[resource.PropertyKey(k)])
	var out []int
	switch {
	case v.IsArray():
		for _, e := range v.ArrayValue() {
			if e.IsNumber() {
				out = append(out, int(e.NumberValue()))
			} else if e.IsString() {
				if n, err := strconv.Atoi(e.StringValue()); err == nil {
					out = append(out, n)
				}
			}
		}
	case v.IsString():
		_ = json.Unmarshal([]byte(v.StringValue()), &out) // an explicit provider sends JSON text
	}
	return out
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// baseURL is the configured base URL, else GITHUB_BASE_URL, else https://api.github.com/, with a
// trailing slash. Unlike the TF provider, which appends api/v3/ to a GitHub Enterprise host's
// URL, the double uses the URL exactly as given (the rig points it at a local fake GitHub).
func baseURL(cfg resource.PropertyMap) string {
	u := firstNonEmpty(configString(cfg, "baseUrl"), os.Getenv("GITHUB_BASE_URL"), "https://api.github.com/")
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u
}

// ownerOf follows the TF provider's configureProvider (v6.13.0), quirks included: organization
// (or GITHUB_ORGANIZATION) first, then the GITHUB_OWNER environment variable, then owner.
func ownerOf(cfg resource.PropertyMap) string {
	return firstNonEmpty(configString(cfg, "organization"), os.Getenv("GITHUB_ORGANIZATION"),
		os.Getenv("GITHUB_OWNER"), configString(cfg, "owner"))
}

func (p *provider) configure(cfg resource.PropertyMap) error {
	retryable := map[int]bool{}
	codes := configInts(cfg, "retryableErrors")
	if len(codes) == 0 {
		codes = []int{500, 502, 503, 504}
	}
	for _, c := range codes {
		retryable[c] = true
	}
	client, err := NewClient(Config{
		Owner:      ownerOf(cfg),
		BaseURL:    baseURL(cfg),
		Token:      firstNonEmpty(configString(cfg, "token"), os.Getenv("GITHUB_TOKEN")),
		WriteDelay: time.Duration(configInt(cfg, "writeDelayMs", 1000)) * time.Millisecond,
		ReadDelay:  time.Duration(configInt(cfg, "readDelayMs", 0)) * time.Millisecond,
		MaxRetries: configInt(cfg, "maxRetries", 3),
		RetryDelay: time.Duration(configInt(cfg, "retryDelayMs", 1000)) * time.Millisecond,
		Retryable:  retryable,
	})
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.client = client
	p.mu.Unlock()
	// The TF provider finds the owner's kind when it is configured; an unknown configuration value
	// (an explicit provider in a preview) leaves that to the first request.
	for _, v := range cfg {
		if v.ContainsUnknowns() {
			return nil
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return client.Resolve(ctx)
}

// configReplaces: a provider pointed at another API or owner manages other objects.
func configReplaces(olds, news resource.PropertyMap) []string {
	var keys []string
	if baseURL(olds) != baseURL(news) {
		keys = append(keys, "baseUrl")
	}
	if ownerOf(olds) != ownerOf(news) {
		keys = append(keys, "owner")
	}
	return keys
}
