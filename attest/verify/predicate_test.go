package verify

import (
	"strings"
	"testing"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// TestProvenanceFieldTypes: the SLSA fields the checks read must have their JSON
// types, and the required ones must be there, as when the predicate was decoded with
// protojson into the typed bindings.
func TestProvenanceFieldTypes(t *testing.T) {
	ok := `{"buildDefinition":{"buildType":"https://b","externalParameters":{"source":{"uri":"git+https://x"}},` +
		`"resolvedDependencies":[{"uri":"git+https://x","digest":{"gitCommit":"cccccccccccccccccccccccccccccccccccccccc"}},{"name":"c","content":"aGk="}]},"runDetails":{"builder":{"id":"https://id"}}}`
	for name, tc := range map[string]struct {
		pred string
		want string // "" = valid
	}{
		"complete":              {ok, ""},
		"buildType a number":    {strings.Replace(ok, `"https://b"`, `7`, 1), "buildType is not a string"},
		"no buildType":          {strings.Replace(ok, `"buildType":"https://b",`, ``, 1), "valid"},
		"builder id an object":  {strings.Replace(ok, `"id":"https://id"`, `"id":{}`, 1), "id is not a string"},
		"no builder id":         {strings.Replace(ok, `"id":"https://id"`, `"x":"y"`, 1), "valid"},
		"dependencies a string": {strings.Replace(ok, `"resolvedDependencies":[`, `"resolvedDependencies":"x","y":[`, 1), "not a list"},
		"digest value a number": {strings.Replace(ok, `"gitCommit":"cccccccccccccccccccccccccccccccccccccccc"`, `"gitCommit":1`, 1), "gitCommit is not a string"},
		"content not base64":    {strings.Replace(ok, `"aGk="`, `"%%%"`, 1), "content"},
		"externalParameters []": {strings.Replace(ok, `"externalParameters":{"source":{"uri":"git+https://x"}}`, `"externalParameters":[]`, 1), "not an object"},
	} {
		var st statement
		js := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"` + helloDigest +
			`"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":` + tc.pred + `}`
		if err := protojson.Unmarshal([]byte(js), &st); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, err := provenance(&st)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want one saying %q", name, err, tc.want)
		}
	}
}

// FuzzPredicateMatchesProtojson: reading the decoded Struct accepts exactly the
// predicates that protojson decoding into the SLSA bindings (plus Validate) accepts,
// and reads the same provenance from them.
func FuzzPredicateMatchesProtojson(f *testing.F) {
	ok := `{"buildDefinition":{"buildType":"https://b","externalParameters":{"source":{"uri":"git+https://x"}},` +
		`"internalParameters":{"sandbox":{"network":"none"}},"resolvedDependencies":[{"uri":"git+https://x","digest":{"gitCommit":"` +
		`cccccccccccccccccccccccccccccccccccccccc"},"annotations":{"dirty":true}},{"name":"c","content":"aGk=","mediaType":"text/plain"}]},` +
		`"runDetails":{"builder":{"id":"https://id","version":{"slsabox":"v1"},"builderDependencies":[{"name":"runc","uri":"pkg:generic/runc@1"}]},` +
		`"metadata":{"invocationId":"i","startedOn":"2026-01-02T03:04:05Z","finishedOn":"2026-01-02T03:04:06.5+01:00"},` +
		`"byproducts":[{"name":"build.log","digest":{"sha256":"` + helloDigest + `"}}]}}`
	for _, seed := range []string{ok,
		strings.Replace(ok, `"buildType"`, `"build_type"`, 1),
		strings.Replace(ok, `"runDetails"`, `"run_details":{},"runDetails"`, 1),
		strings.Replace(ok, `"2026-01-02T03:04:05Z"`, `"nope"`, 1),
		strings.Replace(ok, `"aGk="`, `"aGk"`, 1),
		strings.Replace(ok, `"aGk="`, `"-_8"`, 1),
		strings.Replace(ok, `{"name":"runc","uri":"pkg:generic/runc@1"}`, `{}`, 1),
		strings.Replace(ok, `"version":{"slsabox":"v1"}`, `"version":{"a":1}`, 1),
		strings.Replace(ok, `"mediaType":"text/plain"`, `"mediaType":5`, 1),
		strings.Replace(ok, `"invocationId":"i"`, `"invocationId":null,"unknown":[1]`, 1),
		`{}`, `{"buildDefinition":null}`, `[]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, pred []byte) {
		var st statement
		js := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"` + helloDigest +
			`"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":` + string(pred) + `}`
		if protojson.Unmarshal([]byte(js), &st) != nil {
			return // not a statement: sigstore-go's parser refuses it before
		}
		var want slsa.Provenance
		werr := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(pred, &want)
		if werr == nil {
			werr = want.Validate()
		}
		got, gerr := provenance(&st)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("protojson: %v; Struct reader: %v", werr, gerr)
		}
		if gerr == nil && !proto.Equal(&want, got) {
			t.Fatalf("different provenance:\nprotojson %v\nreader    %v", &want, got)
		}
	})
}
