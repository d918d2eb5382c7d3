//go:build !slsabox_verifyonly

package main

import (
	"path"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/builder"
)

// describeBuild converts the builder's result into the build description that
// attest.Provenance records. sourceURI and sourceRef, when set, replace what git says:
// a CI knows the repository's canonical URL and the ref it checked out.
func describeBuild(res *builder.Result, sourceURI, sourceRef string) *attest.Build {
	b := &attest.Build{
		Limits:         attest.Limits(res.Limits),
		Sandbox:        attest.Sandbox(res.Sandbox),
		Runtime:        attest.Runtime(res.Runtime),
		AllowDirtyTree: res.AllowDirtyTree,
		StartedOn:      res.StartedOn,
		FinishedOn:     res.FinishedOn,
		LogSHA256:      res.LogSHA256,
		Definition: attest.Definition{
			SHA256:  res.Definition.SHA256,
			Content: res.Definition.Content,
		},
	}
	if src := res.Source; src != nil {
		b.Source = attest.Source{
			URI:    firstOf(sourceURI, attest.SourceURI(src.RemoteURL, src.RepoRoot)),
			Ref:    firstOf(sourceRef, src.Ref),
			Path:   src.Subdir,
			Commit: src.Commit,
			Dirty:  src.Dirty,
		}
		b.Definition.Path = definitionPath(src.Subdir, res.Definition.Path)
	}
	if img := res.Image; img != nil {
		b.Image = attest.Image{Ref: img.Ref, Digest: img.Digest, ManifestDigest: img.ManifestDigest,
			ConfigDigest: img.ConfigDigest, Platform: img.Platform}
	}
	for _, in := range res.Inputs {
		b.Inputs = append(b.Inputs, attest.Input{Name: in.Name, URI: in.URI, Digest: in.Digest, GoSum: in.GoSum})
	}
	for _, s := range res.Subjects {
		b.Subjects = append(b.Subjects, attest.Subject{Name: s.Name, SHA256: s.SHA256, Go: goBinary(s.Go)})
	}
	// An image is named without tag or digest, its digest that of its manifest (or
	// index): what cosign and admission controllers look up.
	for _, img := range res.Images {
		sub := attest.Subject{Name: img.Name, SHA256: img.SHA256(), Image: true}
		for _, bin := range img.Binaries {
			if g := goBinary(bin.Go); g != nil {
				sub.Contains = append(sub.Contains, attest.ContainedBinary{Path: bin.Path, SHA256: bin.SHA256, Go: *g})
			}
		}
		b.Subjects = append(b.Subjects, sub)
	}
	for _, m := range res.Vendored {
		b.Vendored = append(b.Vendored, attest.Module(m))
	}
	return b
}

// goBinary converts the builder's record of a Go binary (nil: not one).
func goBinary(g *builder.GoBinary) *attest.GoBinary {
	if g == nil {
		return nil
	}
	out := &attest.GoBinary{GoVersion: g.GoVersion, Package: g.Package, Main: attest.Module(g.Main)}
	for _, m := range g.Deps {
		out.Deps = append(out.Deps, attest.Module(m))
	}
	return out
}

// definitionPath is the definition's path relative to the repository root, or, for a
// file outside the built directory (given with -f), its absolute path as it was:
// such a file is part of no commit, and must not look like one.
func definitionPath(subdir, p string) string {
	if path.IsAbs(p) {
		return p
	}
	return path.Join(subdir, p)
}
