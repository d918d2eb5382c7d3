package builder

import (
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/slsabox/slsabox/internal/hint"
	"gopkg.in/yaml.v3"
)

var (
	platformPartRE = lazyRegexp(`^[a-z0-9_]{1,32}$`)
	labelKeyRE     = lazyRegexp(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$`)
	userRE         = lazyRegexp(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,63})?$`)
)

func (p *defParser) images(n *yaml.Node, def *Definition) error {
	if n.Tag == "!!null" {
		return nil
	}
	if err := p.seq(n, "images"); err != nil {
		return err
	}
	dirs := map[string]string{}
	for i, item := range n.Content {
		what := fmt.Sprintf("images[%d]", i)
		img := OutputImage{Platform: Platform{OS: "linux", Architecture: "amd64"}}
		var base *yaml.Node
		if err := p.mapping(item, what, map[string]func(*yaml.Node) error{
			"name": func(v *yaml.Node) (err error) { img.Name, err = p.imageName(v, what); return err },
			"layout": func(v *yaml.Node) error {
				s, err := p.scalar(v, what+".layout")
				if err != nil {
					return err
				}
				if !underOut(s) {
					return p.fail(v, fmt.Sprintf("%s.layout %q is not a directory under /out", what, s), "name the OCI layout directory a step writes, e.g. layout: /out/image")
				}
				img.Layout = s
				return nil
			},
			"base": func(v *yaml.Node) error {
				base = v
				s, err := p.scalar(v, what+".base")
				if err != nil {
					return err
				}
				if s == "scratch" {
					return nil
				}
				ref, err := parseImageRef(s, filepath.Dir(p.file))
				if err != nil {
					msg := strings.TrimPrefix(err.Error(), ErrInvalidDefinition.Error()+": ")
					return p.fail(v, what+".base: "+msg, hint.Of(err))
				}
				img.Base = &ref
				return nil
			},
			"files":      func(v *yaml.Node) error { return p.imageFiles(v, what, &img) },
			"entrypoint": func(v *yaml.Node) (err error) { img.Entrypoint, err = p.args(v, what+".entrypoint"); return err },
			"cmd":        func(v *yaml.Node) (err error) { img.Cmd, err = p.args(v, what+".cmd"); return err },
			"env": func(v *yaml.Node) (err error) {
				img.Env, err = p.mapOfScalars(v, what+".env", envNameRE(), "use letters, digits and '_', not starting with a digit")
				return err
			},
			"user": func(v *yaml.Node) error {
				s, err := p.scalar(v, what+".user")
				if err != nil {
					return err
				}
				if !userRE().MatchString(s) {
					return p.fail(v, fmt.Sprintf("%s.user %s is not a user[:group]", what, quoteToken(s)), `write a numeric uid[:gid] such as user: "65532:65532"`)
				}
				img.User = s
				return nil
			},
			"workdir": func(v *yaml.Node) error {
				s, err := p.scalar(v, what+".workdir")
				if err != nil {
					return err
				}
				if !path.IsAbs(s) || path.Clean(s) != s {
					return p.fail(v, fmt.Sprintf("%s.workdir %s is not a clean absolute path", what, quoteToken(s)), "write e.g. workdir: /app")
				}
				img.WorkDir = s
				return nil
			},
			"labels": func(v *yaml.Node) error {
				env, err := p.mapOfScalars(v, what+".labels", labelKeyRE(), "label keys are letters, digits, '.', '_', '/' and '-', e.g. org.opencontainers.image.source")
				if err != nil {
					return err
				}
				img.Labels = map[string]string{}
				for _, e := range env {
					img.Labels[e.Name] = e.Value
				}
				return nil
			},
			"platform": func(v *yaml.Node) error {
				s, err := p.scalar(v, what+".platform")
				if err != nil {
					return err
				}
				parts := strings.Split(s, "/")
				if len(parts) < 2 || len(parts) > 3 || !all(parts, platformPartRE().MatchString) {
					return p.fail(v, fmt.Sprintf("%s.platform %s is not OS/ARCH[/VARIANT]", what, quoteToken(s)), "write e.g. platform: linux/amd64 or linux/arm64/v8")
				}
				img.Platform = Platform{OS: parts[0], Architecture: parts[1]}
				if len(parts) == 3 {
					img.Platform.Variant = parts[2]
				}
				return nil
			},
		}, "name"); err != nil {
			return err
		}
		assembled := len(img.Files) > 0 || img.Entrypoint != nil || img.Cmd != nil || img.Env != nil || img.User != "" ||
			img.WorkDir != "" || img.Labels != nil || base != nil
		switch {
		case img.Layout != "" && assembled:
			return p.fail(item, what+" has layout: and also says how to assemble an image (base, files, entrypoint, ...)",
				"keep layout: for an image a step wrote, or drop it to let slsabox assemble the image from files:")
		case img.Layout == "" && len(img.Files) == 0:
			return p.fail(item, what+" has neither layout: nor files:",
				"write layout: /out/DIR for an OCI layout a step writes, or files: [{src: /out/app, dst: /app}] to assemble one")
		}
		for _, other := range def.Images {
			if other.Name == img.Name {
				return p.fail(item, fmt.Sprintf("two images are named %q", img.Name), "give every image its own name")
			}
		}
		dir := imageDir(img.Name)
		if other, ok := dirs[dir]; ok {
			return p.fail(item, fmt.Sprintf("images %q and %q would be written to the same directory OUT/images/%s", other, img.Name, dir), "rename one of them")
		}
		dirs[dir] = img.Name
		def.Images = append(def.Images, img)
	}
	return nil
}

