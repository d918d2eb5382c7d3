package sbom

import (
	"bytes"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/slsabox/slsabox/attest"
)

// TestCycloneDXAsLibraryConverts: the document, encoded as made, is what
// cyclonedx-go's own conversion to 1.6 (EncodeVersion) gives, for every shape of
// build: it has no field that 1.6 lacks and no empty list (which encoding/json
// writes as null, refused by the 1.6 schema; EncodeVersion's gob copy drops it).
func TestCycloneDXAsLibraryConverts(t *testing.T) {
	bare := testBuild()
	bare.Inputs, bare.Vendored = nil, nil
	nothing := testBuild()
	nothing.Inputs, nothing.Vendored, nothing.Subjects = nil, nil, nil
	for name, b := range map[string]*attest.Build{"full": testBuild(), "no inputs": bare, "nothing": nothing} {
		bom := cycloneDXBOM(b, config{toolName: "slsabox", toolVersion: "v0"})
		var got, want bytes.Buffer
		if err := cdx.NewBOMEncoder(&got, cdx.BOMFileFormatJSON).Encode(bom); err != nil {
			t.Fatal(err)
		}
		if err := cdx.NewBOMEncoder(&want, cdx.BOMFileFormatJSON).EncodeVersion(bom, cdx.SpecVersion1_6); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%s: encoded as made:\n%s\ncyclonedx-go's conversion to 1.6:\n%s", name, got.Bytes(), want.Bytes())
		}
		if bytes.Contains(got.Bytes(), []byte(":null")) {
			t.Errorf("%s: a null in the document (not valid CycloneDX 1.6): %s", name, got.Bytes())
		}
	}
}
