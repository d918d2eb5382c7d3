// Package scriptcheck finds the programs that the project's shell scripts call but
// that a fresh machine lacks and no script installs.
//
// CI runs on a clean clone, and a later machine has nothing that was installed by
// hand: a script that calls mmdebstrap without installing it passes on the machine
// of whoever wrote it and fails on the next one. [Check] parses every script with a
// real shell parser and accepts a command name only when it is a shell builtin, a
// function defined in the script or in a library it sources, a program on a fresh
// machine (a list taken from one, in testdata), or a program that some script
// installs through scripts/lib/apt.sh's apt_ensure. Command names that are not
// literal (a variable, a path) cannot be resolved statically and are left alone.
// A script that uses a program only when it is there (sudo on a CI runner) says so
// in a comment: "# scriptcheck:optional PROGRAM...".
package scriptcheck

import (
	"bytes"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Problem is one call of a program that nothing provides, or a script that
// cannot be read.
type Problem struct {
	File string // slash path, relative to the repository root
	Line uint
	Msg  string
}

func (p Problem) String() string { return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg) }

// installer is the function whose arguments, CMD or CMD:PACKAGE, name the programs
// a script installs.
const installer = "apt_ensure"

// wrappers run the command that follows their own options and skip leading
// operands (with_lock DIR CMD..., daemon_await PIDFILE TENTHS CMD...,
// daemon_launch PIDFILE LOG CMD...).
var wrappers = map[string]int{
	"exec": 0, "command": 0, "env": 0, "nohup": 0, "setsid": 0, "time": 0, "xargs": 0, "nice": 0,
	"sudo": 0, "as_root": 0, "unshare": 0, "nsenter": 0, "stdbuf": 0, "ionice": 0,
	"timeout": 1, "chroot": 1, "flock": 1, "with_lock": 1, "daemon_await": 2, "daemon_launch": 2, "in_ns": 0,
}

// valueOptions are the wrappers' options that take the next word as their value.
var valueOptions = map[string][]string{
	"env":     {"-u", "--unset", "-C", "--chdir", "-S", "--split-string"},
	"xargs":   {"-n", "-I", "-P", "-L", "-s", "-d", "-E", "-a"},
	"timeout": {"-s", "--signal", "-k", "--kill-after"},
	"sudo":    {"-u", "-g", "-C", "-D", "-h", "-p", "-U"},
	"nice":    {"-n"},
	"ionice":  {"-c", "-n", "-p"},
	"nsenter": {"-t", "--target"},
	"flock":   {"-w", "--timeout", "-E"},
}

// shells run their -c argument as a script, and eval its arguments: a literal
// script there is checked like the rest.
var shells = map[string]bool{"sh": true, "bash": true, "eval": true}

var builtins = setOf(`. : [ [[ alias bg bind break builtin caller cd command compgen complete
	compopt continue declare dirs disown echo enable eval exec exit export false fc fg getopts hash
	help history jobs kill let local logout mapfile popd printf pushd pwd read readarray readonly
	return set shift shopt source suspend test times trap true type typeset ulimit umask unalias
	unset wait`)

func setOf(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

type script struct {
	name    string
	file    *syntax.File
	funcs   map[string]bool
	sources []string // resolved paths of the libraries it sources
	calls   []call
}

type call struct {
	name string
	line uint
}

// Check parses scripts (slash path relative to the repository root -> content)
// and returns every call of a program that is not in fresh, not installed by
// any script's apt_ensure, not a builtin and not a function in scope.
func Check(scripts map[string][]byte, fresh map[string]bool) []Problem {
	var problems []Problem
	parsed := map[string]*script{}
	installed := map[string]bool{}
	for name, src := range scripts {
		f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(bytes.NewReader(src), name)
		if err != nil {
			problems = append(problems, Problem{name, 0, "cannot parse: " + err.Error()})
			continue
		}
		s := &script{name: name, file: f, funcs: map[string]bool{}}
		for _, line := range strings.Split(string(src), "\n") {
			if _, rest, ok := strings.Cut(line, "# scriptcheck:optional "); ok {
				for _, w := range strings.Fields(rest) {
					if strings.HasPrefix(w, "(") {
						break
					}
					s.funcs[w] = true // in scope, like a function of the script
				}
			}
		}
		walk(s, installed, &problems)
		parsed[name] = s
	}
	for _, s := range parsed {
		inScope := map[string]bool{}
		for _, lib := range libraries(s, parsed, map[string]bool{}) {
			for fn := range lib.funcs {
				inScope[fn] = true
			}
		}
		for _, c := range s.calls {
			if builtins[c.name] || inScope[c.name] || fresh[c.name] || installed[c.name] {
				continue
			}
			problems = append(problems, Problem{s.name, c.line, fmt.Sprintf(
				"%s is not on a fresh machine and no script installs it: add it to an %s call (scripts/lib/apt.sh) before its first use", c.name, installer)})
		}
	}
	sort.Slice(problems, func(i, j int) bool {
		if problems[i].File != problems[j].File {
			return problems[i].File < problems[j].File
		}
		return problems[i].Line < problems[j].Line
	})
	return problems
}

// libraries returns s and every script it sources, transitively.
func libraries(s *script, all map[string]*script, seen map[string]bool) []*script {
	if seen[s.name] {
		return nil
	}
	seen[s.name] = true
	out := []*script{s}
	for _, p := range s.sources {
		if lib := all[p]; lib != nil {
			out = append(out, libraries(lib, all, seen)...)
		}
	}
	return out
}

func walk(s *script, installed map[string]bool, problems *[]Problem) {
	syntax.Walk(s.file, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.FuncDecl:
			s.funcs[n.Name.Value] = true
		case *syntax.CallExpr:
			args := n.Args
			for len(args) > 0 {
				name, ok := literal(args[0])
				if !ok || strings.Contains(name, "/") {
					return true
				}
				line := args[0].Pos().Line()
				switch name {
				case "source", ".":
					if len(args) > 1 {
						s.sources = append(s.sources, sourced(s.name, args[1], problems))
					}
				case installer:
					for _, a := range args[1:] {
						if spec, ok := literal(a); ok {
							installed[strings.SplitN(spec, ":", 2)[0]] = true
						}
					}
				}
				s.calls = append(s.calls, call{name, line})
				if shells[name] {
					s.inline(name, args[1:], line)
					return true
				}
				if name == "ip" && len(args) > 3 { // ip netns exec NS CMD...
					if a, _ := literal(args[1]); a == "netns" {
						if b, _ := literal(args[2]); b == "exec" {
							args = args[4:]
							continue
						}
					}
				}
				skip, isWrapper := wrappers[name]
				if !isWrapper || (name == "command" && len(args) > 1 && isOption(args[1])) {
					return true
				}
				args = operands(name, args[1:], skip)
			}
		}
		return true
	})
}

