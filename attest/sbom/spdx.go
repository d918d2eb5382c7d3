package sbom

import (
	"bytes"
	"fmt"
	"time"

	"github.com/google/uuid"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"

	"github.com/slsabox/slsabox/attest"
)

// spdxNamespace prefixes every document namespace slsabox writes; the rest is a
// name-based UUID of the document's content.
const spdxNamespace = "https://slsabox.dev/spdx/"

const noAssertion = "NOASSERTION"

// spdxDocument writes b as SPDX 2.3 JSON: the document describes the subjects; each
// subject is GENERATED_FROM the source package; the builder image is BUILD_TOOL_OF
// the source; each input is a BUILD_DEPENDENCY_OF it; the source CONTAINS the
// vendored modules; a Go binary CONTAINS its modules, an image its binaries. SPDX
// has no checksum algorithm for a go.sum hash: it is in the package's comment.
func spdxDocument(b *attest.Build, c config) ([]byte, error) {
	doc := &spdx.Document{
		SPDXVersion:    spdx.Version,
		DataLicense:    spdx.DataLicense,
		SPDXIdentifier: "DOCUMENT",
		DocumentName:   repoName(b.Source.URI) + "@" + b.Source.Commit,
		CreationInfo: &spdx.CreationInfo{
			Creators: []common.Creator{{CreatorType: "Tool", Creator: c.toolName + "-" + c.toolVersion}},
			Created:  b.FinishedOn.UTC().Format(time.RFC3339),
		},
	}
	rel := func(a common.ElementID, typ string, bID common.ElementID) {
		doc.Relationships = append(doc.Relationships, &spdx.Relationship{
			RefA: common.MakeDocElementID("", string(a)), RefB: common.MakeDocElementID("", string(bID)), Relationship: typ})
	}
	src := b.Source
	source := &spdx.Package{
		PackageName: repoName(src.URI), PackageSPDXIdentifier: "Source", PackageVersion: src.Commit,
		PackageDownloadLocation: sourceLocator(src), PrimaryPackagePurpose: "SOURCE",
		PackageComment: "role: source; the commit built" + map[bool]string{true: " (the tree was dirty)", false: ""}[src.Dirty],
	}
	if src.Ref != "" {
		source.PackageSourceInfo = "ref " + src.Ref
	}
	doc.Packages = append(doc.Packages, source)

	for i, s := range b.Subjects {
		id := common.ElementID(fmt.Sprintf("Subject-%d", i))
		p := &spdx.Package{PackageName: s.Name, PackageSPDXIdentifier: id, PackageDownloadLocation: noAssertion,
			PackageChecksums:      []common.Checksum{{Algorithm: common.SHA256, Value: s.SHA256}},
			PrimaryPackagePurpose: "FILE", PackageComment: "role: subject"}
		switch {
		case s.Image:
			p.PrimaryPackagePurpose = "CONTAINER"
		case s.Go != nil:
			p.PrimaryPackagePurpose = "APPLICATION"
			p.PackageComment += "; Go binary built with " + s.Go.GoVersion + ", main package " + s.Go.Package
		}
		doc.Packages = append(doc.Packages, p)
		rel("DOCUMENT", common.TypeRelationshipDescribe, id)
		rel(id, "GENERATED_FROM", "Source")
		if s.Go != nil {
			spdxGoContents(doc, id, s.Go, rel)
		}
		for k, cb := range s.Contains {
			bid := common.ElementID(fmt.Sprintf("%s-Binary-%d", id, k))
			doc.Packages = append(doc.Packages, &spdx.Package{PackageName: cb.Path, PackageSPDXIdentifier: bid,
				PackageDownloadLocation: noAssertion, PrimaryPackagePurpose: "APPLICATION",
				PackageChecksums: []common.Checksum{{Algorithm: common.SHA256, Value: cb.SHA256}},
				PackageComment:   "role: contained; Go binary at " + cb.Path + " in the image, built with " + cb.Go.GoVersion + ", main package " + cb.Go.Package})
			rel(id, common.TypeRelationshipContains, bid)
			spdxGoContents(doc, bid, &cb.Go, rel)
		}
	}
	for i, in := range b.Inputs {
		id := common.ElementID(fmt.Sprintf("Input-%d", i))
		doc.Packages = append(doc.Packages, spdxInput(id, in))
		rel(id, common.TypeRelationshipBuildDependencyOf, "Source")
	}
	for i, m := range b.Vendored {
		id := common.ElementID(fmt.Sprintf("Vendored-%d", i))
		doc.Packages = append(doc.Packages, spdxModule(id, m, "vendored"))
		rel("Source", common.TypeRelationshipContains, id)
	}
	builder := &spdx.Package{PackageName: b.Image.Ref, PackageSPDXIdentifier: "Builder", PackageVersion: b.Image.Digest,
		PackageDownloadLocation: noAssertion, PrimaryPackagePurpose: "CONTAINER",
		PackageChecksums: []common.Checksum{{Algorithm: common.SHA256, Value: trimSHA256(b.Image.Digest)}},
		PackageComment:   "role: builder; the image every step ran in (" + b.Image.Platform + ")"}
	doc.Packages = append(doc.Packages, builder)
	rel("Builder", "BUILD_TOOL_OF", "Source")

	encode := func() ([]byte, error) {
		var buf bytes.Buffer
		if err := spdxjson.Write(doc, &buf); err != nil {
			return nil, fmt.Errorf("%w: encoding SPDX: %w", ErrInvalidSBOM, err)
		}
		return buf.Bytes(), nil
	}
	doc.DocumentNamespace = spdxNamespace
	body, err := encode()
	if err != nil {
		return nil, err
	}
	doc.DocumentNamespace = spdxNamespace + uuid.NewSHA1(uuid.NameSpaceURL, body).String()
	return encode()
}

