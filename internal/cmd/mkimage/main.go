// Command mkimage writes a deterministic OCI image archive from directories
// and tar files, one layer each, for containerd's image import.
//
//	go run ./internal/cmd/mkimage -o OUT.tar [--ref NAME:TAG] [--env K=V]... \
//	    [--workdir DIR] [--cmd ARG]... [--mountpoints] LAYER...
//
// Timestamps come from SOURCE_DATE_EPOCH (default 0). On success it prints
// one line, oci-archive:OUT.tar@sha256:<manifest digest>, ready for
// slsabox.yaml's image field.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/slsabox/slsabox/internal/ociarchive"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mkimage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		out  string
		opts ociarchive.Options
		env  multiFlag
		cmd  multiFlag
	)
	fs.StringVar(&out, "o", "", "output archive `path` (required)")
	fs.StringVar(&opts.Ref, "ref", "", "image `name:tag` recorded in index.json")
	fs.Var(&env, "env", "`KEY=VALUE` for the image config (repeatable)")
	fs.StringVar(&opts.WorkDir, "workdir", "", "working `dir`ectory of the image config")
	fs.Var(&cmd, "cmd", "one `arg`ument of the image's default command (repeatable)")
	fs.BoolVar(&opts.Mountpoints, "mountpoints", false, "add a last layer with empty /src /out /inputs /tmp /dev /proc /sys /run")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mkimage -o OUT.tar [--ref NAME:TAG] [--env K=V]... [--workdir DIR] [--cmd ARG]... [--mountpoints] LAYER...")
		fmt.Fprintln(stderr, "Each LAYER is a directory or a tar file (optionally gzip); flags come before layers.")
		fmt.Fprintln(stderr, "Timestamps are SOURCE_DATE_EPOCH (default 0).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	layers := fs.Args()
	switch {
	case out == "":
		return usageError(stderr, "missing -o OUT.tar")
	case len(layers) == 0:
		return usageError(stderr, "no layers; pass at least one directory or tar file after the flags")
	}
	for _, l := range layers {
		if strings.HasPrefix(l, "-") {
			return usageError(stderr, fmt.Sprintf("%q looks like a flag after the layers; put flags before the layers", l))
		}
	}
	opts.Env, opts.Cmd = env, cmd
	if s, ok := os.LookupEnv("SOURCE_DATE_EPOCH"); ok && s != "" {
		epoch, err := strconv.ParseInt(s, 10, 64)
		if err != nil || epoch < 0 {
			fmt.Fprintf(stderr, "mkimage: error: SOURCE_DATE_EPOCH=%q is not a number of seconds since 1970; unset it or set e.g. SOURCE_DATE_EPOCH=0\n", s)
			return 1
		}
		opts.Epoch = epoch
	}
	res, err := ociarchive.WriteFile(ctx, out, layers, opts)
	if err != nil {
		fmt.Fprintf(stderr, "mkimage: error: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "oci-archive:%s@%s\n", out, res.Manifest.Digest)
	return 0
}

func usageError(stderr io.Writer, msg string) int {
	fmt.Fprintf(stderr, "mkimage: error: %s\n", msg)
	fmt.Fprintln(stderr, "usage: mkimage -o OUT.tar [--ref NAME:TAG] [--env K=V]... [--workdir DIR] [--cmd ARG]... [--mountpoints] LAYER...")
	return 2
}
