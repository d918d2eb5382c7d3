package ociref

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzParseReference: a reference that parses names a sha256 digest and reads back
// the same.
func FuzzParseReference(f *testing.F) {
	d := "sha256:" + strings.Repeat("ab", 32)
	for _, s := range []string{"oci://127.0.0.1:5000/a/b@" + d, "oci-layout:dir@" + d, "oci://h/r:t", "oci://h/r:t@" + d, "oci://@" + d} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseReference(s)
		if err != nil {
			return
		}
		if !digestRE().MatchString(r.Digest) || r.Name == "" || strings.Contains(r.Name, "@") && !r.Layout {
			t.Fatalf("ParseReference(%q) = %+v", s, r)
		}
		if back, err := ParseReference(r.String()); err != nil || back != r {
			t.Fatalf("ParseReference(%q).String() = %q reads back as %+v, %v", s, r.String(), back, err)
		}
	})
}

// FuzzCheckReferrer: whatever a registry serves, an accepted referrer names the
// image as its subject and has one bundle layer within the limit.
func FuzzCheckReferrer(f *testing.F) {
	subject := "sha256:" + strings.Repeat("ab", 32)
	good, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": mediaTypeOCIManifest, "artifactType": BundleMediaType,
		"config":  map[string]any{"mediaType": mediaTypeEmpty, "digest": "sha256:" + strings.Repeat("44", 32), "size": 2},
		"layers":  []any{map[string]any{"mediaType": BundleMediaType, "digest": "sha256:" + strings.Repeat("cd", 32), "size": 100}},
		"subject": map[string]any{"mediaType": mediaTypeOCIManifest, "digest": subject, "size": 10},
	})
	f.Add(good)
	f.Add([]byte(strings.Replace(string(good), subject, "sha256:"+strings.Repeat("ef", 32), 1)))
	f.Add([]byte(`{"schemaVersion":2}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		l, err := checkReferrer(raw, subject, 1000)
		if err != nil {
			return
		}
		var m referrerManifest
		if json.Unmarshal(raw, &m) != nil || m.Subject == nil || m.Subject.Digest != subject || len(m.Layers) != 1 {
			t.Fatalf("accepted %s", raw)
		}
		if l.Size < 0 || l.Size > 1000 || !digestRE().MatchString(l.Digest) || !strings.HasPrefix(l.MediaType, bundleMediaTypePrefix) {
			t.Fatalf("accepted layer %+v", l)
		}
	})
}