// operands drops the wrapper's options, NAME=VALUE words (env) and its first skip
// operands, leaving the wrapped command.
func operands(wrapper string, args []*syntax.Word, skip int) []*syntax.Word {
	for len(args) > 0 {
		w, ok := literal(args[0])
		if ok && slices.Contains(valueOptions[wrapper], w) && len(args) > 1 { // env -u NAME, xargs -n 1
			args = args[2:]
			continue
		}
		if ok && (strings.HasPrefix(w, "-") || strings.Contains(w, "=") && !strings.HasPrefix(w, "=")) {
			args = args[1:]
			continue
		}
		if skip > 0 {
			args, skip = args[1:], skip-1
			continue
		}
		break
	}
	return args
}

// inline parses the literal script of sh -c SCRIPT or eval WORDS and records the
// calls in it, at the line of the shell command.
func (s *script) inline(shell string, args []*syntax.Word, line uint) {
	var src string
	if shell == "eval" {
		for _, a := range args {
			w, ok := literal(a)
			if !ok {
				return
			}
			src += w + " "
		}
	} else {
		for i := 0; i+1 < len(args); i++ {
			if w, _ := literal(args[i]); w == "-c" {
				if src, _ = literal(args[i+1]); src == "" {
					return
				}
				break
			}
		}
	}
	if src == "" {
		return
	}
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(src), s.name)
	if err != nil {
		return
	}
	inner := &script{name: s.name, file: f, funcs: s.funcs}
	walk(inner, map[string]bool{}, new([]Problem))
	for _, c := range inner.calls {
		s.calls = append(s.calls, call{c.name, line})
	}
}

func isOption(w *syntax.Word) bool {
	s, ok := literal(w)
	return ok && strings.HasPrefix(s, "-")
}

// sourced resolves the argument of source: the literal tail after the last
// expansion, relative to the script's directory ("$(dirname "$0")/lib/daemon.sh",
// "$images_dir/../lib/apt.sh" in a script of that directory).
func sourced(file string, w *syntax.Word, problems *[]Problem) string {
	tail := ""
	for _, part := range w.Parts {
		switch p := part.(type) {
		case *syntax.Lit:
			tail += p.Value
		case *syntax.SglQuoted:
			tail += p.Value
		case *syntax.DblQuoted:
			for _, q := range p.Parts {
				if lit, ok := q.(*syntax.Lit); ok {
					tail += lit.Value
				} else {
					tail = ""
				}
			}
		default:
			tail = ""
		}
	}
	if !strings.HasPrefix(tail, "/") {
		*problems = append(*problems, Problem{file, w.Pos().Line(), "cannot resolve the sourced file: write it as \"$(dirname \"$0\")/path\""})
		return ""
	}
	return path.Join(path.Dir(file), tail)
}

// literal returns the word's value when it has no expansions.
func literal(w *syntax.Word) (string, bool) {
	var b strings.Builder
	for _, part := range w.Parts {
		switch p := part.(type) {
		case *syntax.Lit:
			b.WriteString(p.Value)
		case *syntax.SglQuoted:
			b.WriteString(p.Value)
		case *syntax.DblQuoted:
			for _, q := range p.Parts {
				lit, ok := q.(*syntax.Lit)
				if !ok {
					return "", false
				}
				b.WriteString(lit.Value)
			}
		default:
			return "", false
		}
	}
	s := b.String()
	return s, s != "" && !slices.Contains([]string{"{", "}"}, s)
}
