package sbom

import (
	"bytes"
	"fmt"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/google/uuid"

	"github.com/slsabox/slsabox/attest"
)

// Property names of the CycloneDX document (docs/sbom.md explains them).
const (
	propRole      = "slsabox:role"      // source, input, vendored, builder, subject, contained
	propGoSum     = "slsabox:gosum"     // a Go module's go.sum hash (h1:...), as go.sum records it
	propGoModOnly = "slsabox:gomodonly" // "true": the input is a module's go.mod alone (module graph), no code
	propReplaces  = "slsabox:replaces"  // the module go.mod replaced with this one
	propDir       = "slsabox:dir"       // a replacement by a local directory (source)
	propGoVersion = "slsabox:goversion" // the Go toolchain that built a binary
	propPackage   = "slsabox:package"   // a Go binary's main package
	propGoModule  = "slsabox:gomodule"  // "main", "stdlib" or "dependency", in a Go binary
	propPath      = "slsabox:path"      // a binary's path inside an image
	propCommit    = "slsabox:commit"
	propRef       = "slsabox:ref"
	propSubdir    = "slsabox:subdir"
	propDirty     = "slsabox:dirty"
)

// schema16 is the $schema of a CycloneDX 1.6 JSON document.
const schema16 = "http://cyclonedx.org/schema/bom-1.6.schema.json"

func prop(name, value string) cdx.Property { return cdx.Property{Name: name, Value: value} }

func sha256Hashes(hex string) *[]cdx.Hash {
	return &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: hex}}
}

// cycloneDX writes b as CycloneDX 1.6 JSON: metadata.component is the source
// commit, components the subjects (each with what it contains nested), the inputs
// and the vendored modules, formulation the builder image; dependencies say what
// the source was built with and what each Go binary links.
func cycloneDX(b *attest.Build, c config) ([]byte, error) {
	bom := cycloneDXBOM(b, c)
	// The serial number is a name-based UUID of the document without it: the same
	// build gives the same document, and two builds never share one.
	encode := func() ([]byte, error) {
		var buf bytes.Buffer
		if err := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON).Encode(bom); err != nil {
			return nil, fmt.Errorf("%w: encoding CycloneDX: %w", ErrInvalidSBOM, err)
		}
		return buf.Bytes(), nil
	}
	body, err := encode()
	if err != nil {
		return nil, err
	}
	bom.SerialNumber = "urn:uuid:" + uuid.NewSHA1(uuid.NameSpaceURL, body).String()
	return encode()
}

// cycloneDXBOM is the document of cycloneDX, without its serial number. It is
// encoded as it is, so it must be valid 1.6 as made: no field 1.6 lacks (what
// cyclonedx-go's conversion would strip) and no empty list (encoded as null, which
// the schema refuses); TestCycloneDXAsLibraryConverts checks both.
func cycloneDXBOM(b *attest.Build, c config) *cdx.BOM {
	// Made as 1.6 from the start and encoded as it is: EncodeVersion would first
	// deep-copy the whole document through encoding/gob to convert it, 12 ms in a
	// new process (the type descriptions) and 2 to 5 ms after, on every build.
	bom := &cdx.BOM{JSONSchema: schema16, BOMFormat: cdx.BOMFormat, SpecVersion: cdx.SpecVersion1_6, Version: 1}
	src := b.Source
	source := cdx.Component{
		BOMRef:  "source",
		Type:    cdx.ComponentTypeApplication,
		Name:    repoName(src.URI),
		Version: src.Commit,
		ExternalReferences: &[]cdx.ExternalReference{{
			Type: cdx.ERTypeVCS, URL: src.URI, Comment: "commit " + src.Commit,
		}},
		Properties: &[]cdx.Property{prop(propRole, "source"), prop(propCommit, src.Commit)},
	}
	if src.Ref != "" {
		*source.Properties = append(*source.Properties, prop(propRef, src.Ref))
	}
	if src.Path != "" {
		*source.Properties = append(*source.Properties, prop(propSubdir, src.Path))
	}
	if src.Dirty {
		*source.Properties = append(*source.Properties, prop(propDirty, "true"))
	}
	bom.Metadata = &cdx.Metadata{
		Timestamp: b.FinishedOn.UTC().Format(time.RFC3339),
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{
			Type: cdx.ComponentTypeApplication, Name: c.toolName, Version: c.toolVersion,
		}}},
		Component: &source,
	}

	var (
		comps     []cdx.Component
		deps      []cdx.Dependency
		sourceDep []string
	)
	for i, s := range b.Subjects {
		ref := fmt.Sprintf("subject:%d", i)
		sc := cdx.Component{BOMRef: ref, Type: cdx.ComponentTypeFile, Name: s.Name, Hashes: sha256Hashes(s.SHA256),
			Properties: &[]cdx.Property{prop(propRole, "subject")}}
		if s.Go != nil {
			sc.Type = cdx.ComponentTypeApplication
			nested, dep := goContents(ref, s.Go)
			*sc.Properties = append(*sc.Properties, goBinaryProps(s.Go)...)
			sc.Components = &nested
			deps = append(deps, dep)
		}
		if s.Image {
			sc.Type = cdx.ComponentTypeContainer
		}
		var bins []cdx.Component
		for k, cb := range s.Contains {
			bref := fmt.Sprintf("%s/binary:%d", ref, k)
			bc := cdx.Component{BOMRef: bref, Type: cdx.ComponentTypeApplication, Name: cb.Path, Hashes: sha256Hashes(cb.SHA256),
				Properties: &[]cdx.Property{prop(propRole, "contained"), prop(propPath, cb.Path)}}
			*bc.Properties = append(*bc.Properties, goBinaryProps(&cb.Go)...)
			nested, dep := goContents(bref, &cb.Go)
			bc.Components = &nested
			deps = append(deps, dep)
			bins = append(bins, bc)
		}
		if bins != nil {
			sc.Components = &bins
		}
		comps = append(comps, sc)
	}
	for i, in := range b.Inputs {
		ref := fmt.Sprintf("input:%d", i)
		sourceDep = append(sourceDep, ref)
		comps = append(comps, inputComponent(ref, in))
	}
	for i, m := range b.Vendored {
		ref := fmt.Sprintf("vendored:%d", i)
		sourceDep = append(sourceDep, ref)
		mc := moduleComponent(ref, m, "vendored")
		comps = append(comps, mc)
	}
	imgHex := trimSHA256(b.Image.Digest)
	builder := cdx.Component{
		BOMRef: "builder", Type: cdx.ComponentTypeContainer, Name: b.Image.Ref, Version: b.Image.Digest,
		Hashes:     sha256Hashes(imgHex),
		Properties: &[]cdx.Property{prop(propRole, "builder")},
	}
	if b.Image.Platform != "" {
		*builder.Properties = append(*builder.Properties, prop("slsabox:platform", b.Image.Platform))
	}
	bom.Formulation = &[]cdx.Formula{{BOMRef: "formula", Components: &[]cdx.Component{builder}}}
	bom.Components = nonEmpty(comps)
	deps = append([]cdx.Dependency{{Ref: "source", Dependencies: nonEmpty(sourceDep)}}, deps...)
	bom.Dependencies = &deps
	return bom
}

