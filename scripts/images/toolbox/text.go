package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"mvdan.cc/sh/v3/expand"
)

// grep [-EFivqcnxwlsh] [-e PATTERN]... PATTERN|-e [FILE]...: patterns are POSIX
// basic regular expressions, extended ones with -E, fixed strings with -F, all
// matched by Go's regexp. Exit 0 if a line matched, 1 if none, 2 on errors.
func grep(s *stdio, args []string) error {
	o, err := parseFlags("grep", args, "EFivqcnxwlsh", "e")
	if err != nil {
		return usageTwo(err)
	}
	var pats []string
	if o.set['e'] {
		// parseFlags keeps the last -e only; collect all of them again.
		for i := 0; i < len(args); i++ {
			if args[i] == "-e" && i+1 < len(args) {
				pats = append(pats, args[i+1])
			} else if strings.HasPrefix(args[i], "-e") && len(args[i]) > 2 {
				pats = append(pats, args[i][2:])
			}
		}
	} else {
		if len(o.args) == 0 {
			return usagef("usage: grep [-EFivqcnx] PATTERN [FILE]...")
		}
		pats, o.args = strings.Split(o.args[0], "\n"), o.args[1:]
	}
	var alts []string
	for _, p := range pats {
		switch {
		case o.set['F']:
			p = regexp.QuoteMeta(p)
		case !o.set['E']:
			p = breToERE(p)
		}
		if o.set['w'] {
			p = `\b(?:` + p + `)\b`
		}
		if o.set['x'] {
			p = `^(?:` + p + `)$`
		}
		alts = append(alts, "(?:"+p+")")
	}
	expr := strings.Join(alts, "|")
	if o.set['i'] {
		expr = "(?i)" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return usageTwo(fmt.Errorf("bad pattern: %v", err))
	}
	files := o.args
	if len(files) == 0 {
		files = []string{"-"}
	}
	matched, failed := false, false
	for _, f := range files {
		var r io.Reader = s.in
		if f != "-" {
			file, err := os.Open(f)
			if err != nil {
				if !o.set['s'] {
					fmt.Fprintf(s.err, "grep: %s\n", message(err))
				}
				failed = true
				continue
			}
			defer file.Close()
			r = file
		}
		prefix := ""
		if len(files) > 1 && !o.set['h'] {
			prefix = f + ":"
		}
		n, count := 0, 0
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 64<<20)
		for sc.Scan() {
			n++
			line := sc.Bytes()
			if re.Match(line) == o.set['v'] {
				continue
			}
			matched = true
			count++
			if o.set['q'] {
				return nil
			}
			if o.set['l'] {
				fmt.Fprintln(s.out, f)
				break
			}
			if o.set['c'] {
				continue
			}
			if o.set['n'] {
				fmt.Fprintf(s.out, "%s%d:%s\n", prefix, n, line)
			} else {
				fmt.Fprintf(s.out, "%s%s\n", prefix, line)
			}
		}
		if err := sc.Err(); err != nil {
			fmt.Fprintf(s.err, "grep: %s: %v\n", f, err)
			failed = true
		}
		if o.set['c'] {
			fmt.Fprintf(s.out, "%s%d\n", prefix, count)
		}
	}
	switch {
	case failed && !(o.set['q'] && matched):
		return exitError(2)
	case !matched:
		return exitError(1)
	}
	return nil
}

// usageTwo reports err and makes grep exit 2, as POSIX wants for errors.
func usageTwo(err error) error { return usageError(err.Error()) }

