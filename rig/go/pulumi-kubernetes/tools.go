//go:build tools

// What cmd/pulumi-resource-kubernetes (main.go, generate.go) imports, so go.mod and go.sum cover it.
package tools

import (
	_ "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	_ "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
	_ "github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)
