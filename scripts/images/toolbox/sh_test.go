package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestShell(t *testing.T) {
	bin := binDir(t)
	dir := t.TempDir()
	for _, tt := range []struct {
		name   string
		args   []string
		stdin  string
		out    string
		errHas string
		code   int
	}{
		{"builtins", []string{"-c", "echo hi; printf '%s.' a b; echo"}, "", "hi\na.b.\n", "", 0},
		{"params", []string{"-c", `echo "$0 $1 $#"`, "name", "one", "two"}, "", "name one 2\n", "", 0},
		{"pipe of real processes", []string{"-c", "printf 'b\\na\\nb\\n' | sort -u | grep -v x"}, "", "a\nb\n", "", 0},
		{"command substitution", []string{"-c", `x=$(id -u); test "$x" = "$(id -u)" && echo same`}, "", "same\n", "", 0},
		{"group and redirect", []string{"-c", "{ echo a; echo b; } > f && cat f"}, "", "a\nb\n", "", 0},
		{"exit status", []string{"-c", "exit 3"}, "", "", "", 3},
		{"last status", []string{"-c", "false"}, "", "", "", 1},
		{"not found", []string{"-c", "nosuchcmd"}, "", "", "nosuchcmd", 127},
		{"set -e", []string{"-e", "-c", "false; echo not reached"}, "", "", "", 1},
		{"syntax error", []string{"-c", "if then"}, "", "", "sh: ", 2},
		{"stdin script", nil, "echo from stdin", "from stdin\n", "", 0},
		{"redirect failure", []string{"-c", "echo x > /no/such/dir/f"}, "", "", "no such file or directory", 1},
		{"functions and loops", []string{"-c", "f() { for i in 1 2 3; do echo $i; done; }; f | wc -l"}, "", "3\n", "", 0},
		{"background and wait", []string{"-c", "sleep 0.1 & wait; echo done"}, "", "done\n", "", 0},
		{"killed by a signal", []string{"-c", "sh -c 'kill -9 $$'"}, "", "", "", 137},
		{"exec", []string{"-c", "exec sh -c 'exit 7'"}, "", "", "", 7},
		{"env applet", []string{"-c", "A=1 env | grep ^A="}, "", "A=1\n", "", 0},
		// echo is printed by printf, one write per line (TestShellForks).
		{"echo words", []string{"-c", "echo a  b '%s' c"}, "", "a b %s c\n", "", 0},
		{"echo -n", []string{"-c", "echo -n a; echo -n; echo b"}, "", "ab\n", "", 0},
		{"echo -e", []string{"-c", `echo -e 'a\tb'; echo -E 'a\tb'; echo 'a\tb'`}, "", "a\tb\na\\tb\na\\tb\n", "", 0},
		{"echo nothing", []string{"-c", "echo"}, "", "\n", "", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := shell(t, bin, dir, tt.stdin, tt.args...)
			if out != tt.out || code != tt.code || !strings.Contains(errOut, tt.errHas) {
				t.Errorf("sh %q: exit %d, stdout %q, stderr %q; want %d %q %q", tt.args, code, out, errOut, tt.code, tt.out, tt.errHas)
			}
		})
	}
}

func TestShellFile(t *testing.T) {
	bin := binDir(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "s")
	write(t, script, "echo \"$0:$1\"\n")
	if out, errOut, code := shell(t, bin, dir, "", script, "arg"); code != 0 || out != script+":arg\n" {
		t.Errorf("sh FILE: %d %q %q", code, out, errOut)
	}
	if _, errOut, code := shell(t, bin, dir, "", filepath.Join(dir, "missing")); code != 1 || !strings.Contains(errOut, "no such file") {
		t.Errorf("sh MISSING: %d %q", code, errOut)
	}
}

// TestShellForks checks that a script's commands are processes of their own:
// sh -c recursion makes a tree of shells, as the sandbox's fork bomb test needs.
func TestShellForks(t *testing.T) {
	bin := binDir(t)
	dir := t.TempDir()
	// Each level starts two shells; 3 levels make 1+2+4+8 processes.
	write(t, filepath.Join(dir, "tree"), `echo $$ >> pids; [ "$1" -lt 3 ] || exit 0; n=$(($1+1)); sh tree $n & sh tree $n; wait`+"\n")
	start := time.Now()
	if _, errOut, code := shell(t, bin, dir, "", "tree", "0"); code != 0 {
		t.Fatalf("tree: %d %s", code, errOut)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "pids"))
	pids := map[string]bool{}
	for _, p := range strings.Fields(string(b)) {
		pids[p] = true
	}
	if len(pids) != 15 {
		t.Errorf("%d distinct shell pids, want 15 (took %s): %s", len(pids), time.Since(start), fmt.Sprint(pids))
	}
}

// TestShellBinaryPrintf mirrors the sandbox test's 32-bit step: printf writes
// binary bytes from octal escapes, chmod +x, exec.
func TestShellBinaryPrintf(t *testing.T) {
	bin := binDir(t)
	dir := t.TempDir()
	out, errOut, code := shell(t, bin, dir, "", "-c", `printf '\177ELF\001\000\377' > b && chmod +x b && cat b`)
	if code != 0 || out != "\x7fELF\x01\x00\xff" {
		t.Errorf("printf octal: %d %q %q", code, out, errOut)
	}
}
