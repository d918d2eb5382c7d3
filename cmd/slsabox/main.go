// Command slsabox runs a project's build in a hermetic containerd sandbox and proves what it built.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	_ "github.com/slsabox/slsabox/internal/lazygc" // first: no collection while packages initialize
)

func main() {
	quietContainerdLog() // a no-op in the verify-only build, which has no containerd client
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
