package syfttest

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The samples are syft v1.57.2's reports on real binaries (testdata/README.md).
func TestParse(t *testing.T) {
	for _, tc := range []struct {
		file string
		want Binary
	}{
		{"greet.syft.json", Binary{ // examples/go-deps, built from the checkout with -trimpath
			SHA256: "db7b868ae31d432f09821b581f2b18f1d6dd15bb74c381295686417c607cfa46",
			Go:     "go1.26.8",
			Main:   Module{Path: "example.com/go-deps", Version: Unknown, PURL: "pkg:golang/example.com/go-deps"},
			Deps: []Module{
				{"github.com/spf13/pflag", "v1.0.10", "h1:4EBh2KAYBwaONj6b2Ye1GiHfwjqyROoF4RwYO+vPwFk=", "pkg:golang/github.com/spf13/pflag@v1.0.10"},
				{"golang.org/x/text", "v0.43.0", "h1:1QivrlhwAsnMOcqgOdl9my7s9OyZl8O5/UGUTJVXoWc=", "pkg:golang/golang.org/x/text@v0.43.0"},
			},
		}},
		{"greet-replaced.syft.json", Binary{ // the same with pflag => ./pflag, x/text => x/text v0.42.0
			SHA256: "4fd6dae6bc33947543dd46c3c4cc21709e6e2d793a77fc52e80cfc0d5391c77a",
			Go:     "go1.26.8",
			Main:   Module{Path: "example.com/go-deps", Version: Unknown, PURL: "pkg:golang/example.com/go-deps"},
			Deps: []Module{
				{"github.com/spf13/pflag", Unknown, "", "pkg:golang/github.com/spf13/pflag"},
				{"golang.org/x/text", "v0.42.0", "h1:JbOZXgfeCPU9gacVtYliJqOhD+zhrEqK4LfdpmlUZqI=", "pkg:golang/golang.org/x/text@v0.42.0"},
			},
		}},
		{"syft-v1.57.2.syft.json", Binary{ // go install github.com/anchore/syft/cmd/syft@v1.57.2, three deps kept
			SHA256: "ac841c224d0dc106e81ab44f955a9f4a0326f92594e11576464f7ddfa4d19895",
			Go:     "go1.26.8",
			Main:   Module{Path: "github.com/anchore/syft", Version: "v1.57.2", H1: "h1:Vm+22QHzQfwy9WBlWeGOWBSByH6dt6SEjxrfOvQZsfM=", PURL: "pkg:golang/github.com/anchore/syft@v1.57.2"},
			Deps: []Module{
				{"github.com/google/go-containerregistry", "v0.22.1", "h1:RZuuSYhTvlDvtsK+NkutoCZ//C0X2ebLK8X8l3ULs84=", "pkg:golang/github.com/google/go-containerregistry@v0.22.1"},
				{"github.com/spf13/cobra", "v1.10.2", "h1:DMTTonx5m65Ic0GOoRY2c16WCbHxOOw6xxezuLaBpcU=", "pkg:golang/github.com/spf13/cobra@v1.10.2"},
				{"golang.org/x/mod", "v0.42.0", "h1:ICeL3t2L30ljSPHHxDnR4fqVcBt/zR2zJAb9juavmQg=", "pkg:golang/golang.org/x/mod@v0.42.0"},
			},
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	greet, err := os.ReadFile(filepath.Join("testdata", "greet.syft.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, data, err string
	}{
		{"not JSON", "syft: no such file", "not syft JSON"},
		{"not a Go binary", `{"artifacts":[{"name":"busybox","version":"1.36","type":"binary"}]}`, "no Go build info"},
		{"two binaries", strings.Replace(string(greet), `"artifacts": [`,
			`"artifacts": [{"name":"example.com/other","version":"UNKNOWN","type":"go-module","metadata":{"mainModule":"example.com/other"}},`, 1),
			"found 2 Go binaries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse([]byte(tc.data)); err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("want an error with %q, got %v", tc.err, err)
			}
		})
	}
}
