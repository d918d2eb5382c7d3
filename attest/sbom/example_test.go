package sbom_test

import (
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/attest/sbom"
)

func ExampleStatement() {
	b := &attest.Build{
		Source: attest.Source{URI: "git+https://github.com/acme/hello", Commit: "0123456789abcdef0123456789abcdef01234567"},
		Image:  attest.Image{Ref: "docker.io/library/golang:1.26", Digest: "sha256:2c3a6b8bd0e1c10fa0c8a9bd4f1b4c2a8e5f0d7e6b1a9c3d4e5f60718293a4b5"},
		Inputs: []attest.Input{{Name: "golang.org/x/text@v0.43.0", URI: "pkg:golang/golang.org/x/text@v0.43.0",
			GoSum: "h1:1QivrlhwAsnMOcqgOdl9my7s9OyZl8O5/UGUTJVXoWc="}},
		Subjects: []attest.Subject{{Name: "hello", SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
			Go: &attest.GoBinary{GoVersion: "go1.26.8", Package: "github.com/acme/hello",
				Main: attest.Module{Path: "github.com/acme/hello", Version: "(devel)"},
				Deps: []attest.Module{{Path: "golang.org/x/text", Version: "v0.43.0", Sum: "h1:1QivrlhwAsnMOcqgOdl9my7s9OyZl8O5/UGUTJVXoWc="}}}}},
		FinishedOn: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	format, err := sbom.ParseFormat("cyclonedx")
	if err != nil {
		panic(err)
	}
	st, err := sbom.Statement(b, format, sbom.WithTool("slsabox", "v1.0.0"))
	if err != nil {
		panic(err)
	}
	pred, _ := protojson.Marshal(st.Predicate)
	rows, err := sbom.Components(st.PredicateType, pred)
	if err != nil {
		panic(err)
	}
	fmt.Println(st.PredicateType, st.Subject[0].Name)
	for _, r := range rows {
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%s | %s | %s | %s", r.Role, r.Name, r.Version, r.ID)))
	}
	// Output:
	// https://cyclonedx.org/bom hello
	// source | github.com/acme/hello | 0123456789abcdef0123456789abcdef01234567 |
	// subject | hello |  | sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
	// contained in hello | github.com/acme/hello | (devel) | pkg:golang/github.com/acme/hello
	// contained in hello | stdlib | go1.26.8 | pkg:golang/stdlib@1.26.8
	// contained in hello | golang.org/x/text | v0.43.0 | pkg:golang/golang.org/x/text@v0.43.0
	// input | golang.org/x/text | v0.43.0 | pkg:golang/golang.org/x/text@v0.43.0
	// builder | docker.io/library/golang:1.26 | sha256:2c3a6b8bd0e1c10fa0c8a9bd4f1b4c2a8e5f0d7e6b1a9c3d4e5f60718293a4b5 | sha256:2c3a6b8bd0e1c10fa0c8a9bd4f1b4c2a8e5f0d7e6b1a9c3d4e5f60718293a4b5
}
