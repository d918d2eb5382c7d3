// Command slsabox runs a project's build in a hermetic containerd sandbox and proves what it built.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/containerd/log"

	_ "github.com/slsabox/slsabox/internal/lazygc" // first: no collection while packages initialize
)

func main() {
	// containerd's client logs through logrus at info level; slsabox reports for itself.
	log.L.Logger.SetLevel(log.ErrorLevel)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
