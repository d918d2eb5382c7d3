// Package syfttest runs syft, the peer SBOM generator (pinned by scripts/tools.sh), on
// a Go binary and reads the Go modules it finds there, for the tests that compare
// slsabox's SBOM with it. Tests only.
//
// The command is `syft scan file:BINARY -o syft-json -q`. Each Go module is an entry of
// artifacts[] with type "go-module": name is the module path, version its version,
// purl pkg:golang/PATH@VERSION and metadata.h1Digest its go.sum hash. The main module
// is the entry whose name is metadata.mainModule; a binary built from a checkout
// records it as (devel), which syft reports as "UNKNOWN" (or as a version it finds in
// -ldflags or in vcs.* build settings). The toolchain is an entry named "stdlib".
// A module replaced by another one is reported under its own path with the
// replacement's version; one replaced by a directory has version "UNKNOWN".
package syfttest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
)

// Unknown is syft's version of a module whose build info records none.
const Unknown = "UNKNOWN"

// Module is one Go module syft found in a binary.
type Module struct {
	Path    string
	Version string // Unknown when there is none (see the package comment)
	H1      string // the go.sum hash, "h1:..."; empty when the build info has none
	PURL    string
}

// Binary is what syft found in one Go binary.
type Binary struct {
	SHA256 string   // the scanned file's sha256, hex
	Go     string   // the toolchain that built it, "go1.26.8"
	Main   Module   // the main module
	Deps   []Module // the other modules, sorted by path
}

// GoModules runs syft on binary and returns the version of every module linked into
// it, by path, except the main module and the standard library.
func GoModules(ctx context.Context, syft, binary string) (map[string]string, error) {
	b, err := Scan(ctx, syft, binary)
	if err != nil {
		return nil, err
	}
	mods := make(map[string]string, len(b.Deps))
	for _, m := range b.Deps {
		mods[m.Path] = m.Version
	}
	return mods, nil
}

// Scan runs syft on binary and parses its syft-json report.
func Scan(ctx context.Context, syft, binary string) (Binary, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, syft, "scan", "file:"+binary, "-o", "syft-json", "-q")
	// No call home: syft asks GitHub for a newer release unless told not to.
	cmd.Env = append(os.Environ(), "SYFT_CHECK_FOR_APP_UPDATE=false")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return Binary{}, fmt.Errorf("%s scan file:%s: %w\n%s", syft, binary, err, stderr.String())
	}
	b, err := Parse(stdout.Bytes())
	if err != nil {
		return Binary{}, fmt.Errorf("syft's report on %s: %w", binary, err)
	}
	return b, nil
}

// report is the part of syft's JSON output (schema 16) that Parse reads.
type report struct {
	Artifacts []struct {
		Name     string `json:"name"`
		Version  string `json:"version"`
		Type     string `json:"type"`
		PURL     string `json:"purl"`
		Metadata struct {
			MainModule string `json:"mainModule"`
			H1Digest   string `json:"h1Digest"`
		} `json:"metadata"`
	} `json:"artifacts"`
	Source struct {
		Type     string `json:"type"`
		Metadata struct {
			Digests []struct {
				Algorithm string `json:"algorithm"`
				Value     string `json:"value"`
			} `json:"digests"`
		} `json:"metadata"`
	} `json:"source"`
}

// Parse reads a syft-json report on one Go binary.
func Parse(data []byte) (Binary, error) {
	var r report
	if err := json.Unmarshal(data, &r); err != nil {
		return Binary{}, fmt.Errorf("not syft JSON: %w", err)
	}
	var b Binary
	var mains []string
	for _, d := range r.Source.Metadata.Digests {
		if d.Algorithm == "sha256" {
			b.SHA256 = d.Value
		}
	}
	for _, a := range r.Artifacts {
		if a.Type != "go-module" {
			continue
		}
		m := Module{Path: a.Name, Version: a.Version, H1: a.Metadata.H1Digest, PURL: a.PURL}
		switch {
		case a.Name == "stdlib":
			b.Go = a.Version
		case a.Name == a.Metadata.MainModule:
			b.Main = m
			mains = append(mains, a.Name)
		default:
			b.Deps = append(b.Deps, m)
		}
	}
	switch {
	case len(mains) == 0:
		return Binary{}, errors.New("syft found no Go build info (no go-module entry is a main module): is it a Go binary?")
	case len(mains) > 1:
		return Binary{}, fmt.Errorf("syft found %d Go binaries (%s): scan one file", len(mains), strings.Join(mains, ", "))
	}
	for _, m := range b.Deps {
		if m.Path == "" || m.Version == "" {
			return Binary{}, fmt.Errorf("a go-module entry without name or version: %+v", m)
		}
	}
	sort.Slice(b.Deps, func(i, j int) bool { return b.Deps[i].Path < b.Deps[j].Path })
	return b, nil
}
