package builder

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/reference"
	"github.com/slsabox/slsabox/internal/hint"
	"gopkg.in/yaml.v3"
)

// Definition is a parsed and validated slsabox.yaml.
type Definition struct {
	File    string   // path the definition was read from, as given
	Digest  string   // sha256 (hex) of the file's bytes
	Raw     []byte   // the file's bytes, recorded in the provenance
	Version int      // always 1
	Image   ImageRef // the builder image, pinned by digest
	Inputs  []Input  // declared inputs, fetched outside the sandbox
	Steps   []Step   // run in order, one container each
	Outputs []string // glob patterns under /out; "**" matches any number of directories
	Limits  Limits
}

// ImageRef names a builder image by digest, either in a registry or in a local OCI archive.
type ImageRef struct {
	Raw     string // as written in slsabox.yaml
	Name    string // registry reference without the digest ("docker.io/library/golang:1.26"); empty for archives
	Archive string // absolute path of the OCI archive; empty for registry images
	Digest  string // "sha256:<64 hex>": the manifest (or index) digest
}

// Input is a dependency fetched by the control plane and mounted read-only at /inputs.
type Input struct {
	URL    string // with SHA256
	SHA256 string
	GoMod  string // path of a go.sum, relative to the source
}

// Step is one command run in its own container.
type Step struct {
	Name string
	Run  []string
	Env  []EnvVar // in the order written
}

// EnvVar is one NAME=value pair.
type EnvVar struct{ Name, Value string }

// Limits bound every step's resources.
type Limits struct {
	Memory     int64         // bytes, memory+swap
	Pids       int64         // processes and threads
	Timeout    time.Duration // per step
	OutputSize int64         // bytes, all of /out together
}

// DefaultLimits apply where slsabox.yaml says nothing.
var DefaultLimits = Limits{
	Memory:     2 << 30,
	Pids:       1024,
	Timeout:    20 * time.Minute,
	OutputSize: 4 << 30,
}

// DefinitionError points at the offending line of slsabox.yaml and says how to fix it.
type DefinitionError struct {
	File string
	Line int // 0 when the problem is the file as a whole
	Msg  string
	Fix  string
}

func (e *DefinitionError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}

func (e *DefinitionError) Unwrap() error { return ErrInvalidDefinition }
func (e *DefinitionError) Hint() string  { return e.Fix }

// LoadDefinition reads and validates the build definition of the source directory
// dir: file, or dir/slsabox.yaml when file is "". A file inside dir is part of the
// source and is opened inside dir, so that a committed symlink cannot make slsabox
// read a host file; one outside dir is the user's own. Either must be a regular file
// of at most MaxDefinitionSize bytes.
func LoadDefinition(dir, file string) (*Definition, error) {
	if file == "" {
		file = filepath.Join(dir, "slsabox.yaml")
	}
	var (
		data []byte
		err  error
	)
	if rel, inside := relInside(dir, file); inside {
		data, err = readSourceFile(dir, rel, MaxDefinitionSize)
	} else if top, rel, inRepo := inRepository(dir, file); inRepo {
		// Elsewhere in the same repository (-f ci/slsabox.yaml for the source app/): still
		// the commit's, so still opened inside it.
		data, err = readSourceFile(top, rel, MaxDefinitionSize)
	} else {
		data, err = readUserFile(file, MaxDefinitionSize)
	}
	if err != nil {
		switch {
		case errors.Is(err, os.ErrNotExist):
			return nil, &DefinitionError{File: file, Msg: "no build definition found",
				Fix: "create slsabox.yaml in the source directory (see docs/config.md) or point at one with -f FILE"}
		case errors.Is(err, errLeavesRoot), errors.Is(err, errNotRegular), errors.Is(err, errTooLarge):
			return nil, &DefinitionError{File: file, Msg: "the build definition " + strings.TrimPrefix(err.Error(), rel(dir, file)+" "),
				Fix: fmt.Sprintf("commit slsabox.yaml itself, a regular file of at most %s, not a symlink to something outside the source", FormatSize(MaxDefinitionSize))}
		}
		return nil, &DefinitionError{File: file, Msg: err.Error(), Fix: "check the file's permissions"}
	}
	return ParseDefinition(file, data)
}

