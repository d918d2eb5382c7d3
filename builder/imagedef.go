package builder

import "io/fs"

// OutputImage is a container image the build produces (images: in slsabox.yaml). It
// comes from an OCI image layout a step wrote (Layout), or slsabox assembles it from
// files in /out (Files and the config fields), on top of Base or of nothing.
type OutputImage struct {
	Name   string // registry/repository, without tag or digest
	Layout string // "/out/DIR" when a step wrote the image; "" when assembled

	// Base, when set, is the image an assembled image starts from: an OCI archive
	// pinned by digest (a manifest, or an index resolved for Platform). nil is scratch.
	Base       *ImageRef
	Files      []ImageFile
	Entrypoint []string
	Cmd        []string
	Env        []EnvVar // in the order written
	User       string
	WorkDir    string
	Labels     map[string]string
	Platform   Platform // default linux/amd64
}

// ImageFile puts one file of /out into an assembled image.
type ImageFile struct {
	Src  string      // "/out/..."
	Dst  string      // absolute path in the image
	Mode fs.FileMode // permission bits; 0 means 0755 for an executable source, else 0644
}

// Platform is an OS and architecture, with an optional variant (linux/arm64/v8).
type Platform struct{ OS, Architecture, Variant string }

func (p Platform) String() string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}
