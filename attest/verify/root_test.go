package verify

import (
	"encoding/json"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/slsabox/slsabox/attest"
)

// trustedRootWithLog returns a trusted root naming one Rekor v2 log with a fresh key.
func trustedRootWithLog(t testing.TB) *root.TrustedRoot {
	t.Helper()
	_, pubPEM, err := attest.GenerateKey(attest.ECDSAP256, nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := cryptoutils.UnmarshalPEMToPublicKey(pubPEM)
	der, _ := cryptoutils.MarshalPublicKeyToDER(pub)
	doc := map[string]any{
		"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
		"tlogs": []any{map[string]any{
			"baseUrl":       "http://127.0.0.1:3420",
			"hashAlgorithm": "SHA2_256",
			"publicKey": map[string]any{"rawBytes": der, "keyDetails": "PKIX_ECDSA_P256_SHA_256",
				"validFor": map[string]any{"start": "2020-01-01T00:00:00Z"}},
			"logId": map[string]any{"keyId": der[:32]},
		}},
	}
	data, _ := json.Marshal(doc)
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}
