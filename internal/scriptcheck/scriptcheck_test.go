package scriptcheck

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRepositoryScripts is the CI check: every program the scripts call is on a
// fresh machine or installed by a script.
func TestRepositoryScripts(t *testing.T) {
	root := filepath.Join("..", "..")
	scripts := map[string][]byte{}
	for _, dir := range []string{"scripts", ".ci"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			src, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if strings.HasSuffix(p, ".sh") || strings.HasPrefix(string(src), "#!/usr/bin/env bash") || strings.HasPrefix(string(src), "#!/bin/sh") {
				rel, _ := filepath.Rel(root, p)
				scripts[filepath.ToSlash(rel)] = src
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(scripts) < 15 || scripts["scripts/test.sh"] == nil || scripts[".ci/run"] == nil {
		t.Fatalf("found only %d scripts: %v", len(scripts), keys(scripts))
	}
	for _, p := range Check(scripts, freshCommands(t)) {
		t.Error(p)
	}
}

func TestCheck(t *testing.T) {
	fresh := map[string]bool{"git": true, "tar": true, "ip": true, "dirname": true, "env": true, "timeout": true, "go": true,
		"ls": true, "sudo": true, "chroot": true, "xargs": true, "sh": true}
	lib := `apt_ensure() { :; }
helper() { git status; }
daemon_launch() { :; }
`
	tests := []struct {
		name   string
		script string
		want   []string // substrings of the problems, in order
	}{
		{"fresh program", "git log\ntar -cf x .\n", nil},
		{"missing program", "git log\nmmdebstrap bookworm x\n", []string{"a.sh:2: mmdebstrap is not on a fresh machine"}},
		{"installed first", "source \"$(dirname \"$0\")/lib/x.sh\"\napt_ensure mmdebstrap mmtarfilter:mmdebstrap\nmmdebstrap x; mmtarfilter <a >b\n", nil},
		{"function in sourced library", "source \"$(dirname \"$0\")/lib/x.sh\"\nhelper\n", nil},
		{"function of a library not sourced", "helper\n", []string{"a.sh:1: helper is not"}},
		{"wrapped by exec and env", "exec env A=1 -i cosign version\n", []string{"a.sh:1: cosign"}},
		{"wrapped by timeout", "timeout 5 act -l\n", []string{"a.sh:1: act"}},
		{"command -v only asks", "command -v act >/dev/null || echo no\n", nil},
		{"in a pipeline and a substitution", "x=$(jq .a f | yq .b)\n", []string{"a.sh:1: jq", "a.sh:1: yq"}},
		{"variable and path are not resolved", "\"$bin\" x\nscripts/rekor.sh start\n./run\n", nil},
		{"builtins", "set -e; local x; [[ -n $x ]]; printf '%s' x; read -r y <f\n", nil},
		{"env -u takes a name", "env -u GOFLAGS go version\n", nil},
		{"optional program", "# scriptcheck:optional sudo (the runner may have it)\nif command -v sudo; then sudo ls; fi\n", nil},
		{"sudo and chroot", "sudo -u nobody mmdebstrap x\nchroot /x cosign version\n", []string{"a.sh:1: mmdebstrap", "a.sh:2: cosign"}},
		{"xargs and timeout options with values", "xargs -n 1 git log </dev/null\ntimeout -s KILL 5 git log\n", nil},
		{"ip netns exec", "ip netns exec ns1 fulcio serve\n", []string{"a.sh:1: fulcio"}},
		{"daemon_launch", "source \"$(dirname \"$0\")/lib/x.sh\"\ndaemon_launch p.pid p.log fulcio serve\ndaemon_launch p.pid p.log env A=1 ip netns exec ns1 ctfe\n", []string{"a.sh:2: fulcio", "a.sh:3: ctfe"}},
		{"sh -c and eval", "sh -c 'git log | yq .a'\neval \"jq .x f\"\n", []string{"a.sh:1: yq", "a.sh:2: jq"}},
		{"unresolvable source", "source \"$lib\"\n", []string{"a.sh:1: cannot resolve the sourced file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Check(map[string][]byte{"scripts/a.sh": []byte(tt.script), "scripts/lib/x.sh": []byte(lib)}, fresh)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d: %v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i].String(), w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}

// An apt_ensure in any script makes the program available to every script: the
// suite runs the installing script first (scripts/test.sh), and apt_ensure is
// also what a script calls right before it needs the program.
func TestInstalledBySiblingScript(t *testing.T) {
	got := Check(map[string][]byte{
		"scripts/a.sh": []byte("apt_ensure() { :; }\napt_ensure shellcheck\n"),
		"scripts/b.sh": []byte("shellcheck x.sh\n"),
	}, map[string]bool{})
	if len(got) != 0 {
		t.Fatal(got)
	}
}

func TestParseError(t *testing.T) {
	got := Check(map[string][]byte{"scripts/a.sh": []byte("if then fi (\n")}, nil)
	if len(got) != 1 || !strings.Contains(got[0].Msg, "cannot parse") {
		t.Fatal(got)
	}
}

func freshCommands(t *testing.T) map[string]bool {
	f, err := os.Open(filepath.Join("testdata", "fresh-debian12.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			m[line] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(m) < 500 || !m["bash"] || !m["go"] || m["mmdebstrap"] {
		t.Fatalf("testdata/fresh-debian12.txt looks wrong: %d programs", len(m))
	}
	return m
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
