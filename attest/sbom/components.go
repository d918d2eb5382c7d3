package sbom

import (
	"bytes"
	"fmt"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"
)

// Component is one row of an SBOM, as slsabox sbom show prints it.
type Component struct {
	Type    string // the format's own word: "library", "file", "container" (CycloneDX), "LIBRARY", "FILE" (SPDX)
	Name    string
	Version string
	// ID is the package URL, or else "sha256:HEX", or else "".
	ID string
	// Role: "source", "input", "vendored", "builder", "subject", or "contained in
	// SUBJECT" (SUBJECT ">" PATH for a binary inside an image); "" when the SBOM does
	// not say (one slsabox did not write).
	Role string
}

// maxPredicateSize bounds the predicate Components reads.
const maxPredicateSize = 64 << 20

// Components reads the rows of an SBOM predicate of either format, in document
// order (for SPDX, the order of its packages). It checks the format, not the content.
func Components(predicateType string, predicate []byte) ([]Component, error) {
	if len(predicate) > maxPredicateSize {
		return nil, fmt.Errorf("%w: the predicate is larger than %d bytes", ErrInvalidSBOM, maxPredicateSize)
	}
	switch predicateType {
	case PredicateCycloneDX:
		return cdxComponents(predicate)
	case PredicateSPDX:
		return spdxComponents(predicate)
	}
	return nil, fmt.Errorf("%w: predicate type %.100q is no SBOM: want %s or %s", ErrInvalidSBOM, predicateType, PredicateCycloneDX, PredicateSPDX)
}

func cdxComponents(data []byte) ([]Component, error) {
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(data), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		return nil, fmt.Errorf("%w: not CycloneDX JSON: %w", ErrInvalidSBOM, err)
	}
	if bom.BOMFormat != cdx.BOMFormat {
		return nil, fmt.Errorf("%w: bomFormat is %.40q, not CycloneDX", ErrInvalidSBOM, bom.BOMFormat)
	}
	var out []Component
	var walk func(cs *[]cdx.Component, parent string)
	walk = func(cs *[]cdx.Component, parent string) {
		if cs == nil {
			return
		}
		for _, c := range *cs {
			row := cdxRow(c)
			if parent != "" {
				row.Role = "contained in " + parent
			}
			out = append(out, row)
			next := c.Name
			if parent != "" {
				next = parent + " > " + c.Name
			}
			walk(c.Components, next)
		}
	}
	if bom.Metadata != nil && bom.Metadata.Component != nil {
		walk(&[]cdx.Component{*bom.Metadata.Component}, "")
	}
	walk(bom.Components, "")
	if bom.Formulation != nil {
		for _, f := range *bom.Formulation {
			walk(f.Components, "")
		}
	}
	return out, nil
}

func cdxRow(c cdx.Component) Component {
	row := Component{Type: string(c.Type), Name: c.Name, Version: c.Version, ID: c.PackageURL}
	if row.ID == "" && c.Hashes != nil {
		for _, h := range *c.Hashes {
			if h.Algorithm == cdx.HashAlgoSHA256 {
				row.ID = "sha256:" + h.Value
			}
		}
	}
	if c.Properties != nil {
		for _, p := range *c.Properties {
			if p.Name == propRole && p.Value != "contained" {
				row.Role = p.Value
			}
		}
	}
	return row
}

func spdxComponents(data []byte) ([]Component, error) {
	var doc spdx.Document
	if err := spdxjson.ReadInto(bytes.NewReader(data), &doc); err != nil {
		return nil, fmt.Errorf("%w: not SPDX 2 JSON: %w", ErrInvalidSBOM, err)
	}
	if !strings.HasPrefix(doc.SPDXVersion, "SPDX-2.") {
		return nil, fmt.Errorf("%w: spdxVersion is %.40q, not SPDX-2.x", ErrInvalidSBOM, doc.SPDXVersion)
	}
	names := map[common.ElementID]string{}
	for _, p := range doc.Packages {
		if p != nil {
			names[p.PackageSPDXIdentifier] = p.PackageName
		}
	}
	// Roles follow from the relationships slsabox writes (see spdxDocument).
	role := map[common.ElementID]string{}
	parent := map[common.ElementID]common.ElementID{}
	var source common.ElementID
	for _, r := range doc.Relationships {
		if r == nil {
			continue
		}
		a, b := r.RefA.ElementRefID, r.RefB.ElementRefID
		switch r.Relationship {
		case common.TypeRelationshipDescribe:
			role[b] = "subject"
		case "GENERATED_FROM":
			role[b], source = "source", b
		case "BUILD_TOOL_OF":
			role[a] = "builder"
		case common.TypeRelationshipBuildDependencyOf:
			role[a] = "input"
		case common.TypeRelationshipContains:
			parent[b] = a
		}
	}
	var containedIn func(id common.ElementID, depth int) string
	containedIn = func(id common.ElementID, depth int) string {
		p, ok := parent[id]
		if !ok || depth > 8 {
			return ""
		}
		if up := containedIn(p, depth+1); up != "" {
			return up + " > " + names[p]
		}
		return names[p]
	}
	var out []Component
	for _, p := range doc.Packages {
		if p == nil {
			continue
		}
		row := Component{Type: p.PrimaryPackagePurpose, Name: p.PackageName, Version: p.PackageVersion, Role: role[p.PackageSPDXIdentifier]}
		for _, ref := range p.PackageExternalReferences {
			if ref != nil && ref.RefType == common.TypePackageManagerPURL {
				row.ID = ref.Locator
			}
		}
		if row.ID == "" {
			for _, c := range p.PackageChecksums {
				if c.Algorithm == common.SHA256 {
					row.ID = "sha256:" + c.Value
				}
			}
		}
		if par, ok := parent[p.PackageSPDXIdentifier]; ok && row.Role == "" {
			if par == source && source != "" {
				row.Role = "vendored"
			} else {
				row.Role = "contained in " + containedIn(p.PackageSPDXIdentifier, 0)
			}
		}
		out = append(out, row)
	}
	return out, nil
}
