// Command oidcissuer is a test OIDC issuer that mints GitHub Actions-shaped ID tokens,
// for the local keyless stack (scripts/keyless.sh): Fulcio trusts it as a
// ci-provider issuer of type github-workflow, and slsabox fetches tokens from it
// exactly as it does on GitHub, through the token-request endpoint.
//
//	oidcissuer -addr 127.0.0.1:3470 -request-token SECRET [-repository o/r ...]
//
// It serves:
//
//	GET /.well-known/openid-configuration   OIDC discovery
//	GET /.well-known/jwks                   the ES256 signing key
//	GET /token?audience=AUD[&claim=value]   GitHub's token request: header
//	                                        "Authorization: bearer SECRET", answer {"value": JWT}
//
// The claims default to the flags; a query parameter named like a claim (repository,
// ref, sha, runner_environment, job_workflow_ref, ...) overrides it for one token, so a
// test can point ACTIONS_ID_TOKEN_REQUEST_URL at ".../token?runner_environment=self-hosted".
// The signing key lives in memory: a restart invalidates earlier tokens.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("oidcissuer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:3470", "`HOST:PORT` to listen on (loopback only)")
	issuer := fs.String("issuer", "", "issuer `URL` put in tokens and discovery (default http://ADDR)")
	requestToken := fs.String("request-token", "", "the bearer `secret` the token endpoint wants (ACTIONS_ID_TOKEN_REQUEST_TOKEN; required)")
	lifetime := fs.Duration("lifetime", 10*time.Minute, "token lifetime")
	defaults := defaultClaims()
	for _, name := range claimNames {
		fs.Func(flagName(name), "default `value` of the "+name+" claim (default "+quoteOr(defaults[name])+")", func(v string) error {
			defaults[name] = v
			return nil
		})
	}
	fs.Func("workflow-path", "the workflow file job_workflow_ref and workflow_ref name when not set (default "+defaults["workflow_path"]+")", func(v string) error {
		defaults["workflow_path"] = v
		return nil
	})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *requestToken == "" {
		fmt.Fprintln(stderr, "oidcissuer: error: -request-token is required (the secret a job presents, as ACTIONS_ID_TOKEN_REQUEST_TOKEN)")
		return 2
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		fmt.Fprintf(stderr, "oidcissuer: error: -addr %q must be a loopback HOST:PORT such as 127.0.0.1:3470\n", *addr)
		return 2
	}
	if *issuer == "" {
		*issuer = "http://" + *addr
	}
	iss, err := newIssuer(*issuer, *requestToken, *lifetime, defaults)
	if err != nil {
		fmt.Fprintf(stderr, "oidcissuer: error: %v\n", err)
		return 1
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "oidcissuer: error: %v\n", err)
		return 3
	}
	logger := log.New(stderr, "oidcissuer: ", log.LstdFlags|log.LUTC)
	srv := &http.Server{Handler: iss.handler(logger), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	logger.Printf("issuer %s listening on %s", *issuer, ln.Addr())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Printf("error: %v", err)
		return 3
	}
	return 0
}

func quoteOr(s string) string {
	if s == "" {
		return `""`
	}
	return s
}