// breToERE rewrites a POSIX basic regular expression into the extended
// syntax Go's regexp reads: \( \) \{ \} \| \+ \? become operators and the bare
// characters become literals.
func breToERE(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\' && i+1 < len(p) && strings.IndexByte("(){}|+?", p[i+1]) >= 0:
			b.WriteByte(p[i+1])
			i++
		case c == '\\' && i+1 < len(p):
			b.WriteByte(c)
			b.WriteByte(p[i+1])
			i++
		case strings.IndexByte("(){}|+?", c) >= 0:
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '*' && (i == 0 || p[i-1] == '^' && i == 1):
			b.WriteString(`\*`) // a leading * is a literal in a BRE
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// sort [-urn] [FILE]...: bytewise order (the C locale), -u drops duplicate
// lines, -n compares leading numbers, -r reverses.
func sortCmd(s *stdio, args []string) error {
	o, err := parseFlags("sort", args, "urn", "")
	if err != nil {
		return err
	}
	data, err := readInputs(s, o.args)
	if err != nil {
		return err
	}
	lines := splitLines(data)
	cmp := func(a, b string) int { return strings.Compare(a, b) }
	if o.set['n'] {
		cmp = func(a, b string) int {
			if c := leadingNumber(a) - leadingNumber(b); c != 0 {
				if c < 0 {
					return -1
				}
				return 1
			}
			return strings.Compare(a, b)
		}
	}
	slices.SortStableFunc(lines, cmp)
	if o.set['r'] {
		slices.Reverse(lines)
	}
	if o.set['u'] {
		lines = slices.CompactFunc(lines, func(a, b string) bool { return cmp(a, b) == 0 })
	}
	w := bufio.NewWriter(s.out)
	for _, l := range lines {
		w.WriteString(l)
		w.WriteByte('\n')
	}
	return w.Flush()
}

func leadingNumber(s string) float64 {
	s = strings.TrimLeft(s, " \t")
	end := 0
	for end < len(s) && (s[end] >= '0' && s[end] <= '9' || s[end] == '.' || end == 0 && s[end] == '-') {
		end++
	}
	f, _ := strconv.ParseFloat(s[:end], 64)
	return f
}

func readInputs(s *stdio, files []string) ([]byte, error) {
	if len(files) == 0 {
		files = []string{"-"}
	}
	var buf bytes.Buffer
	for _, f := range files {
		if err := copyFile(&stdio{in: s.in, out: &buf}, f); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

func splitLines(data []byte) []string {
	if len(data) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// head [-n N | -N] [-c N] [FILE]...
func head(s *stdio, args []string) error {
	if len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' && strings.Trim(args[0][1:], "0123456789") == "" {
		args = append([]string{"-n", args[0][1:]}, args[1:]...)
	}
	o, err := parseFlags("head", args, "qv", "nc")
	if err != nil {
		return err
	}
	lines, bytesN := int64(10), int64(-1)
	if o.set['n'] {
		if lines, err = strconv.ParseInt(o.values['n'], 10, 64); err != nil || lines < 0 {
			return usagef("invalid line count %q", o.values['n'])
		}
	}
	if o.set['c'] {
		if bytesN, err = strconv.ParseInt(o.values['c'], 10, 64); err != nil || bytesN < 0 {
			return usagef("invalid byte count %q", o.values['c'])
		}
	}
	files := o.args
	if len(files) == 0 {
		files = []string{"-"}
	}
	m := &multiError{name: "head", w: s.err}
	for i, f := range files {
		var r io.Reader = s.in
		if f != "-" {
			file, err := os.Open(f)
			if err != nil {
				m.add(err)
				continue
			}
			defer file.Close()
			r = file
		}
		if len(files) > 1 {
			if i > 0 {
				fmt.Fprintln(s.out)
			}
			fmt.Fprintf(s.out, "==> %s <==\n", f)
		}
		if bytesN >= 0 {
			_, err := io.CopyN(s.out, r, bytesN)
			if err != io.EOF {
				m.add(err)
			}
			continue
		}
		br := bufio.NewReader(r)
		for n := int64(0); n < lines; n++ {
			l, err := br.ReadBytes('\n')
			s.out.Write(l)
			if err != nil {
				if err != io.EOF {
					m.add(err)
				}
				break
			}
		}
	}
	return m.result()
}

// wc [-lwc] [FILE]...
func wc(s *stdio, args []string) error {
	o, err := parseFlags("wc", args, "lwcm", "")
	if err != nil {
		return err
	}
	all := !o.set['l'] && !o.set['w'] && !o.set['c'] && !o.set['m']
	files := o.args
	if len(files) == 0 {
		files = []string{"-"}
	}
	m := &multiError{name: "wc", w: s.err}
	var tl, tw, tc int
	for _, f := range files {
		data, err := readInputs(s, []string{f})
		if err != nil {
			m.add(err)
			continue
		}
		l, w, c := bytes.Count(data, []byte{'\n'}), len(bytes.Fields(data)), len(data)
		tl, tw, tc = tl+l, tw+w, tc+c
		printCounts(s.out, o, all, l, w, c, f, len(o.args) > 0)
	}
	if len(files) > 1 {
		printCounts(s.out, o, all, tl, tw, tc, "total", true)
	}
	return m.result()
}

func printCounts(w io.Writer, o *opts, all bool, l, wd, c int, name string, named bool) {
	var f []string
	if all || o.set['l'] {
		f = append(f, strconv.Itoa(l))
	}
	if all || o.set['w'] {
		f = append(f, strconv.Itoa(wd))
	}
	if all || o.set['c'] || o.set['m'] {
		f = append(f, strconv.Itoa(c))
	}
	if named {
		f = append(f, name)
	}
	fmt.Fprintln(w, strings.Join(f, " "))
}

// echo [-neE] [ARG]...: -n drops the newline, -e reads backslash escapes.
func echo(s *stdio, args []string) error {
	nl, esc := true, false
	for len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' && strings.Trim(args[0][1:], "neE") == "" {
		for _, c := range args[0][1:] {
			switch c {
			case 'n':
				nl = false
			case 'e':
				esc = true
			case 'E':
				esc = false
			}
		}
		args = args[1:]
	}
	out := strings.Join(args, " ")
	if esc {
		var err error
		if out, _, err = expand.Format(nil, strings.ReplaceAll(out, "%", "%%"), nil); err != nil {
			return err
		}
	}
	if nl {
		out += "\n"
	}
	_, err := io.WriteString(s.out, out)
	return err
}

// printf FORMAT [ARG]...: the shell's printf, for use outside a shell.
func printf(s *stdio, args []string) error {
	if len(args) == 0 {
		return usagef("usage: printf FORMAT [ARG]...")
	}
	format, args := args[0], args[1:]
	for {
		out, n, err := expand.Format(nil, format, args)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(s.out, out); err != nil {
			return err
		}
		args = args[n:]
		if n == 0 || len(args) == 0 {
			return nil
		}
	}
}

// env [-i] [-u NAME]... [NAME=VALUE]... [COMMAND [ARG]...]: prints the
// environment, or execs COMMAND (from PATH) with the changed one.
func env(s *stdio, args []string) error {
	environ := os.Environ()
	for len(args) > 0 {
		switch a := args[0]; {
		case a == "-i" || a == "-":
			environ, args = nil, args[1:]
		case a == "-u" && len(args) > 1:
			environ = slices.DeleteFunc(environ, func(kv string) bool { return strings.HasPrefix(kv, args[1]+"=") })
			args = args[2:]
		case a == "--":
			args = args[1:]
			goto assignments
		case strings.HasPrefix(a, "-"):
			return usagef("unknown option %s (env knows -i and -u NAME)", a)
		default:
			goto assignments
		}
	}
assignments:
	for len(args) > 0 && strings.Contains(args[0], "=") {
		k := args[0][:strings.Index(args[0], "=")]
		environ = slices.DeleteFunc(environ, func(kv string) bool { return strings.HasPrefix(kv, k+"=") })
		environ, args = append(environ, args[0]), args[1:]
	}
	if len(args) == 0 {
		for _, kv := range environ {
			fmt.Fprintln(s.out, kv)
		}
		return nil
	}
	// Look the command up in the new PATH, as env(1) does.
	path := args[0]
	if !strings.Contains(path, "/") {
		for _, kv := range environ {
			if strings.HasPrefix(kv, "PATH=") {
				os.Setenv("PATH", kv[5:])
			}
		}
		p, err := exec.LookPath(path)
		if err != nil {
			fmt.Fprintf(s.err, "env: %s: command not found\n", path)
			return exitError(127)
		}
		path = p
	}
	err := syscall.Exec(path, args, environ)
	fmt.Fprintf(s.err, "env: %s: %v\n", args[0], err)
	return exitError(126)
}
