//go:build integration

package syfttest_test

import (
	"context"
	"debug/buildinfo"
	"testing"
	"time"

	"github.com/slsabox/slsabox/internal/syfttest"
	"github.com/slsabox/slsabox/internal/testenv"
)

// TestGoModulesAgreesWithBuildInfo runs syft on a real third-party Go binary, syft
// itself as scripts/tools.sh built it, and checks that GoModules returns the
// dependencies Go's own debug/buildinfo reads from it, at the same versions.
func TestGoModulesAgreesWithBuildInfo(t *testing.T) {
	syft := testenv.Tool(t, "syft")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	got, err := syfttest.GoModules(ctx, syft, syft)
	if err != nil {
		t.Fatal(err)
	}
	info, err := buildinfo.ReadFile(syft)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, d := range info.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		want[d.Path] = d.Version
	}
	if len(want) < 100 {
		t.Fatalf("syft's build info lists %d modules: not the binary tools.sh builds?", len(want))
	}
	for path, v := range want {
		if got[path] != v {
			t.Errorf("%s: syft says %q, debug/buildinfo %q", path, got[path], v)
		}
	}
	for path := range got {
		if _, ok := want[path]; !ok {
			t.Errorf("syft lists %s, debug/buildinfo does not", path)
		}
	}
}