func rel(dir, file string) string {
	if r, ok := relInside(dir, file); ok {
		return r
	}
	return file
}

// relInside says whether file lies inside dir (both taken from the current
// directory) and gives its path relative to dir.
func relInside(dir, file string) (string, bool) {
	ad, err1 := filepath.Abs(dir)
	af, err2 := filepath.Abs(file)
	if err1 != nil || err2 != nil {
		return "", false
	}
	r, err := filepath.Rel(ad, af)
	if err != nil || r == "." || r == ".." || strings.HasPrefix(r, "../") {
		return "", false
	}
	return r, true
}

// inRepository says whether file lies in the git work tree that holds dir (the
// nearest directory above dir with a .git entry), and gives that top directory and
// file's path inside it. Both paths are compared with their directories' symlinks
// resolved, so that another spelling of the same place counts as inside.
func inRepository(dir, file string) (string, string, bool) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", "", false
	}
	if r, err := filepath.EvalSymlinks(d); err == nil {
		d = r
	}
	af, err := filepath.Abs(file)
	if err != nil {
		return "", "", false
	}
	if r, err := filepath.EvalSymlinks(filepath.Dir(af)); err == nil {
		af = filepath.Join(r, filepath.Base(af))
	}
	for top := d; ; top = filepath.Dir(top) {
		if _, err := os.Lstat(filepath.Join(top, ".git")); err == nil {
			rel, inside := relInside(top, af)
			return top, rel, inside
		}
		if filepath.Dir(top) == top {
			return "", "", false
		}
	}
}

