// Package tlsdouble is the rig's double of pulumi-resource-tls 5.6.1 (pulumi-tls, which bridges
// hashicorp/terraform-provider-tls): only tls:index/privateKey:PrivateKey. See
// cmd/pulumi-resource-tls for what a double is.
package tlsdouble

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // the id format of the TF provider (hashForState), not a security use
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"golang.org/x/crypto/ssh"

	"fleet-rig/providers/internal/double"
)

// Version is the version of pulumi-resource-tls this double answers as: the one whose SDK
// (@pulumi/tls 5.6.1) the program pins. It is still a double, not that release.
const Version = "5.6.1"

// Label names the double in errors.
const Label = "the rig's TLS double (rig/go/providers)"

const PrivateKeyType = "tls:index/privateKey:PrivateKey"

// New returns the double's gRPC server.
func New() *double.Server {
	return &double.Server{
		Package:   "tls",
		Version:   Version,
		Label:     Label,
		Resources: map[string]double.Resource{PrivateKeyType: privateKey{}},
		Functions: map[string]double.Function{},
	}
}

type privateKey struct{}

var privateKeySpec = &double.Spec{
	Inputs:   []string{"algorithm", "ecdsaCurve", "rsaBits"},
	Required: []string{"algorithm"},
	// terraform-provider-tls: every input of tls_private_key has RequiresReplace.
	ForceNew: []string{"algorithm", "ecdsaCurve", "rsaBits"},
	Defaults: resource.PropertyMap{
		"ecdsaCurve": resource.NewStringProperty("P224"),
		"rsaBits":    resource.NewNumberProperty(2048),
	},
	Validate: func(in resource.PropertyMap) []*pulumirpc.CheckFailure {
		var fs []*pulumirpc.CheckFailure
		oneOf := func(k string, allowed ...string) {
			if !double.Known(in, k) {
				return
			}
			v := double.Str(in, k)
			for _, a := range allowed {
				if v == a {
					return
				}
			}
			fs = append(fs, &pulumirpc.CheckFailure{Property: k,
				Reason: fmt.Sprintf("%s: value must be one of: %s, got: %q", k, strings.Join(allowed, ", "), v)})
		}
		oneOf("algorithm", "RSA", "ECDSA", "ED25519")
		oneOf("ecdsaCurve", "P224", "P256", "P384", "P521")
		if double.Known(in, "rsaBits") && !in["rsaBits"].IsNumber() {
			fs = append(fs, &pulumirpc.CheckFailure{Property: "rsaBits", Reason: "rsaBits: must be a number"})
		}
		return fs
	},
}

// outputs other than the inputs; the private ones are secret (sensitive in the TF schema).
var computedOutputs = []string{
	"privateKeyPem", "privateKeyOpenssh", "privateKeyPemPkcs8", "publicKeyPem", "publicKeyOpenssh",
	"publicKeyFingerprintMd5", "publicKeyFingerprintSha256",
}

func (privateKey) Spec() *double.Spec { return privateKeySpec }

func (privateKey) Create(_ context.Context, in resource.PropertyMap, preview bool) (string, resource.PropertyMap, error) {
	if preview {
		return "", double.Unknowns(in, computedOutputs...), nil
	}
	algorithm, curve := double.Str(in, "algorithm"), double.Str(in, "ecdsaCurve")
	bits := int(double.Num(in, "rsaBits"))
	if curve == "" {
		curve = "P224"
	}
	if bits == 0 {
		bits = 2048
	}
	key, err := generate(algorithm, curve, bits)
	if err != nil {
		return "", nil, err
	}
	id, out, err := encode(key)
	if err != nil {
		return "", nil, err
	}
	out["algorithm"] = double.S(algorithm)
	out["ecdsaCurve"] = double.S(curve)
	out["rsaBits"] = double.N(float64(bits))
	return id, out, nil
}

