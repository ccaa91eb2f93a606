// pulumi-resource-tls here is a DOUBLE: a minimal stand-in written for the rig, not the real
// plugin. It stands in for pulumi-resource-tls 5.6.1 (github.com/pulumi/pulumi-tls, which bridges
// hashicorp/terraform-provider-tls), which cannot be built here: the module proxy refuses
// github.com/pulumi/pulumi-tls/provider/v5. The Pulumi CLI picks it up from PATH (an ambient
// plugin) for the program's @pulumi/tls 5.6.1 SDK.
//
// It implements one resource, tls:index/privateKey:PrivateKey (RSA, ECDSA P224/P256/P384/P521 and
// ED25519 keys, encoded as terraform-provider-tls encodes them, private outputs secret, every input
// forcing replacement), and no function. Every other type token or function is answered with an
// error naming this double. It reports version 5.6.1 (the version the SDK pins) although it is
// not that release. The code is in internal/tlsdouble and internal/double.
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"fleet-rig/providers/internal/tlsdouble"
)

func main() {
	err := provider.Main("tls", func(*provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return tlsdouble.New(), nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-tls (%s): %v\n", tlsdouble.Label, err)
		os.Exit(1)
	}
}
