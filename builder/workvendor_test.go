package builder

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// go work vendor (Go 1.22+) writes vendor/modules.txt beside go.work, in a directory
// that need not hold a go.mod (here as go 1.26.8 writes it for a workspace of ./a and
// ./b). The go command builds from it with -mod=vendor and the binary records
// golang.org/x/mod v0.34.0 without a sum; the build must accept it as vendored.
func TestWorkspaceVendor(t *testing.T) {
	src := t.TempDir()
	files := map[string]string{
		"go.work":            "go 1.26.8\n\nuse (\n\t./a\n\t./b\n)\n",
		"a/go.mod":           "module example.com/a\n\ngo 1.24\n\nrequire golang.org/x/mod v0.34.0\n",
		"b/go.mod":           "module example.com/b\n\ngo 1.24\n",
		"vendor/modules.txt": "## workspace\n# golang.org/x/mod v0.34.0\n## explicit; go 1.25.0\ngolang.org/x/mod/semver\n",
	}
	for name, data := range files {
		p := filepath.Join(src, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vendored, err := vendoredModules(src)
	if err != nil {
		t.Fatal(err)
	}
	res := &Result{Vendored: vendored, Subjects: []Subject{{Name: "app", Go: &GoBinary{
		Main: GoModule{Path: "example.com/a", Version: "(devel)"},
		Deps: []GoModule{{Path: "example.com/b", Version: "(devel)"}, {Path: "golang.org/x/mod", Version: "v0.34.0"}},
	}}}}
	if err := checkGoModules(res); errors.Is(err, ErrUndeclaredModule) {
		t.Errorf("vendored = %v; a workspace-vendored build is rejected: %v", vendored, err)
	}
}