// nonEmpty is s for an optional list of the document: nil (left out) when empty,
// since encoding/json writes a pointer to an empty or nil slice as [] or null.
func nonEmpty[T any](s []T) *[]T {
	if len(s) == 0 {
		return nil
	}
	return &s
}

func trimSHA256(d string) string {
	if len(d) > 7 && d[:7] == "sha256:" {
		return d[7:]
	}
	return d
}

func goBinaryProps(g *attest.GoBinary) []cdx.Property {
	return []cdx.Property{prop(propGoVersion, g.GoVersion), prop(propPackage, g.Package)}
}

// goContents are the modules a Go binary holds (its main module, the standard
// library, every dependency), as components nested under the binary, and the
// dependency entry saying the binary links them.
func goContents(parent string, g *attest.GoBinary) ([]cdx.Component, cdx.Dependency) {
	var out []cdx.Component
	main := moduleComponent(parent+"/main", g.Main, "contained")
	*main.Properties = append(*main.Properties, prop(propGoModule, "main"))
	out = append(out, main)
	if g.GoVersion != "" {
		out = append(out, cdx.Component{BOMRef: parent + "/stdlib", Type: cdx.ComponentTypeLibrary, Name: "stdlib",
			Version: g.GoVersion, PackageURL: stdlibPURL(g.GoVersion),
			Properties: &[]cdx.Property{prop(propRole, "contained"), prop(propGoModule, "stdlib")}})
	}
	for k, m := range g.Deps {
		mc := moduleComponent(fmt.Sprintf("%s/dep:%d", parent, k), m, "contained")
		*mc.Properties = append(*mc.Properties, prop(propGoModule, "dependency"))
		out = append(out, mc)
	}
	refs := make([]string, 0, len(out))
	for _, m := range out {
		refs = append(refs, m.BOMRef)
	}
	return out, cdx.Dependency{Ref: parent, Dependencies: &refs}
}

// moduleComponent is a Go module as linked or vendored.
func moduleComponent(ref string, m attest.Module, role string) cdx.Component {
	mc := cdx.Component{BOMRef: ref, Type: cdx.ComponentTypeLibrary, Name: m.Path, Version: m.Version,
		PackageURL: goPURL(m.Path, m.Version), Properties: &[]cdx.Property{prop(propRole, role)}}
	if m.Sum != "" {
		*mc.Properties = append(*mc.Properties, prop(propGoSum, m.Sum))
	}
	if m.Replaces != "" {
		*mc.Properties = append(*mc.Properties, prop(propReplaces, m.Replaces))
	}
	if m.Dir != "" {
		*mc.Properties = append(*mc.Properties, prop(propDir, m.Dir))
	}
	return mc
}

// inputComponent is a declared input: a Go module (its go.sum hash as a property:
// h1 is not a hash of any file the SBOM could name), a module's go.mod alone, or a
// file fetched from a URL with its sha256.
func inputComponent(ref string, in attest.Input) cdx.Component {
	if path, version, goModOnly, ok := goModInput(in); ok {
		mc := moduleComponent(ref, attest.Module{Path: path, Version: version, Sum: in.GoSum}, "input")
		if goModOnly {
			mc.Type = cdx.ComponentTypeFile
			mc.Name = path + "@" + version + "/go.mod"
			mc.PackageURL = in.URI
			mc.Description = "the module's go.mod only: read for the module graph, no code of it was fetched"
			*mc.Properties = append(*mc.Properties, prop(propGoModOnly, "true"))
		}
		return mc
	}
	ic := cdx.Component{BOMRef: ref, Type: cdx.ComponentTypeFile, Name: in.Name,
		Properties: &[]cdx.Property{prop(propRole, "input")}}
	if h := in.Digest["sha256"]; h != "" {
		ic.Hashes = sha256Hashes(h)
	}
	if in.URI != "" {
		ic.ExternalReferences = &[]cdx.ExternalReference{{Type: cdx.ERTypeDistribution, URL: in.URI}}
	}
	return ic
}