func generate(algorithm, curve string, bits int) (crypto.Signer, error) {
	switch algorithm {
	case "RSA":
		return rsa.GenerateKey(rand.Reader, bits)
	case "ECDSA":
		var c elliptic.Curve
		switch curve {
		case "P224":
			c = elliptic.P224()
		case "P256":
			c = elliptic.P256()
		case "P384":
			c = elliptic.P384()
		case "P521":
			c = elliptic.P521()
		default:
			return nil, fmt.Errorf("invalid ecdsaCurve %q (%s)", curve, Label)
		}
		return ecdsa.GenerateKey(c, rand.Reader)
	case "ED25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, fmt.Errorf("invalid algorithm %q (%s)", algorithm, Label)
}

// encode renders the key as terraform-provider-tls does (resource_private_key.go Create and
// prvKeySupportsOpenSSHMarshalling, common_key.go setPublicKeyAttributes): PEM in the algorithm's
// native form (PKCS#1, SEC 1, PKCS#8 for ED25519), PKCS#8, OpenSSH (empty for P-224, which
// x/crypto/ssh cannot encode), the public key as PKIX PEM and as an authorized_keys line (with its
// trailing newline) with its MD5 and SHA256 fingerprints (empty for P-224), and the id
// hashForState(string(public key DER)): the hex SHA-1 of the whitespace-trimmed DER bytes (of the
// DER, not of the PEM).
func encode(key crypto.Signer) (string, resource.PropertyMap, error) {
	var block *pem.Block
	openssh := true
	switch k := key.(type) {
	case *rsa.PrivateKey:
		block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return "", nil, err
		}
		block = &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
		openssh = k.Curve.Params().Name != "P-224"
	case ed25519.PrivateKey:
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return "", nil, err
		}
		block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	default:
		return "", nil, fmt.Errorf("unsupported key type %T", key)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", nil, err
	}
	privateOpenssh := ""
	if openssh {
		b, err := ssh.MarshalPrivateKey(key, "")
		if err != nil {
			return "", nil, err
		}
		privateOpenssh = string(pem.EncodeToMemory(b))
	}
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return "", nil, err
	}
	publicOpenssh, md5, sha256 := "", "", ""
	if sshPub, err := ssh.NewPublicKey(key.Public()); err == nil {
		publicOpenssh = string(ssh.MarshalAuthorizedKey(sshPub))
		md5 = ssh.FingerprintLegacyMD5(sshPub)
		sha256 = ssh.FingerprintSHA256(sshPub)
	}
	sum := sha1.Sum([]byte(strings.TrimSpace(string(pubDER)))) //nolint:gosec
	secret := func(s string) resource.PropertyValue { return resource.MakeSecret(double.S(s)) }
	return hex.EncodeToString(sum[:]), resource.PropertyMap{
		"privateKeyPem":              secret(string(pem.EncodeToMemory(block))),
		"privateKeyPemPkcs8":         secret(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))),
		"privateKeyOpenssh":          secret(privateOpenssh),
		"publicKeyPem":               double.S(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))),
		"publicKeyOpenssh":           double.S(publicOpenssh),
		"publicKeyFingerprintMd5":    double.S(md5),
		"publicKeyFingerprintSha256": double.S(sha256),
	}, nil
}

// Read returns the state as it is: the key exists only in state (the TF resource's Read does
// nothing either).
func (privateKey) Read(_ context.Context, id string, state, _ resource.PropertyMap) (string, resource.PropertyMap, error) {
	out := double.Copy(state)
	for _, k := range []string{"privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"} {
		if v, ok := out[resource.PropertyKey(k)]; ok && !v.IsSecret() && !v.IsNull() {
			out[resource.PropertyKey(k)] = resource.MakeSecret(v)
		}
	}
	return id, out, nil
}

// Update is only reached when no input changed (every input forces replacement): keep the key.
func (privateKey) Update(_ context.Context, _ string, olds, news resource.PropertyMap, _ bool) (resource.PropertyMap, error) {
	out := double.Copy(olds)
	for k, v := range news {
		out[k] = v
	}
	for _, k := range []string{"privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"} {
		if v, ok := out[resource.PropertyKey(k)]; ok && !v.IsSecret() && !v.IsNull() {
			out[resource.PropertyKey(k)] = resource.MakeSecret(v)
		}
	}
	return out, nil
}

// Delete forgets the key: nothing exists outside the state.
func (privateKey) Delete(context.Context, string, resource.PropertyMap) error { return nil }
