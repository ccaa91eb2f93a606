package tlsdouble

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"golang.org/x/crypto/ssh"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

const urn = "urn:pulumi:test::fleet::fleet:repository:Repository$tls:index/privateKey:PrivateKey::key"

var opts = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true}

func props(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := plugin.MarshalProperties(resource.NewPropertyMapFromMap(m), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func unprops(t *testing.T, s *structpb.Struct) resource.PropertyMap {
	t.Helper()
	m, err := plugin.UnmarshalProperties(s, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func secretString(t *testing.T, m resource.PropertyMap, k resource.PropertyKey) string {
	t.Helper()
	v := m[k]
	if !v.IsSecret() {
		t.Fatalf("%s is not secret: %v", k, v)
	}
	return v.SecretValue().Element.StringValue()
}

func create(t *testing.T, in map[string]any) (string, resource.PropertyMap, resource.PropertyMap) {
	t.Helper()
	ctx := context.Background()
	s := New()
	chk, err := s.Check(ctx, &pulumirpc.CheckRequest{Urn: urn, News: props(t, in)})
	if err != nil {
		t.Fatal(err)
	}
	if len(chk.Failures) > 0 {
		t.Fatalf("check failures: %v", chk.Failures)
	}
	resp, err := s.Create(ctx, &pulumirpc.CreateRequest{Urn: urn, Properties: chk.Inputs})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Id, unprops(t, chk.Inputs), unprops(t, resp.Properties)
}

func TestPrivateKeyOutputs(t *testing.T) {
	cases := []struct {
		name    string
		in      map[string]any
		sshType string
		check   func(t *testing.T, raw any)
	}{
		{"ED25519", map[string]any{"algorithm": "ED25519"}, ssh.KeyAlgoED25519, func(t *testing.T, raw any) {
			if _, ok := raw.(*ed25519.PrivateKey); !ok {
				t.Fatalf("openssh private key is %T", raw)
			}
		}},
		{"ECDSA-P256", map[string]any{"algorithm": "ECDSA", "ecdsaCurve": "P256"}, ssh.KeyAlgoECDSA256, func(t *testing.T, raw any) {
			if k, ok := raw.(*ecdsa.PrivateKey); !ok || k.Curve.Params().Name != "P-256" {
				t.Fatalf("openssh private key is %T", raw)
			}
		}},
		{"ECDSA-P384", map[string]any{"algorithm": "ECDSA", "ecdsaCurve": "P384"}, ssh.KeyAlgoECDSA384, func(t *testing.T, raw any) {
			if k, ok := raw.(*ecdsa.PrivateKey); !ok || k.Curve.Params().Name != "P-384" {
				t.Fatalf("openssh private key is %T", raw)
			}
		}},
		{"RSA-2048", map[string]any{"algorithm": "RSA"}, ssh.KeyAlgoRSA, func(t *testing.T, raw any) {
			if k, ok := raw.(*rsa.PrivateKey); !ok || k.N.BitLen() != 2048 {
				t.Fatalf("openssh private key is %T", raw)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, inputs, out := create(t, c.in)
			// Defaults applied by Check, as the TF schema's.
			if inputs["rsaBits"].NumberValue() != 2048 || inputs["ecdsaCurve"].StringValue() == "" {
				t.Fatalf("defaults not applied: %v", inputs)
			}
			for _, k := range []string{"algorithm", "ecdsaCurve", "rsaBits", "privateKeyPem", "privateKeyOpenssh",
				"privateKeyPemPkcs8", "publicKeyPem", "publicKeyOpenssh", "publicKeyFingerprintMd5", "publicKeyFingerprintSha256"} {
				if _, ok := out[resource.PropertyKey(k)]; !ok {
					t.Fatalf("output %s missing", k)
				}
			}
			pub := out["publicKeyOpenssh"].StringValue()
			if !strings.HasSuffix(pub, "\n") {
				t.Fatalf("publicKeyOpenssh does not end with a newline: %q", pub)
			}
			parsed, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(pub))
			if err != nil || len(rest) != 0 {
				t.Fatalf("ParseAuthorizedKey: %v (rest %q)", err, rest)
			}
			if parsed.Type() != c.sshType {
				t.Fatalf("key type %s, want %s", parsed.Type(), c.sshType)
			}
			raw, err := ssh.ParseRawPrivateKey([]byte(secretString(t, out, "privateKeyOpenssh")))
			if err != nil {
				t.Fatalf("ParseRawPrivateKey(privateKeyOpenssh): %v", err)
			}
			c.check(t, raw)
			signer, err := ssh.NewSignerFromKey(raw)
			if err != nil {
				t.Fatal(err)
			}
			if string(signer.PublicKey().Marshal()) != string(parsed.Marshal()) {
				t.Fatal("private and public OpenSSH keys do not match")
			}
			if got, want := out["publicKeyFingerprintSha256"].StringValue(), ssh.FingerprintSHA256(parsed); got != want || !strings.HasPrefix(got, "SHA256:") {
				t.Fatalf("sha256 fingerprint %q, want %q", got, want)
			}
			if got, want := out["publicKeyFingerprintMd5"].StringValue(), ssh.FingerprintLegacyMD5(parsed); got != want {
				t.Fatalf("md5 fingerprint %q, want %q", got, want)
			}
			// PEM outputs parse; the id is hashForState of the public key's DER.
			if _, err := ssh.ParseRawPrivateKey([]byte(secretString(t, out, "privateKeyPem"))); err != nil {
				t.Fatalf("privateKeyPem: %v", err)
			}
			block, _ := pem.Decode([]byte(secretString(t, out, "privateKeyPemPkcs8")))
			if block == nil || block.Type != "PRIVATE KEY" {
				t.Fatal("privateKeyPemPkcs8 is not a PKCS#8 PEM block")
			}
			if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
				t.Fatal(err)
			}
			pubBlock, _ := pem.Decode([]byte(out["publicKeyPem"].StringValue()))
			if pubBlock == nil || pubBlock.Type != "PUBLIC KEY" {
				t.Fatal("publicKeyPem is not a PUBLIC KEY block")
			}
			sum := sha1.Sum([]byte(strings.TrimSpace(string(pubBlock.Bytes)))) //nolint:gosec
			if id != hex.EncodeToString(sum[:]) {
				t.Fatalf("id %s is not the SHA-1 of the public key", id)
			}
			for _, k := range []resource.PropertyKey{"publicKeyOpenssh", "publicKeyPem", "publicKeyFingerprintSha256"} {
				if out[k].IsSecret() {
					t.Fatalf("%s must not be secret", k)
				}
			}
		})
	}
}

func TestP224HasNoOpenSSH(t *testing.T) {
	_, _, out := create(t, map[string]any{"algorithm": "ECDSA"}) // default curve P224
	if out["ecdsaCurve"].StringValue() != "P224" {
		t.Fatalf("curve %v", out["ecdsaCurve"])
	}
	if secretString(t, out, "privateKeyOpenssh") != "" || out["publicKeyOpenssh"].StringValue() != "" {
		t.Fatal("P-224 keys have no OpenSSH form in terraform-provider-tls")
	}
	if secretString(t, out, "privateKeyPem") == "" {
		t.Fatal("privateKeyPem is empty")
	}
}

func TestPreviewAndDiffAndErrors(t *testing.T) {
	ctx := context.Background()
	s := New()
	resp, err := s.Create(ctx, &pulumirpc.CreateRequest{Urn: urn, Preview: true,
		Properties: props(t, map[string]any{"algorithm": "ED25519", "ecdsaCurve": "P224", "rsaBits": 2048})})
	if err != nil {
		t.Fatal(err)
	}
	out := unprops(t, resp.Properties)
	if !out["privateKeyOpenssh"].IsComputed() || !out["publicKeyOpenssh"].IsComputed() {
		t.Fatalf("preview outputs must be unknown: %v", out)
	}

	_, _, state := create(t, map[string]any{"algorithm": "ECDSA", "ecdsaCurve": "P256"})
	same := props(t, map[string]any{"algorithm": "ECDSA", "ecdsaCurve": "P256", "rsaBits": 2048})
	olds, err := plugin.MarshalProperties(state, opts)
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Diff(ctx, &pulumirpc.DiffRequest{Urn: urn, Olds: olds, News: same})
	if err != nil || d.Changes != pulumirpc.DiffResponse_DIFF_NONE {
		t.Fatalf("diff of same inputs: %v %v", d, err)
	}
	d, err = s.Diff(ctx, &pulumirpc.DiffRequest{Urn: urn, Olds: olds,
		News: props(t, map[string]any{"algorithm": "ECDSA", "ecdsaCurve": "P384", "rsaBits": 2048})})
	if err != nil || d.Changes != pulumirpc.DiffResponse_DIFF_SOME || len(d.Replaces) != 1 || d.Replaces[0] != "ecdsaCurve" {
		t.Fatalf("curve change must replace: %v %v", d, err)
	}

	rd, err := s.Read(ctx, &pulumirpc.ReadRequest{Urn: urn, Id: "abc", Properties: olds})
	if err != nil || rd.Id != "abc" {
		t.Fatalf("read: %v %v", rd, err)
	}
	if !unprops(t, rd.Properties)["privateKeyPem"].IsSecret() {
		t.Fatal("read must keep the private key secret")
	}

	chk, err := s.Check(ctx, &pulumirpc.CheckRequest{Urn: urn, News: props(t, map[string]any{"algorithm": "DSA"})})
	if err != nil || len(chk.Failures) != 1 {
		t.Fatalf("invalid algorithm must fail the check: %v %v", chk, err)
	}
	chk, err = s.Check(ctx, &pulumirpc.CheckRequest{Urn: urn, News: props(t, map[string]any{})})
	if err != nil || len(chk.Failures) != 1 || chk.Failures[0].Property != "algorithm" {
		t.Fatalf("missing algorithm must fail the check: %v %v", chk, err)
	}

	other := "urn:pulumi:test::fleet::tls:index/selfSignedCert:SelfSignedCert::c"
	if _, err := s.Check(ctx, &pulumirpc.CheckRequest{Urn: other, News: props(t, map[string]any{})}); err == nil ||
		!strings.Contains(err.Error(), "tls:index/selfSignedCert:SelfSignedCert is not implemented by the rig's TLS double") {
		t.Fatalf("other tokens must fail naming the double: %v", err)
	}
	if _, err := s.Invoke(ctx, &pulumirpc.InvokeRequest{Tok: "tls:index/getPublicKey:getPublicKey"}); err == nil ||
		!strings.Contains(err.Error(), "not implemented by the rig's TLS double") {
		t.Fatalf("functions must fail naming the double: %v", err)
	}
	info, _ := s.GetPluginInfo(ctx, &emptypb.Empty{})
	if info.Version != "5.6.1" {
		t.Fatalf("version %s", info.Version)
	}
	cfg, err := s.Configure(ctx, &pulumirpc.ConfigureRequest{})
	if err != nil || !cfg.AcceptSecrets || !cfg.SupportsPreview || !cfg.AcceptResources {
		t.Fatalf("configure: %v %v", cfg, err)
	}
}
