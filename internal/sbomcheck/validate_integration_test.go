//go:build integration

package sbomcheck_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slsabox/slsabox/internal/sbomcheck"
	"github.com/slsabox/slsabox/internal/testenv"
)

// The spec repositories' own examples (testdata/README.md): valid ones must pass,
// also inside the bundles cosign attest-blob writes, and the CycloneDX test suite's
// invalid ones must fail at the path they break.
func TestValidatorOnSpecExamples(t *testing.T) {
	node, script := testenv.SBOMValidator(t)
	cases := []struct {
		file   string
		format string // in the report of a valid file
		fault  string // in the report of an invalid one
	}{
		{file: "valid-bom-1.6.json", format: "CycloneDX 1.6"},
		{file: "valid-signatures-1.6.json", format: "CycloneDX 1.6"}, // the JSF schema
		{file: "valid-license-id-1.6.json", format: "CycloneDX 1.6"}, // the SPDX license id schema
		{file: "SPDXJSONExample-v2.3.spdx.json", format: "SPDX 2.3"},
		{file: "cosign-attest-blob-cyclonedx.sigstore.json", format: "CycloneDX 1.6 at dsseEnvelope.payload (base64) $.predicate"},
		{file: "cosign-attest-blob-spdxjson.sigstore.json", format: "SPDX 2.3 at dsseEnvelope.payload (base64) $.predicate"},
		{file: "invalid-license-id-1.6.json", fault: "$.components[0].licenses[0].license.id: must be equal to one of the allowed values"},
		{file: "invalid-component-type-1.6.json", fault: "$.components[0].type: must be equal to one of the allowed values"},
	}
	var files []string
	for _, tc := range cases {
		files = append(files, filepath.Join("testdata", tc.file))
	}
	reports := validateEach(t, node, script, files)
	for i, tc := range cases {
		check(t, tc.file, reports[files[i]], tc.format, tc.fault)
	}
}

// TestValidatorRefuses removes or breaks what the schemas require, and checks each
// fault is reported with its JSON path.
func TestValidatorRefuses(t *testing.T) {
	node, script := testenv.SBOMValidator(t)
	cases := []struct {
		name, file string
		edit       func(doc map[string]any)
		fault      string
	}{
		{"cyclonedx component without name", "valid-bom-1.6.json",
			func(d map[string]any) { delete(at(d, "components", 0), "name") },
			"$.components[0]: must have required property 'name'"},
		{"cyclonedx component without type", "valid-bom-1.6.json",
			func(d map[string]any) { delete(at(d, "components", 0), "type") },
			"$.components[0]: must have required property 'type'"},
		{"cyclonedx unknown field", "valid-bom-1.6.json",
			func(d map[string]any) { d["subjects"] = []any{} },
			`$: must NOT have additional properties: "subjects"`},
		{"cyclonedx bad timestamp", "valid-bom-1.6.json",
			func(d map[string]any) { d["metadata"].(map[string]any)["timestamp"] = "2024-01-01 10:00" },
			`$.metadata.timestamp: must match format "date-time"`},
		{"cyclonedx 1.5", "valid-bom-1.6.json",
			func(d map[string]any) { d["specVersion"] = "1.5" },
			`CycloneDX specVersion "1.5": only 1.6 is checked here`},
		{"spdx package without name", "SPDXJSONExample-v2.3.spdx.json",
			func(d map[string]any) { delete(at(d, "packages", 0), "name") },
			"$.packages[0]: must have required property 'name'"},
		{"spdx document without SPDXID", "SPDXJSONExample-v2.3.spdx.json",
			func(d map[string]any) { delete(d, "SPDXID") },
			"$: must have required property 'SPDXID'"},
		{"spdx 2.2", "SPDXJSONExample-v2.3.spdx.json",
			func(d map[string]any) { d["spdxVersion"] = "SPDX-2.2" },
			`spdxVersion "SPDX-2.2": only SPDX-2.3 is checked here`},
		{"neither format", "valid-bom-1.6.json",
			func(d map[string]any) { delete(d, "bomFormat") },
			"neither a CycloneDX BOM (bomFormat) nor an SPDX document (spdxVersion)"},
	}
	var files []string
	for _, tc := range cases {
		doc := readJSON(t, tc.file)
		tc.edit(doc)
		files = append(files, writeJSON(t, doc))
	}
	reports := validateEach(t, node, script, files)
	for i, tc := range cases {
		check(t, tc.name, reports[files[i]], "", tc.fault)
	}
}

