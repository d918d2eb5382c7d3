package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// sh runs a script with mvdan.cc/sh/v3:
//
//	sh [-eux] -c SCRIPT [ARG0 [ARG]...]
//	sh [-eux] FILE [ARG]...
//	sh [-eux]                 (script on stdin)
//
// Builtins (echo, printf, test, cd, exit, wait, ...) run in the shell; every
// other command is exec'd from PATH as a real process, so pipes, & and $(...)
// of external commands fork like in any shell.
func sh(s *stdio, args []string) error {
	var setOpts []string
	command := false
	for len(args) > 0 && len(args[0]) > 1 && (args[0][0] == '-' || args[0][0] == '+') && args[0] != "--" {
		a := args[0]
		for _, c := range a[1:] {
			switch {
			case c == 'c' && a[0] == '-':
				command = true
			case strings.ContainsRune("eufxn", c):
				setOpts = append(setOpts, string(a[0])+string(c))
			default:
				return usagef("unknown option %c%c (sh knows -c and the set options -e -u -f -x -n)", a[0], c)
			}
		}
		args = args[1:]
	}
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	var (
		src    io.Reader
		name   = "sh"
		params []string
	)
	switch {
	case command:
		if len(args) == 0 {
			return usagef("-c needs a script: sh -c SCRIPT [ARG0 [ARG]...]")
		}
		src = strings.NewReader(args[0])
		if len(args) > 1 {
			name, params = args[1], args[2:]
		}
	case len(args) > 0:
		f, err := os.Open(args[0])
		if err != nil {
			return err
		}
		defer f.Close()
		src, name, params = f, args[0], args[1:]
	default:
		src = s.in
	}
	file, err := syntax.NewParser().Parse(src, name) // $0 is name
	if pe, ok := errors.AsType[syntax.ParseError](err); ok {
		where := "line " + pe.Pos.String()
		if !command {
			where = name + ":" + pe.Pos.String()
		}
		return usagef("syntax error at %s: %s", where, pe.Text)
	}
	if err != nil {
		return err
	}
	r, err := interp.New(
		interp.StdIO(s.in, s.out, s.err),
		interp.Env(expand.ListEnviron(os.Environ()...)),
		// External commands are real processes: PATH lookup, fork and exec,
		// 128+N for a death by signal N; SIGINT then SIGKILL after 2s on cancel.
		interp.ExecHandlers(func(interp.ExecHandlerFunc) interp.ExecHandlerFunc {
			return interp.DefaultExecHandler(2 * time.Second)
		}),
		// The interpreter knows kill by name but does not implement it: run
		// the kill applet from PATH instead.
		interp.CallHandler(func(ctx context.Context, args []string) ([]string, error) {
			if args[0] == "echo" {
				return echoAsPrintf(args), nil
			}
			if args[0] == "kill" {
				hc := interp.HandlerCtx(ctx)
				if p, err := interp.LookPathDir(hc.Dir, hc.Env, "kill"); err == nil {
					args[0] = p
				}
			}
			return args, nil
		}),
		interp.Params(append(append(setOpts, "--"), params...)...),
	)
	if err != nil {
		return usagef("%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	err = r.Run(ctx, file)
	if code, ok := interp.IsExitStatus(err); ok {
		if code == 0 {
			return nil
		}
		return exitError(code)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	if ctx.Err() != nil {
		return exitError(128 + int(syscall.SIGTERM))
	}
	return nil
}

// echoAsPrintf turns the interpreter's echo into a printf of the whole line. Its echo
// writes each word and the newline apart, so lines that several shells append to one
// file (echo $$ >> pids) interleave; printf writes once, as dash's echo does. The
// options are the interpreter's: -n, -e, -E, each a word of its own.
func echoAsPrintf(args []string) []string {
	newline, format := true, "%s"
	args = args[1:]
opts:
	for len(args) > 0 {
		switch args[0] {
		case "-n":
			newline = false
		case "-e":
			format = "%b"
		case "-E":
			format = "%s"
		default:
			break opts
		}
		args = args[1:]
	}
	line := strings.Join(args, " ")
	if newline {
		line += "\n"
	}
	return []string{"printf", format, line}
}
