package verify

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
)

// TestProvenanceFieldTypes: the SLSA fields the checks read must have their JSON
// types, and the required ones must be there, as when the predicate was decoded with
// protojson into the typed bindings.
func TestProvenanceFieldTypes(t *testing.T) {
	const ok = `{"buildDefinition":{"buildType":"https://b","externalParameters":{"source":{"uri":"git+https://x"}},` +
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
		"content not base64":    {strings.Replace(ok, `"aGk="`, `"%%%"`, 1), "base64"},
		"externalParameters []": {strings.Replace(ok, `"externalParameters":{"source":{"uri":"git+https://x"}}`, `"externalParameters":[]`, 1), "not an object"},
	} {
		var st statement
		js := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"` + helloDigest +
			`"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":` + tc.pred + `}`
		if err := protojson.Unmarshal([]byte(js), &st); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, err := provenance(&st, nil)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want one saying %q", name, err, tc.want)
		}
	}
}
