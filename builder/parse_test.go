package builder

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slsabox/slsabox/internal/hint"
)

const validDef = `version: 1
image: oci-archive:images/go.tar@sha256:` + hex64 + `
steps:
  - name: build
    run: [go, build, -o, /out/hello, .]
    env: {CGO_ENABLED: "0"}
outputs: ["/out/*"]
limits: {memory: 512MiB, pids: 256, timeout: 90s, output_size: 1GiB, cpus: 1.5, log_size: 8MiB, disk: 10GiB}
sandbox: {runtime: gvisor}
`

const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseDefinitionValid(t *testing.T) {
	def, err := ParseDefinition("/p/slsabox.yaml", []byte(validDef))
	if err != nil {
		t.Fatal(err)
	}
	if def.Image.Archive != "/p/images/go.tar" || def.Image.Digest != "sha256:"+hex64 {
		t.Errorf("image = %+v", def.Image)
	}
	if len(def.Steps) != 1 || def.Steps[0].Name != "build" || len(def.Steps[0].Run) != 5 {
		t.Errorf("steps = %+v", def.Steps)
	}
	if def.Steps[0].Env[0] != (EnvVar{"CGO_ENABLED", "0"}) {
		t.Errorf("env = %+v", def.Steps[0].Env)
	}
	want := Limits{Memory: 512 << 20, Pids: 256, Timeout: 90 * time.Second, OutputSize: 1 << 30, CPUs: 1.5, LogSize: 8 << 20, Disk: 10 << 30}
	if def.Limits != want {
		t.Errorf("limits = %+v, want %+v", def.Limits, want)
	}
	if len(def.Digest) != 64 {
		t.Errorf("digest = %q", def.Digest)
	}
	if def.Runtime != RuntimeGVisor {
		t.Errorf("runtime = %q", def.Runtime)
	}
}

