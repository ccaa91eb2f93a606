// pulumi-resource-github here is a DOUBLE: a minimal stand-in written for the rig, not the real
// plugin. It stands in for pulumi-resource-github 6.15.0 (github.com/pulumi/pulumi-github, which
// bridges integrations/terraform-provider-github v6.13.0), which cannot be built here: the module
// proxy refuses github.com/pulumi/pulumi-github/provider/v6. The Pulumi CLI picks it up from PATH (an
// ambient plugin) for the program's @pulumi/github 6.15.0 SDK, and it talks to GitHub (or the
// rig's fake GitHub at github:baseUrl / GITHUB_BASE_URL, used exactly as given) over REST v3.
//
// It implements the resources github:index/repository:Repository,
// github:index/repositoryDeployKey:RepositoryDeployKey, github:index/teamRepository:TeamRepository
// and github:index/branchDefault:BranchDefault, and the functions
// github:index/getRepository:getRepository (a missing repository answers an empty result, as the
// TF data source does) and github:index/getTeam:getTeam. Every other type token or function is
// answered with an error naming this double. It reports version 6.15.0 (the version the SDK pins)
// although it is not that release. Configuration: owner (or organization, GITHUB_OWNER), baseUrl
// (GITHUB_BASE_URL, default https://api.github.com/), token (GITHUB_TOKEN), writeDelayMs,
// maxRetries, retryDelayMs, retryableErrors. The code is in internal/githubdouble and
// internal/double.
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"fleet-rig/providers/internal/githubdouble"
)

func main() {
	err := provider.Main("github", func(*provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return githubdouble.New(), nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-github (%s): %v\n", githubdouble.Label, err)
		os.Exit(1)
	}
}
