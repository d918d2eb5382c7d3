package builder

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slsabox/slsabox/internal/hint"
	"gopkg.in/yaml.v3"
)

// definitionError points at the offending line of slsabox.yaml and says how to fix it.
type definitionError struct {
	file string
	line int // 0 when the problem is the file as a whole
	msg  string
	fix  string
}

func (e *definitionError) Error() string {
	loc := e.file
	if e.line > 0 {
		loc = fmt.Sprintf("%s:%d", e.file, e.line)
	}
	return fmt.Sprintf("%s: %s", loc, e.msg)
}

func (e *definitionError) Unwrap() error { return ErrInvalidDefinition }
func (e *definitionError) Hint() string  { return e.fix }

var (
	hexRE     = lazyRegexp(`^[0-9a-f]{64}$`)
	stepRE    = lazyRegexp(`^[a-z0-9][a-z0-9._-]{0,62}$`)
	envNameRE = lazyRegexp(`^[A-Za-z_][A-Za-z0-9_]*$`)
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
	var de *definitionError
	if errors.As(err, &de) {
		de.msg, de.fix = boundMsg(de.msg), boundQuotes(de.fix)
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
	def := &Definition{File: file, Digest: hex.EncodeToString(sum[:]), Raw: data, Limits: defaultLimits}

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
		"images":  func(n *yaml.Node) error { return p.images(n, def) },
		"sandbox": func(n *yaml.Node) error { return p.sandbox(n, def) },
	}, "version", "image", "steps"); err != nil {
		return nil, err
	}
	if def.Outputs == nil && len(def.Images) == 0 {
		return nil, p.fail(root, `the top level is missing the required key "outputs"`, "see docs/config.md for an example")
	}
	return def, nil
}

type defParser struct{ file string }

func (p *defParser) fail(n *yaml.Node, msg, fix string) error {
	e := &definitionError{file: p.file, msg: msg, fix: fix}
	if n != nil {
		e.line = n.Line
	}
	return e
}

var yamlLineRE = lazyRegexp(`line (\d+): (.*)`)

func (p *defParser) yamlErr(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &definitionError{file: p.file, msg: "not valid YAML: " + msg,
		fix: "fix the YAML syntax at that line (indentation, quotes, a missing colon)"}
	if m := yamlLineRE().FindStringSubmatch(msg); m != nil {
		e.line, _ = strconv.Atoi(m[1])
		e.msg = "not valid YAML: " + m[2]
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
	ref, err := parseImageRef(v, filepath.Dir(p.file))
	if err != nil {
		// definitionError carries the class itself: keep only what follows it.
		msg := strings.TrimPrefix(err.Error(), ErrInvalidDefinition.Error()+": ")
		return p.fail(n, msg, hint.Of(err))
	}
	def.Image = ref
	return nil
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
		case !hexRE().MatchString(in.SHA256):
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
				if !stepRE().MatchString(s) {
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
					if !envNameRE().MatchString(k.Value) {
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
			return fmt.Errorf("output pattern %q is malformed: %w", s, err)
		}
	}
	return nil
}

// sandbox reads sandbox: {runtime: runc|gvisor}.
func (p *defParser) sandbox(n *yaml.Node, def *Definition) error {
	return p.mapping(n, "sandbox", map[string]func(*yaml.Node) error{
		"runtime": func(v *yaml.Node) error {
			s, err := p.scalar(v, "sandbox.runtime")
			if err != nil {
				return err
			}
			if s != RuntimeRunc && s != RuntimeGVisor {
				return p.fail(v, fmt.Sprintf("sandbox.runtime %q is not a runtime slsabox knows", s),
					"write runtime: runc (the default) or runtime: gvisor (steps under gVisor's user-space kernel, docs/config.md)")
			}
			def.Runtime = s
			return nil
		},
	})
}

func (p *defParser) limits(n *yaml.Node, def *Definition) error {
	l := &def.Limits
	size := func(dst *int64, what string, lo int64) func(*yaml.Node) error {
		return func(v *yaml.Node) error {
			s, err := p.scalar(v, what)
			if err != nil {
				return err
			}
			b, err := parseSize(s)
			if err != nil {
				return p.fail(v, fmt.Sprintf("limits.%s: %v", what, err), "write a size such as 512MiB or 2GiB")
			}
			if b < lo {
				return p.fail(v, fmt.Sprintf("limits.%s %s is below the minimum %s", what, s, formatSize(lo)), "raise it")
			}
			*dst = b
			return nil
		}
	}
	return p.mapping(n, "limits", map[string]func(*yaml.Node) error{
		"memory":      size(&l.Memory, "memory", 16<<20),
		"output_size": size(&l.OutputSize, "output_size", 1),
		"log_size":    size(&l.LogSize, "log_size", 64<<10),
		"disk":        size(&l.Disk, "disk", 64<<20),
		"cpus": func(v *yaml.Node) error {
			s, err := p.scalar(v, "cpus")
			if err != nil {
				return err
			}
			c, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(c) || c < 0.01 || c > 1024 {
				return p.fail(v, fmt.Sprintf("limits.cpus %q must be a number of CPUs from 0.01 to 1024", s), "write e.g. cpus: 2 or cpus: 0.5")
			}
			l.CPUs = c
			return nil
		},
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