func TestParseDefinitionDefaults(t *testing.T) {
	def, err := ParseDefinition("slsabox.yaml", []byte("version: 1\nimage: reg.example/go:1@sha256:"+hex64+"\nsteps: [{name: a, run: [\"true\"]}]\noutputs: [\"/out/**\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if def.Limits != defaultLimits || def.Runtime != "" {
		t.Errorf("limits = %+v, runtime %q", def.Limits, def.Runtime)
	}
	if def.Image.Name != "reg.example/go:1" {
		t.Errorf("image name = %q", def.Image.Name)
	}
}

func TestParseDefinitionErrors(t *testing.T) {
	img := "image: x/y@sha256:" + hex64 + "\n"
	steps := "steps: [{name: a, run: [\"true\"]}]\n"
	outs := "outputs: [\"/out/*\"]\n"
	tests := []struct {
		name, yaml string
		line       int
		msg, fix   string
	}{
		{"empty", "", 0, "empty", "docs/config.md"},
		{"syntax", "version: 1\nsteps: [\n", 2, "not valid YAML", "syntax"},
		{"unknown key", "version: 1\n" + img + "stpes: []\n", 3, `unknown key "stpes"`, `did you mean "steps"`},
		{"missing image", "version: 1\n" + steps + outs, 1, `missing the required key "image"`, "docs/config.md"},
		{"version", "version: 2\n" + img + steps + outs, 1, `unsupported version "2"`, "version: 1"},
		{"no digest", "version: 1\nimage: golang:1.26\n" + steps + outs, 2, "not pinned by digest", "@sha256:"},
		{"short digest", "version: 1\nimage: golang@sha256:abc\n" + steps + outs, 2, "not sha256:<64", "digest"},
		{"no archive", "version: 1\nimage: oci-archive:@sha256:" + hex64 + "\n" + steps + outs, 2, "names no archive file", "oci-archive:PATH"},
		{"bad image name", "version: 1\nimage: \"a b@sha256:" + hex64 + "\"\n" + steps + outs, 2, "is not a registry reference", "REGISTRY/REPOSITORY"},
		{"run string", "version: 1\n" + img + "steps: [{name: a, run: make}]\n" + outs, 3, "must be a list", "run: [make"},
		{"bad step name", "version: 1\n" + img + "steps: [{name: Build!, run: [x]}]\n" + outs, 3, `step name "Build!"`, "lowercase"},
		{"dup step", "version: 1\n" + img + "steps:\n- {name: a, run: [x]}\n- {name: a, run: [y]}\n" + outs, 5, "two steps", "own name"},
		{"unknown step key", "version: 1\n" + img + "steps: [{name: a, run: [x], cmd: y}]\n" + outs, 3, `unknown key "cmd"`, "known keys"},
		{"reserved env", "version: 1\n" + img + "steps: [{name: a, run: [x], env: {HOME: /}}]\n" + outs, 3, "HOME is set by slsabox", "remove"},
		{"bad output", "version: 1\n" + img + steps + "outputs: [\"/etc/passwd\"]\n", 4, "not under /out/", "/out/"},
		{"dotdot output", "version: 1\n" + img + steps + "outputs: [\"/out/../x\"]\n", 4, "'..'", "/out/"},
		{"bad memory", "version: 1\n" + img + steps + outs + "limits: {memory: lots}\n", 5, "limits.memory", "512MiB"},
		{"tiny memory", "version: 1\n" + img + steps + outs + "limits: {memory: 1MiB}\n", 5, "below the minimum", "raise"},
		{"bad timeout", "version: 1\n" + img + steps + outs + "limits: {timeout: -1s}\n", 5, "limits.timeout", "20m"},
		{"bad pids", "version: 1\n" + img + steps + outs + "limits: {pids: 2}\n", 5, "limits.pids", "1024"},
		{"zero cpus", "version: 1\n" + img + steps + outs + "limits: {cpus: 0}\n", 5, "limits.cpus", "cpus: 0.5"},
		{"cpus not a number", "version: 1\n" + img + steps + outs + "limits: {cpus: two}\n", 5, "limits.cpus", "cpus: 2"},
		{"cpus NaN", "version: 1\n" + img + steps + outs + "limits: {cpus: NaN}\n", 5, "limits.cpus", "cpus: 2"},
		{"tiny log", "version: 1\n" + img + steps + outs + "limits: {log_size: 1KiB}\n", 5, "limits.log_size", "raise it"},
		{"tiny disk", "version: 1\n" + img + steps + outs + "limits: {disk: 1MiB}\n", 5, "limits.disk", "raise it"},
		{"unknown runtime", "version: 1\n" + img + steps + outs + "sandbox: {runtime: kata}\n", 5, `sandbox.runtime "kata"`, "runtime: gvisor"},
		{"unknown sandbox key", "version: 1\n" + img + steps + outs + "sandbox: {network: host}\n", 5, `unknown key "network"`, "known keys"},
		{"unknown limit", "version: 1\n" + img + steps + outs + "limits: {cpu: 2}\n", 5, `unknown key "cpu"`, "known keys"},
		{"input sha", "version: 1\n" + img + "inputs: [{url: https://x/y, sha256: abc}]\n" + steps + outs, 3, "sha256 must be 64", "sha256sum"},
		{"input http", "version: 1\n" + img + "inputs: [{url: ftp://x/y, sha256: " + hex64 + "}]\n" + steps + outs, 3, "not an http(s) URL", "https://"},
		{"input gomod abs", "version: 1\n" + img + "inputs: [{gomod: /etc/go.sum}]\n" + steps + outs, 3, "outside the source", "relative"},
		{"dup key", "version: 1\nversion: 1\n" + img + steps + outs, 2, "appears twice", "keep one"},
		{"top level list", "- a\n", 1, "must be a mapping", "docs/config.md"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDefinition("slsabox.yaml", []byte(tt.yaml))
			if !errors.Is(err, ErrInvalidDefinition) {
				t.Fatalf("err = %v, want ErrInvalidDefinition", err)
			}
			var de *definitionError
			if !errors.As(err, &de) {
				t.Fatalf("err %T is not a *definitionError", err)
			}
			if de.line != tt.line {
				t.Errorf("line = %d, want %d (%v)", de.line, tt.line, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
			if !strings.Contains(hint.Of(err), tt.fix) {
				t.Errorf("hint %q does not say %q", hint.Of(err), tt.fix)
			}
			if !strings.HasPrefix(err.Error(), "slsabox.yaml") {
				t.Errorf("error %q does not name the file", err)
			}
			// The class is definitionError's to carry (errors.Is above), not part of its
			// message: an image error's class prefix must be cut off, not repeated.
			if strings.Contains(de.msg, ErrInvalidDefinition.Error()) {
				t.Errorf("message %q repeats the class", de.msg)
			}
		})
	}
}

func FuzzParseDefinition(f *testing.F) {
	f.Add([]byte(validDef))
	f.Add([]byte("version: 1\nsteps: [{name: a, run: [x], env: {A: b}}]\n"))
	f.Add([]byte("limits: {memory: 1GiB}\ninputs: [{gomod: go.sum}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		def, err := ParseDefinition("slsabox.yaml", data)
		if err != nil {
			if !errors.Is(err, ErrInvalidDefinition) {
				t.Fatalf("error %v does not wrap ErrInvalidDefinition", err)
			}
			var de *definitionError
			if !errors.As(err, &de) || de.fix == "" {
				t.Fatalf("error %v has no fix", err)
			}
			return
		}
		// Whatever parses must be complete and safe to run.
		if def.Version != 1 || def.Image.Digest == "" || len(def.Steps) == 0 || len(def.Outputs) == 0 {
			t.Fatalf("accepted an incomplete definition: %+v", def)
		}
		for _, st := range def.Steps {
			if len(st.Run) == 0 || !stepRE().MatchString(st.Name) {
				t.Fatalf("accepted step %+v", st)
			}
		}
		for _, o := range def.Outputs {
			if validPattern(o) != nil {
				t.Fatalf("accepted output %q", o)
			}
		}
		if def.Limits.Memory < 16<<20 || def.Limits.Pids < 8 || def.Limits.Timeout <= 0 {
			t.Fatalf("accepted limits %+v", def.Limits)
		}
	})
}