// TestValidatorUnwraps checks an SBOM inside an in-toto Statement, a DSSE envelope
// and a Sigstore bundle v0.3, as slsabox writes OUT/sbom.sigstore.json. The validator
// reads the shape only: signatures are for cosign and slsabox verify to check.
func TestValidatorUnwraps(t *testing.T) {
	node, script := testenv.SBOMValidator(t)
	statement := func(predicateType string, predicate map[string]any) map[string]any {
		return map[string]any{
			"_type":         "https://in-toto.io/Statement/v1",
			"subject":       []any{map[string]any{"name": "hello", "digest": map[string]any{"sha256": strings.Repeat("ab", 32)}}},
			"predicateType": predicateType,
			"predicate":     predicate,
		}
	}
	envelope := func(stmt map[string]any) map[string]any {
		payload, err := json.Marshal(stmt)
		if err != nil {
			t.Fatal(err)
		}
		return map[string]any{
			"payloadType": "application/vnd.in-toto+json",
			"payload":     base64.StdEncoding.EncodeToString(payload),
			"signatures":  []any{map[string]any{"sig": base64.StdEncoding.EncodeToString([]byte("not checked here"))}},
		}
	}
	bundle := func(env map[string]any) map[string]any {
		return map[string]any{
			"mediaType":            "application/vnd.dev.sigstore.bundle.v0.3+json",
			"verificationMaterial": map[string]any{"publicKey": map[string]any{"hint": "test"}},
			"dsseEnvelope":         env,
		}
	}
	cdx, spdx := readJSON(t, "valid-bom-1.6.json"), readJSON(t, "SPDXJSONExample-v2.3.spdx.json")
	broken := readJSON(t, "valid-bom-1.6.json")
	delete(at(broken, "components", 0), "name")

	cases := []struct {
		name  string
		doc   map[string]any
		fault string // empty: valid
	}{
		{"statement cyclonedx", statement("https://cyclonedx.org/bom", cdx), ""},
		{"statement spdx", statement("https://spdx.dev/Document", spdx), ""},
		{"envelope cyclonedx", envelope(statement("https://cyclonedx.org/bom", cdx)), ""},
		{"bundle cyclonedx", bundle(envelope(statement("https://cyclonedx.org/bom", cdx))), ""},
		{"bundle spdx", bundle(envelope(statement("https://spdx.dev/Document", spdx))), ""},
		{"bundle with an invalid predicate", bundle(envelope(statement("https://cyclonedx.org/bom", broken))),
			"dsseEnvelope.payload (base64) $.predicate.components[0]: must have required property 'name'"},
		{"predicate type of the other format", statement("https://spdx.dev/Document", cdx),
			`predicateType is "https://spdx.dev/Document", but the predicate is CycloneDX 1.6`},
		{"envelope of another payload type", func() map[string]any {
			e := envelope(statement("https://cyclonedx.org/bom", cdx))
			e["payloadType"] = "application/json"
			return e
		}(), `payloadType is "application/json", not application/vnd.in-toto+json`},
		{"bundle without an envelope", map[string]any{
			"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "messageSignature": map[string]any{}},
			"without a dsseEnvelope"},
	}
	var files []string
	for _, tc := range cases {
		files = append(files, writeJSON(t, tc.doc))
	}
	reports := validateEach(t, node, script, files)
	for i, tc := range cases {
		check(t, tc.name, reports[files[i]], "", tc.fault)
	}
}

// TestValidatorRefusesAlteredSchema copies the validator with one schema changed:
// it must refuse to run rather than validate against it.
func TestValidatorRefusesAlteredSchema(t *testing.T) {
	node, script := testenv.SBOMValidator(t)
	dir := t.TempDir()
	src := filepath.Dir(script)
	copyFile(t, script, filepath.Join(dir, "validate.js"))
	if err := os.Symlink(filepath.Join(src, "node_modules"), filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"SHA256SUMS", "cyclonedx-1.6/bom-1.6.schema.json", "cyclonedx-1.6/spdx.schema.json",
		"cyclonedx-1.6/jsf-0.82.schema.json", "spdx-2.3/spdx-schema.json"} {
		copyFile(t, filepath.Join(src, "schemas", name), filepath.Join(dir, "schemas", name))
	}
	loosened := filepath.Join(dir, "schemas", "cyclonedx-1.6", "bom-1.6.schema.json")
	data, _ := os.ReadFile(loosened)
	os.WriteFile(loosened, []byte(strings.Replace(string(data), `"additionalProperties": false`, `"additionalProperties": true`, 1)), 0o644)

	_, err := validate(t, node, filepath.Join(dir, "validate.js"), filepath.Join("testdata", "valid-bom-1.6.json"))
	if !errors.Is(err, sbomcheck.ErrValidator) || !strings.Contains(err.Error(), "schema cyclonedx-1.6/bom-1.6.schema.json has sha256") {
		t.Fatalf("want ErrValidator naming the altered schema, got %v", err)
	}
}

// validateEach runs the validator once over all files (compiling the CycloneDX schema
// takes most of a second) and returns each file's report: its "FILE: valid ..." or
// "FILE: invalid ..." line and the fault lines under it.
func validateEach(t *testing.T, node, script string, files []string) map[string]string {
	t.Helper()
	out, err := validate(t, node, script, files...)
	if err != nil && !errors.Is(err, sbomcheck.ErrInvalid) {
		t.Fatal(err)
	}
	reports := map[string]string{}
	var cur string
	for _, line := range strings.SplitAfter(out, "\n") {
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "  ") {
			cur = ""
			for _, f := range files {
				if strings.HasPrefix(line, f+": ") {
					cur = f
				}
			}
			if cur == "" {
				t.Fatalf("validator report line for no file: %q\n%s", line, out)
			}
		}
		reports[cur] += line
	}
	if len(reports) != len(files) {
		t.Fatalf("validator reported on %d of %d files:\n%s", len(reports), len(files), out)
	}
	return reports
}