// imageDir is the directory under OUT/images that holds an image's layout.
func imageDir(name string) string { return strings.NewReplacer("/", "_", ":", "_").Replace(name) }

// imageName checks an image name: a registry and a repository, no tag, no digest.
func (p *defParser) imageName(v *yaml.Node, what string) (string, error) {
	s, err := p.scalar(v, what+".name")
	if err != nil {
		return "", err
	}
	const fix = "write REGISTRY/REPOSITORY, e.g. name: registry.example.com/acme/hello (tags are given at push time; the digest is the build's)"
	if strings.Contains(s, "@") {
		return "", p.fail(v, fmt.Sprintf("%s.name %s has a digest", what, quoteToken(s)), fix)
	}
	if i := strings.LastIndex(s, ":"); i > strings.LastIndex(s, "/") {
		return "", p.fail(v, fmt.Sprintf("%s.name %s has a tag", what, quoteToken(s)), fix)
	}
	repo, err := name.NewRepository(s, name.StrictValidation)
	// go-containerregistry names Docker Hub index.docker.io: docker.io/library/x is fine.
	if err == nil && strings.HasPrefix(s, "docker.io/") && repo.Name() == "index."+s {
		return s, nil
	}
	if err != nil || repo.Name() != s {
		why := "is not a valid repository name (lowercase letters, digits and separators; at least 2 characters a part)"
		if err == nil || !strings.ContainsAny(strings.SplitN(s, "/", 2)[0], ".:") && !strings.HasPrefix(s, "localhost/") {
			why = "does not start with a registry host"
		}
		if strings.ToLower(s) != s {
			why = "has uppercase letters (repository names are lowercase)"
		}
		return "", p.fail(v, fmt.Sprintf("%s.name %s %s", what, quoteToken(s), why), fix)
	}
	return s, nil
}

