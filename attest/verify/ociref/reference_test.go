package ociref

import (
	"errors"
	"strings"
	"testing"
)

func TestParseReference(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	for _, tc := range []struct {
		in       string
		want     Reference
		err      error
		contains string
	}{
		{in: "oci://127.0.0.1:5000/acme/hello@" + d, want: Reference{Name: "127.0.0.1:5000/acme/hello", Digest: d}},
		{in: "oci://registry.example.com/acme/hello:v1@" + d, want: Reference{Name: "registry.example.com/acme/hello", Digest: d}},
		{in: "oci-layout:out/images/hello@" + d, want: Reference{Name: "out/images/hello", Digest: d, Layout: true}},
		{in: "oci-layout:/tmp/a@b/x@" + d, want: Reference{Name: "/tmp/a@b/x", Digest: d, Layout: true}},
		{in: "oci://127.0.0.1:5000/acme/hello:v1", err: ErrReference, contains: "trust on first use"},
		{in: "oci://127.0.0.1:5000/acme/hello", err: ErrReference, contains: "pin the image's manifest digest"},
		{in: "oci://127.0.0.1:5000/acme/hello@sha256:abc", err: ErrReference, contains: "64 lowercase hex"},
		{in: "oci://127.0.0.1:5000/acme/hello@sha512:" + strings.Repeat("ab", 64), err: ErrReference},
		{in: "oci://Bad Name@" + d, err: ErrReference},
		{in: "oci-layout:@" + d, err: ErrReference, contains: "no layout directory"},
		{in: "docker://x@" + d, err: ErrReference},
	} {
		got, err := ParseReference(tc.in)
		if tc.err != nil {
			if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("ParseReference(%q) = %v, want %v containing %q", tc.in, err, tc.err, tc.contains)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseReference(%q) = %+v, %v, want %+v", tc.in, got, err, tc.want)
			continue
		}
		if back, err := ParseReference(got.String()); err != nil || back != got {
			t.Errorf("ParseReference(%q.String()) = %+v, %v", tc.in, back, err)
		}
	}
}