// check checks one file's report: valid in format when fault is empty, else invalid
// with fault among the report's lines.
func check(t *testing.T, name, report, format, fault string) {
	t.Helper()
	first, _, _ := strings.Cut(report, "\n")
	switch {
	case fault == "" && !strings.Contains(first, ": valid "+format):
		t.Errorf("%s: want valid %s, got\n%s", name, format, report)
	case fault != "" && (!strings.Contains(first, ": invalid") || !strings.Contains(report, fault)):
		t.Errorf("%s: want invalid with %q, got\n%s", name, fault, report)
	}
}

func validate(t *testing.T, node, script string, files ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return sbomcheck.Validate(ctx, node, script, files...)
}

func readJSON(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func writeJSON(t *testing.T, doc map[string]any) string {
	t.Helper()
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "doc.json")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// at returns doc[key][i] as an object.
func at(doc map[string]any, key string, i int) map[string]any {
	return doc[key].([]any)[i].(map[string]any)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGoldenSBOMsValid: attest/sbom's golden statements, which hold what no example
// build has (a URL input, vendored modules, go.mod-only inputs, an image with a Go
// binary inside), are valid against the official schemas too.
func TestGoldenSBOMsValid(t *testing.T) {
	node, script := testenv.SBOMValidator(t)
	golden := filepath.Join("..", "..", "attest", "sbom", "testdata")
	report, err := sbomcheck.Validate(context.Background(), node, script,
		filepath.Join(golden, "cyclonedx.golden.json"), filepath.Join(golden, "spdx.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(report, "valid CycloneDX 1.6") || !strings.Contains(report, "valid SPDX 2.3") {
		t.Errorf("report:\n%s", report)
	}
}