var (
	digestRE  = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	hexRE     = regexp.MustCompile(`^[0-9a-f]{64}$`)
	stepRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
	envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// reservedEnv is set by the builder itself; a step may not override it.
var reservedEnv = []string{"HOME", "SOURCE_DATE_EPOCH"}

// ParseDefinition validates data as the content of file. The file name is used in
// error messages and to resolve relative oci-archive paths.
func ParseDefinition(file string, data []byte) (*Definition, error) {
	def, err := parseDefinition(file, data)
	if err != nil {
		return nil, boundDefinitionErr(err)
	}
	return def, nil
}

// boundDefinitionErr keeps the file's content out of an error beyond the offending
// token, cut short (boundMsg): slsabox.yaml may be a hostile commit's.
func boundDefinitionErr(err error) error {
	var de *DefinitionError
	if errors.As(err, &de) {
		de.Msg, de.Fix = boundMsg(de.Msg), boundQuotes(de.Fix)
		return de
	}
	return &boundedError{err}
}

// boundedError is err with its message and hint bounded by boundMsg.
type boundedError struct{ err error }

func (e *boundedError) Error() string { return boundMsg(e.err.Error()) }
func (e *boundedError) Unwrap() error { return e.err }
func (e *boundedError) Hint() string  { return boundQuotes(hint.Of(e.err)) }

func parseDefinition(file string, data []byte) (*Definition, error) {
	p := &defParser{file: file}
	sum := sha256.Sum256(data)
	def := &Definition{File: file, Digest: hex.EncodeToString(sum[:]), Raw: data, Limits: DefaultLimits}

	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, p.yamlErr(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, p.fail(&extra, "the file holds more than one YAML document", "remove the '---' line and everything after it, or merge the documents")
	} else if !errors.Is(err, io.EOF) {
		return nil, p.yamlErr(err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, p.fail(nil, "the file is empty", "start from the example in docs/config.md")
	}
	root := doc.Content[0]
	if err := p.mapping(root, "the top level", map[string]func(*yaml.Node) error{
		"version": func(n *yaml.Node) error { return p.version(n, def) },
		"image":   func(n *yaml.Node) error { return p.image(n, def) },
		"inputs":  func(n *yaml.Node) error { return p.inputs(n, def) },
		"steps":   func(n *yaml.Node) error { return p.steps(n, def) },
		"outputs": func(n *yaml.Node) error { return p.outputs(n, def) },
		"limits":  func(n *yaml.Node) error { return p.limits(n, def) },
	}, "version", "image", "steps", "outputs"); err != nil {
		return nil, err
	}
	return def, nil
}

type defParser struct{ file string }

func (p *defParser) fail(n *yaml.Node, msg, fix string) error {
	e := &DefinitionError{File: p.file, Msg: msg, Fix: fix}
	if n != nil {
		e.Line = n.Line
	}
	return e
}

var yamlLineRE = regexp.MustCompile(`line (\d+): (.*)`)

func (p *defParser) yamlErr(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &DefinitionError{File: p.file, Msg: "not valid YAML: " + msg,
		Fix: "fix the YAML syntax at that line (indentation, quotes, a missing colon)"}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = "not valid YAML: " + m[2]
	}
	return e
}

// mapping checks that n is a mapping whose keys are all known and unique, calls the
// handler of each key, and reports required keys that are missing.
func (p *defParser) mapping(n *yaml.Node, what string, handlers map[string]func(*yaml.Node) error, required ...string) error {
	if n.Kind != yaml.MappingNode {
		return p.fail(n, fmt.Sprintf("%s must be a mapping (key: value lines)", what), "see docs/config.md for the layout")
	}
	known := make([]string, 0, len(handlers))
	for k := range handlers {
		known = append(known, k)
	}
	slices.Sort(known)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return p.fail(k, fmt.Sprintf("%s: keys must be plain words", what), "use one of: "+strings.Join(known, ", "))
		}
		h, ok := handlers[k.Value]
		if !ok {
			fix := "known keys here are: " + strings.Join(known, ", ")
			if s := closest(k.Value, known); s != "" {
				fix = fmt.Sprintf("did you mean %q? ", s) + fix
			}
			return p.fail(k, fmt.Sprintf("unknown key %q in %s", k.Value, what), fix)
		}
		if seen[k.Value] {
			return p.fail(k, fmt.Sprintf("key %q appears twice in %s", k.Value, what), "keep one of them")
		}
		seen[k.Value] = true
		if err := h(v); err != nil {
			return err
		}
	}
	for _, r := range required {
		if !seen[r] {
			return p.fail(n, fmt.Sprintf("%s is missing the required key %q", what, r), "see docs/config.md for an example")
		}
	}
	return nil
}

func (p *defParser) scalar(n *yaml.Node, what string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", p.fail(n, fmt.Sprintf("%s must be a single value", what), "write it on one line after the colon")
	}
	return n.Value, nil
}

func (p *defParser) version(n *yaml.Node, def *Definition) error {
	v, err := p.scalar(n, "version")
	if err != nil {
		return err
	}
	if v != "1" {
		return p.fail(n, fmt.Sprintf("unsupported version %q", v), "write version: 1 (the only version this slsabox reads)")
	}
	def.Version = 1
	return nil
}

func (p *defParser) image(n *yaml.Node, def *Definition) error {
	v, err := p.scalar(n, "image")
	if err != nil {
		return err
	}
	ref, err := ParseImageRef(v, filepath.Dir(p.file))
	if err != nil {
		return p.fail(n, strings.TrimSuffix(err.Error(), ": "+ErrInvalidDefinition.Error()), hint.Of(err))
	}
	def.Image = ref
	return nil
}

