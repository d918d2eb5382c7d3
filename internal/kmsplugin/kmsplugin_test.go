package kmsplugin

import (
	"bytes"
	"crypto"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin/common"
	_ "github.com/sigstore/sigstore/pkg/signature/kms/fake" // fakekms://, an in-memory key
)

func call(t *testing.T, scheme, version string, pa *common.PluginArgs) (*common.PluginResp, int, string) {
	t.Helper()
	enc, err := json.Marshal(pa)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := Main(scheme, []string{"sigstore-kms-" + scheme, version, string(enc)}, strings.NewReader("message"), &stdout, &stderr)
	var resp common.PluginResp
	if err := json.Unmarshal(stdout.Bytes(), &resp); err != nil {
		t.Fatalf("the response is not one JSON object: %v\n%s", err, stdout.String())
	}
	return &resp, code, stderr.String()
}

func publicKeyCall(version string) *common.PluginArgs {
	return &common.PluginArgs{
		InitOptions: &common.InitOptions{ProtocolVersion: version, KeyResourceID: "key", HashFunc: crypto.SHA256, RPCOptions: &common.RPCOptions{}},
		MethodArgs:  &common.MethodArgs{MethodName: common.PublicKeyMethodName, PublicKey: &common.PublicKeyArgs{PublicKeyOptions: &common.PublicKeyOptions{}}},
	}
}

// TestServe serves the protocol's calls for a linked provider (sigstore's in-memory
// fake here; the real ones are exercised against a KMS server by
// cmd/slsabox's TestKMSPlugin), and answers every failure with one error response.
func TestServe(t *testing.T) {
	resp, code, stderr := call(t, "fakekms", common.ProtocolVersion, publicKeyCall(common.ProtocolVersion))
	if code != 0 || resp.ErrorMessage != "" || resp.PublicKey == nil {
		t.Fatalf("publicKey: exit %d, %+v, %s", code, resp, stderr)
	}
	if _, err := cryptoutils.UnmarshalPEMToPublicKey(resp.PublicKey.PublicKeyPEM); err != nil {
		t.Errorf("publicKey answered no PEM key: %v", err)
	}

	for _, tc := range []struct {
		name, scheme, version string
		args                  *common.PluginArgs
		want                  string
	}{
		{"other protocol", "fakekms", "v2", publicKeyCall("v2"), `protocol version "v2"`},
		{"no provider linked", "nosuchkms", common.ProtocolVersion, publicKeyCall(common.ProtocolVersion), "links no provider for nosuchkms://"},
		{"sign without arguments", "fakekms", common.ProtocolVersion, &common.PluginArgs{
			InitOptions: publicKeyCall(common.ProtocolVersion).InitOptions, MethodArgs: &common.MethodArgs{MethodName: common.SignMessageMethodName}}, "arguments of signMessage are missing"},
		{"public key without options", "fakekms", common.ProtocolVersion, &common.PluginArgs{
			InitOptions: publicKeyCall(common.ProtocolVersion).InitOptions, MethodArgs: &common.MethodArgs{MethodName: common.PublicKeyMethodName, PublicKey: &common.PublicKeyArgs{}}}, "arguments of publicKey are missing"},
		{"unknown method", "fakekms", common.ProtocolVersion, &common.PluginArgs{
			InitOptions: publicKeyCall(common.ProtocolVersion).InitOptions, MethodArgs: &common.MethodArgs{MethodName: "frobnicate"}}, "unsupported method"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, code, stderr := call(t, tc.scheme, tc.version, tc.args)
			if code == 0 || !strings.Contains(resp.ErrorMessage, tc.want) || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, error response %q, stderr %q; want an error naming %q", code, resp.ErrorMessage, stderr, tc.want)
			}
		})
	}
}

// TestByHand: run without the protocol's arguments, the program says what it is.
func TestByHand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Main("awskms", []string{"sigstore-kms-awskms"}, strings.NewReader(""), &stdout, &stderr); code == 0 ||
		!strings.Contains(stderr.String(), "not run by hand") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}
