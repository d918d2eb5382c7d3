package builder

import (
	"fmt"
	"strings"

	"github.com/slsabox/slsabox/internal/errclass"
	"github.com/slsabox/slsabox/internal/hint"
)

// ErrUndeclaredModule: a Go binary among the outputs links a module that is neither
// a declared input (a gomod input's go.sum) nor vendored in the source. The outputs
// are rejected: the build's record of what went in would be incomplete.
var ErrUndeclaredModule = errclass.New("build output rejected: a linked Go module is not among the inputs", ErrOutputRejected)

// checkGoModules checks that every module linked into a Go binary among the outputs
// (file subjects, and binaries inside images) came in through the build's inputs: a
// gomod input pinned it (pkg:golang/PATH@VERSION, the module zip, not only its go.mod)
// with the hash the binary records, or the source vendors it. A module replaced by a
// local directory is source, and so are the main module and the other modules of a
// go.work workspace (linked as version "(devel)").
func checkGoModules(res *Result) error {
	pinned := map[string]string{} // PATH@VERSION -> h1: hash
	for _, in := range res.Inputs {
		if mv, ok := strings.CutPrefix(in.URI, "pkg:golang/"); ok && !strings.Contains(mv, "#") {
			pinned[mv] = in.GoSum
		}
	}
	vendored := map[string]bool{}
	for _, m := range res.Vendored {
		vendored[m.String()] = true
	}
	check := func(what string, bin *GoBinary) error {
		if bin == nil {
			return nil
		}
		mods := bin.Deps
		// The main module is the source, unless the go command took it from the module
		// cache (go build third/party/cmd@version, or a module path named on the
		// command line): then it has a go.sum hash and must be pinned like any other.
		if bin.Main.Sum != "" {
			mods = append([]GoModule{bin.Main}, mods...)
		}
		for _, m := range mods {
			if m.Dir != "" || m.Version == "(devel)" {
				continue // a local directory, or another main module of a go.work: source
			}
			key := m.Path + "@" + m.Version
			sum, ok := pinned[key]
			switch {
			case ok && (m.Sum == "" || sum == "" || m.Sum == sum):
				continue
			case ok:
				return hint.Wrapf(fmt.Errorf("%w: %s links %s with hash %s, but the gomod input pins it with %s", ErrUndeclaredModule, what, key, m.Sum, sum),
					"the binary was not built from the declared module: build it in a step from the gomod input, or fix go.sum")
			case vendored[key]:
				continue
			}
			return hint.Wrapf(fmt.Errorf("%w: %s links %s, which no gomod input pins and the source does not vendor", ErrUndeclaredModule, what, key),
				"add a gomod: go.sum input whose go.sum pins %s (go mod tidy writes it), or vendor it (go mod vendor) and commit vendor/", key)
		}
		return nil
	}
	for _, s := range res.Subjects {
		if err := check("/out/"+s.Name, s.Go); err != nil {
			return err
		}
	}
	for _, img := range res.Images {
		for _, b := range img.Binaries {
			if err := check(fmt.Sprintf("%s in image %s", b.Path, img.Name), b.Go); err != nil {
				return err
			}
		}
	}
	return nil
}
