// Command toolbox is the multi-call userland of the slsabox test images
// (scripts/images/testbox.sh, go-toolchain.sh): /bin/toolbox with a /bin
// symlink per applet, like busybox, but built from Go modules only, so the
// images it goes into are reproducible byte for byte on any later day.
//
//	toolbox APPLET [ARG]...     run an applet by name
//	APPLET [ARG]...             the same, through a symlink named APPLET
//	toolbox --list              print the applet names, one a line
//
// sh is mvdan.cc/sh/v3's parser and interpreter; external commands run as real
// processes. The other applets are small and implement the flags the tests and
// examples use; each prints its errors as "APPLET: message" and exits non-zero.
package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// stdio is what an applet reads and writes; tests pass buffers.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

type applet func(s *stdio, args []string) error

var applets map[string]applet

func init() {
	applets = map[string]applet{
		"cat": cat, "chmod": chmod, "cp": cp, "date": date, "dd": dd, "echo": echo,
		"env": env, "false": falseCmd, "grep": grep, "head": head, "id": id, "kill": kill, "ln": ln,
		"ls": ls, "mkdir": mkdir, "mkfifo": mkfifo, "mknod": mknod, "mount": mount,
		"nc": nc, "printf": printf, "rm": rm, "sh": sh, "sleep": sleep, "sort": sortCmd,
		"touch": touch, "true": trueCmd, "uname": uname, "wc": wc,
	}
}

// names returns the applet names, sorted.
func names() []string {
	var n []string
	for k := range applets {
		n = append(n, k)
	}
	slices.Sort(n)
	return n
}

func main() {
	os.Exit(run(os.Args, &stdio{os.Stdin, os.Stdout, os.Stderr}))
}

// run dispatches on argv[0], or on argv[1] when called as toolbox.
func run(argv []string, s *stdio) int {
	name := filepath.Base(argv[0])
	args := argv[1:]
	if name == "toolbox" {
		if len(args) == 0 {
			fmt.Fprintln(s.err, "usage: toolbox APPLET [ARG]... (toolbox --list names them)")
			return 2
		}
		if args[0] == "--list" {
			for _, n := range names() {
				fmt.Fprintln(s.out, n)
			}
			return 0
		}
		name, args = args[0], args[1:]
	}
	a, ok := applets[name]
	if !ok {
		fmt.Fprintf(s.err, "toolbox: unknown applet %q; toolbox --list names the applets\n", name)
		return 127
	}
	return exitCode(name, a(s, args), s.err)
}

// exitError ends an applet with a code and no message (grep finding nothing,
// false, sh's exit status).
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// usageError is a wrong invocation: exit status 2.
type usageError string

func (e usageError) Error() string { return string(e) }

func usagef(format string, a ...any) error { return usageError(fmt.Sprintf(format, a...)) }

func exitCode(name string, err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	if e, ok := errors.AsType[exitError](err); ok {
		return int(e)
	}
	fmt.Fprintf(stderr, "%s: %s\n", name, message(err))
	if _, ok := errors.AsType[usageError](err); ok {
		return 2
	}
	return 1
}

// message shortens Go's "open /x: no such file or directory" to
// "/x: no such file or directory": the applet name says what was tried.
func message(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) && err == error(pe) {
		return pe.Path + ": " + pe.Err.Error()
	}
	var le *os.LinkError
	if errors.As(err, &le) && err == error(le) {
		return le.Old + " -> " + le.New + ": " + le.Err.Error()
	}
	return err.Error()
}

// multiError collects per-operand failures so that an applet goes on with the
// next file, as cat and rm do, and still exits 1.
type multiError struct {
	name string
	w    io.Writer
	n    int
}

func (m *multiError) add(err error) {
	if err != nil {
		fmt.Fprintf(m.w, "%s: %s\n", m.name, message(err))
		m.n++
	}
}

func (m *multiError) result() error {
	if m.n > 0 {
		return exitError(1)
	}
	return nil
}