// ParseImageRef parses "NAME@sha256:HEX" or "oci-archive:PATH@sha256:HEX". A relative
// archive path is taken relative to baseDir (the directory holding slsabox.yaml).
func ParseImageRef(s, baseDir string) (ImageRef, error) {
	ref := ImageRef{Raw: s}
	at := strings.LastIndex(s, "@")
	if at < 0 {
		return ref, hint.Wrapf(fmt.Errorf("image %q is not pinned by digest: %w", s, ErrInvalidDefinition),
			"append the manifest digest, e.g. NAME@sha256:<64 hex> (slsabox image import prints it for archives)")
	}
	name, dgst := s[:at], s[at+1:]
	if !digestRE.MatchString(dgst) {
		return ref, hint.Wrapf(fmt.Errorf("image digest %q is not sha256:<64 lowercase hex>: %w", dgst, ErrInvalidDefinition),
			"copy the digest exactly as the registry or slsabox image import prints it")
	}
	ref.Digest = dgst
	if rest, ok := strings.CutPrefix(name, "oci-archive:"); ok {
		if rest == "" {
			return ref, hint.Wrapf(fmt.Errorf("image %q names no archive file: %w", s, ErrInvalidDefinition),
				"write oci-archive:PATH@sha256:<digest>")
		}
		if !filepath.IsAbs(rest) {
			rest = filepath.Join(baseDir, rest)
		}
		abs, err := filepath.Abs(rest)
		if err != nil {
			return ref, fmt.Errorf("image archive path %q: %v: %w", rest, err, ErrInvalidDefinition)
		}
		ref.Archive = abs
		return ref, nil
	}
	if name == "" || strings.ContainsAny(name, " \t") || strings.Contains(name, "://") {
		return ref, hint.Wrapf(fmt.Errorf("image name %s is not a registry reference: %w", quoteToken(name), ErrInvalidDefinition),
			"write REGISTRY/REPOSITORY[:TAG]@sha256:<digest>, e.g. docker.io/library/golang:1.26@sha256:...")
	}
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		why := "" // the parser's own message quotes the whole name: say what is wrong in fixed words
		switch {
		case errors.Is(err, reference.ErrNameContainsUppercase):
			why = " (repository names are lowercase)"
		case errors.Is(err, reference.ErrNameTooLong):
			why = " (the name is too long)"
		case errors.Is(err, reference.ErrReferenceInvalidFormat), errors.Is(err, reference.ErrNameEmpty):
			why = " (invalid format)"
		}
		return ref, hint.Wrapf(fmt.Errorf("image name %s is not a registry reference%s: %w", quoteToken(name), why, ErrInvalidDefinition),
			"write REGISTRY/REPOSITORY[:TAG]@sha256:<digest>, e.g. docker.io/library/golang:1.26@sha256:...")
	}
	ref.Name = named.String() // golang:1.26 -> docker.io/library/golang:1.26
	return ref, nil
}

// String returns the reference as it appears in provenance.
func (r ImageRef) String() string {
	if r.Archive != "" {
		return "oci-archive:" + r.Archive + "@" + r.Digest
	}
	return r.Name + "@" + r.Digest
}

func (p *defParser) seq(n *yaml.Node, what string) error {
	if n.Kind != yaml.SequenceNode {
		return p.fail(n, what+" must be a list", "write each item on its own line starting with '- '")
	}
	return nil
}