type relFunc func(a common.ElementID, typ string, b common.ElementID)

// spdxGoContents adds the modules a Go binary holds, each CONTAINED by it.
func spdxGoContents(doc *spdx.Document, parent common.ElementID, g *attest.GoBinary, rel relFunc) {
	add := func(p *spdx.Package) {
		doc.Packages = append(doc.Packages, p)
		rel(parent, common.TypeRelationshipContains, p.PackageSPDXIdentifier)
	}
	main := spdxModule(parent+"-Main", g.Main, "contained")
	main.PackageComment += "; the main module (the source)"
	add(main)
	if g.GoVersion != "" {
		add(&spdx.Package{PackageName: "stdlib", PackageSPDXIdentifier: parent + "-Stdlib", PackageVersion: g.GoVersion,
			PackageDownloadLocation: noAssertion, PrimaryPackagePurpose: "LIBRARY",
			PackageExternalReferences: []*spdx.PackageExternalReference{purlRef(stdlibPURL(g.GoVersion))},
			PackageComment:            "role: contained; the Go standard library"})
	}
	for k, m := range g.Deps {
		add(spdxModule(common.ElementID(fmt.Sprintf("%s-Dep-%d", parent, k)), m, "contained"))
	}
}

func purlRef(purl string) *spdx.PackageExternalReference {
	return &spdx.PackageExternalReference{Category: common.CategoryPackageManager, RefType: common.TypePackageManagerPURL, Locator: purl}
}

// spdxModule is a Go module as a package; its go.sum hash is in the comment.
func spdxModule(id common.ElementID, m attest.Module, role string) *spdx.Package {
	p := &spdx.Package{PackageName: m.Path, PackageSPDXIdentifier: id, PackageVersion: m.Version,
		PackageDownloadLocation: noAssertion, PrimaryPackagePurpose: "LIBRARY",
		PackageExternalReferences: []*spdx.PackageExternalReference{purlRef(goPURL(m.Path, m.Version))},
		PackageComment:            "role: " + role}
	if m.Sum != "" {
		p.PackageComment += "; go.sum " + m.Sum
	}
	if m.Replaces != "" {
		p.PackageComment += "; replaces " + m.Replaces
	}
	if m.Dir != "" {
		p.PackageComment += "; local directory " + m.Dir + " (source)"
	}
	return p
}

// spdxInput is a declared input as a package.
func spdxInput(id common.ElementID, in attest.Input) *spdx.Package {
	if path, version, goModOnly, ok := goModInput(in); ok {
		p := spdxModule(id, attest.Module{Path: path, Version: version, Sum: in.GoSum}, "input")
		if goModOnly {
			p.PackageName = path + "@" + version + "/go.mod"
			p.PrimaryPackagePurpose = "FILE"
			p.PackageExternalReferences = []*spdx.PackageExternalReference{purlRef(in.URI)}
			p.PackageComment += "; the module's go.mod only: read for the module graph, no code of it was fetched"
		}
		return p
	}
	p := &spdx.Package{PackageName: in.Name, PackageSPDXIdentifier: id, PackageDownloadLocation: in.URI,
		PrimaryPackagePurpose: "FILE", PackageComment: "role: input"}
	if p.PackageDownloadLocation == "" {
		p.PackageDownloadLocation = noAssertion
	}
	if h := in.Digest["sha256"]; h != "" {
		p.PackageChecksums = []common.Checksum{{Algorithm: common.SHA256, Value: h}}
	}
	return p
}