func (p *defParser) imageFiles(v *yaml.Node, what string, img *OutputImage) error {
	if err := p.seq(v, what+".files"); err != nil {
		return err
	}
	if len(v.Content) == 0 {
		return p.fail(v, what+".files is empty", "list the files of /out the image holds, e.g. files: [{src: /out/app, dst: /app}]")
	}
	seen := map[string]bool{}
	for j, it := range v.Content {
		w := fmt.Sprintf("%s.files[%d]", what, j)
		var f ImageFile
		if err := p.mapping(it, w, map[string]func(*yaml.Node) error{
			"src": func(n *yaml.Node) error {
				s, err := p.scalar(n, w+".src")
				if err != nil {
					return err
				}
				if !underOut(s) {
					return p.fail(n, fmt.Sprintf("%s.src %s is not a file under /out", w, quoteToken(s)), "name a file a step writes, e.g. src: /out/hello")
				}
				f.Src = s
				return nil
			},
			"dst": func(n *yaml.Node) error {
				s, err := p.scalar(n, w+".dst")
				if err != nil {
					return err
				}
				if !path.IsAbs(s) || path.Clean(s) != s || s == "/" || strings.ContainsRune(s, 0) {
					return p.fail(n, fmt.Sprintf("%s.dst %s is not a clean absolute path in the image", w, quoteToken(s)), "write e.g. dst: /usr/local/bin/hello")
				}
				f.Dst = s
				return nil
			},
			"mode": func(n *yaml.Node) error {
				s, err := p.scalar(n, w+".mode")
				if err != nil {
					return err
				}
				m, err := strconv.ParseUint(s, 8, 32)
				if err != nil || m == 0 || m > 0o777 {
					return p.fail(n, fmt.Sprintf("%s.mode %s is not an octal mode between 0001 and 0777", w, quoteToken(s)), `write e.g. mode: "0755" (no setuid, setgid or sticky bits)`)
				}
				f.Mode = fs.FileMode(m)
				return nil
			},
		}, "src", "dst"); err != nil {
			return err
		}
		if seen[f.Dst] {
			return p.fail(it, fmt.Sprintf("%s.dst %s is used twice", w, f.Dst), "give every file its own place in the image")
		}
		seen[f.Dst] = true
		img.Files = append(img.Files, f)
	}
	return nil
}

// args reads a list of strings (entrypoint, cmd).
func (p *defParser) args(v *yaml.Node, what string) ([]string, error) {
	if v.Kind != yaml.SequenceNode {
		return nil, p.fail(v, what+" must be a list of arguments", `write e.g. [/hello, --flag]`)
	}
	out := []string{}
	for _, a := range v.Content {
		s, err := p.scalar(a, what+" item")
		if err != nil {
			return nil, err
		}
		if strings.ContainsRune(s, 0) {
			return nil, p.fail(a, what+" has a NUL byte", "remove it")
		}
		out = append(out, s)
	}
	return out, nil
}

// mapOfScalars reads a mapping of unique keys matching keyRE to single values, in
// the order written.
func (p *defParser) mapOfScalars(v *yaml.Node, what string, keyRE *regexp.Regexp, keyFix string) ([]EnvVar, error) {
	if v.Kind != yaml.MappingNode {
		return nil, p.fail(v, what+" must be a mapping", "write KEY: value lines")
	}
	var out []EnvVar
	seen := map[string]bool{}
	for j := 0; j+1 < len(v.Content); j += 2 {
		k, val := v.Content[j], v.Content[j+1]
		if k.Kind != yaml.ScalarNode || !keyRE.MatchString(k.Value) {
			return nil, p.fail(k, fmt.Sprintf("%s: key %s is not valid", what, quoteToken(k.Value)), keyFix)
		}
		if seen[k.Value] {
			return nil, p.fail(k, fmt.Sprintf("%s: %q is set twice", what, k.Value), "keep one of them")
		}
		seen[k.Value] = true
		s, err := p.scalar(val, what+"."+k.Value)
		if err != nil {
			return nil, err
		}
		if strings.ContainsRune(s, 0) {
			return nil, p.fail(val, what+"."+k.Value+" has a NUL byte", "remove it")
		}
		out = append(out, EnvVar{k.Value, s})
	}
	return out, nil
}

// underOut says whether s is a clean path strictly below /out.
func underOut(s string) bool {
	rest, ok := strings.CutPrefix(s, "/out/")
	return ok && rest != "" && path.Clean(s) == s && !slices.Contains(strings.Split(rest, "/"), "..")
}

func all(ss []string, f func(string) bool) bool {
	for _, s := range ss {
		if !f(s) {
			return false
		}
	}
	return true
}