func (p *defParser) inputs(n *yaml.Node, def *Definition) error {
	if n.Tag == "!!null" {
		return nil
	}
	if err := p.seq(n, "inputs"); err != nil {
		return err
	}
	for i, item := range n.Content {
		var in Input
		what := fmt.Sprintf("inputs[%d]", i)
		var err error
		if err := p.mapping(item, what, map[string]func(*yaml.Node) error{
			"url":    func(v *yaml.Node) error { in.URL, err = p.scalar(v, what+".url"); return err },
			"sha256": func(v *yaml.Node) error { in.SHA256, err = p.scalar(v, what+".sha256"); return err },
			"gomod":  func(v *yaml.Node) error { in.GoMod, err = p.scalar(v, what+".gomod"); return err },
		}); err != nil {
			return err
		}
		switch {
		case in.GoMod != "" && (in.URL != "" || in.SHA256 != ""):
			return p.fail(item, what+" mixes gomod with url/sha256", "write a gomod input and a url input as two list items")
		case in.GoMod != "":
			if path.IsAbs(in.GoMod) || strings.HasPrefix(path.Clean(in.GoMod), "..") {
				return p.fail(item, fmt.Sprintf("%s.gomod %q is outside the source", what, in.GoMod), "name the go.sum relative to the source directory, e.g. gomod: go.sum")
			}
		case in.URL == "":
			return p.fail(item, what+" has neither url nor gomod", "write url: and sha256:, or gomod: go.sum")
		case !strings.HasPrefix(in.URL, "https://") && !strings.HasPrefix(in.URL, "http://"):
			return p.fail(item, fmt.Sprintf("%s.url %q is not an http(s) URL", what, in.URL), "use an https:// URL")
		case !hexRE.MatchString(in.SHA256):
			return p.fail(item, what+".sha256 must be 64 lowercase hex digits", "compute it with sha256sum FILE")
		}
		def.Inputs = append(def.Inputs, in)
	}
	return nil
}

func (p *defParser) steps(n *yaml.Node, def *Definition) error {
	if err := p.seq(n, "steps"); err != nil {
		return err
	}
	if len(n.Content) == 0 {
		return p.fail(n, "steps is empty", "add at least one step with name: and run:")
	}
	names := map[string]bool{}
	for i, item := range n.Content {
		what := fmt.Sprintf("steps[%d]", i)
		var st Step
		if err := p.mapping(item, what, map[string]func(*yaml.Node) error{
			"name": func(v *yaml.Node) error {
				s, err := p.scalar(v, what+".name")
				if err != nil {
					return err
				}
				if !stepRE.MatchString(s) {
					return p.fail(v, fmt.Sprintf("step name %q is not allowed", s), "use lowercase letters, digits, '.', '_' and '-', starting with a letter or digit")
				}
				if names[s] {
					return p.fail(v, fmt.Sprintf("two steps are named %q", s), "give every step its own name")
				}
				names[s] = true
				st.Name = s
				return nil
			},
			"run": func(v *yaml.Node) error {
				if v.Kind != yaml.SequenceNode {
					return p.fail(v, what+".run must be a list of arguments", `write run: [make, all] or run: [sh, -c, "make && make check"]`)
				}
				if len(v.Content) == 0 {
					return p.fail(v, what+".run is empty", "name the program to run and its arguments")
				}
				for _, a := range v.Content {
					s, err := p.scalar(a, what+".run item")
					if err != nil {
						return err
					}
					if strings.ContainsRune(s, 0) {
						return p.fail(a, what+".run has a NUL byte", "remove it")
					}
					st.Run = append(st.Run, s)
				}
				return nil
			},
			"env": func(v *yaml.Node) error {
				if v.Kind != yaml.MappingNode {
					return p.fail(v, what+".env must be a mapping", `write env: {CGO_ENABLED: "0"}`)
				}
				for j := 0; j+1 < len(v.Content); j += 2 {
					k, val := v.Content[j], v.Content[j+1]
					if !envNameRE.MatchString(k.Value) {
						return p.fail(k, fmt.Sprintf("environment variable name %q is not valid", k.Value), "use letters, digits and '_', not starting with a digit")
					}
					if slices.Contains(reservedEnv, k.Value) {
						return p.fail(k, fmt.Sprintf("%s is set by slsabox and cannot be overridden", k.Value), "remove it from env")
					}
					for _, e := range st.Env {
						if e.Name == k.Value {
							return p.fail(k, fmt.Sprintf("%q is set twice", k.Value), "keep one of them")
						}
					}
					s, err := p.scalar(val, k.Value)
					if err != nil {
						return err
					}
					st.Env = append(st.Env, EnvVar{k.Value, s})
				}
				return nil
			},
		}, "name", "run"); err != nil {
			return err
		}
		def.Steps = append(def.Steps, st)
	}
	return nil
}

func (p *defParser) outputs(n *yaml.Node, def *Definition) error {
	if err := p.seq(n, "outputs"); err != nil {
		return err
	}
	if len(n.Content) == 0 {
		return p.fail(n, "outputs is empty", `list what the build produces, e.g. outputs: ["/out/*"]`)
	}
	for _, item := range n.Content {
		s, err := p.scalar(item, "an outputs item")
		if err != nil {
			return err
		}
		if err := validPattern(s); err != nil {
			return p.fail(item, err.Error(), `patterns start with /out/, e.g. "/out/*" or "/out/**/*.tar.gz"`)
		}
		def.Outputs = append(def.Outputs, s)
	}
	return nil
}

func validPattern(s string) error {
	rest, ok := strings.CutPrefix(s, "/out/")
	if !ok || rest == "" {
		return fmt.Errorf("output pattern %q is not under /out/", s)
	}
	for _, seg := range strings.Split(rest, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("output pattern %q has an empty, '.' or '..' segment", s)
		}
		if seg == "**" {
			continue
		}
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("output pattern %q is malformed: %v", s, err)
		}
	}
	return nil
}

func (p *defParser) limits(n *yaml.Node, def *Definition) error {
	l := &def.Limits
	size := func(dst *int64, what string, lo int64) func(*yaml.Node) error {
		return func(v *yaml.Node) error {
			s, err := p.scalar(v, what)
			if err != nil {
				return err
			}
			b, err := ParseSize(s)
			if err != nil {
				return p.fail(v, fmt.Sprintf("limits.%s: %v", what, err), "write a size such as 512MiB or 2GiB")
			}
			if b < lo {
				return p.fail(v, fmt.Sprintf("limits.%s %s is below the minimum %s", what, s, FormatSize(lo)), "raise it")
			}
			*dst = b
			return nil
		}
	}
	return p.mapping(n, "limits", map[string]func(*yaml.Node) error{
		"memory":      size(&l.Memory, "memory", 16<<20),
		"output_size": size(&l.OutputSize, "output_size", 1),
		"pids": func(v *yaml.Node) error {
			s, err := p.scalar(v, "pids")
			if err != nil {
				return err
			}
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 8 {
				return p.fail(v, fmt.Sprintf("limits.pids %q must be a whole number of at least 8", s), "write e.g. pids: 1024")
			}
			l.Pids = n
			return nil
		},
		"timeout": func(v *yaml.Node) error {
			s, err := p.scalar(v, "timeout")
			if err != nil {
				return err
			}
			d, err := time.ParseDuration(s)
			if err != nil || d <= 0 {
				return p.fail(v, fmt.Sprintf("limits.timeout %q is not a positive duration", s), "write e.g. timeout: 20m or timeout: 90s")
			}
			l.Timeout = d
			return nil
		},
	})
}

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40},
	{"B", 1},
}

// ParseSize reads "512MiB", "2GiB", "1G" (binary), "1GB" (decimal) or a byte count.
func ParseSize(s string) (int64, error) {
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range sizeUnits {
		if rest, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}

// FormatSize prints bytes with the largest binary unit that fits: "2GiB", "308.9MiB".
func FormatSize(b int64) string {
	for _, u := range []struct {
		s string
		m int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if b >= u.m {
			if b%u.m == 0 {
				return fmt.Sprintf("%d%s", b/u.m, u.s)
			}
			return fmt.Sprintf("%.1f%s", float64(b)/float64(u.m), u.s)
		}
	}
	return fmt.Sprintf("%dB", b)
}

// closest returns the known word within edit distance 2 of s, if any.
func closest(s string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(s, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
