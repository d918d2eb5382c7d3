package attest

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin/common"
	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin/encoding"
)

// kmsKey is what slsabox asks of a KMS key: its public key and signatures.
// sigstore's kms.SignerVerifier has it, and so does pluginKey.
type kmsKey interface {
	PublicKey(opts ...signature.PublicKeyOption) (crypto.PublicKey, error)
	SignMessage(message io.Reader, opts ...signature.SignOption) ([]byte, error)
}

// pluginKey is a key behind a KMS plugin program of sigstore's plugin protocol
// (github.com/sigstore/sigstore/pkg/signature/kms/cliplugin), run once per call by the
// absolute path that findKMSPlugin resolved and checked. sigstore's own client runs
// the plugin by name, looking it up on PATH again at every call, so a directory
// earlier on PATH could put another program in its place between the check and the
// signature.
type pluginKey struct {
	path   string      // absolute and checked
	keyRef string      // the key URI without SCHEME://
	hash   crypto.Hash // of the signatures
}

var _ kmsKey = (*pluginKey)(nil)

// Bounds on what a plugin may print.
const (
	maxPluginResponse = 1 << 20
	maxPluginStderr   = 16 << 10
)

func (k *pluginKey) PublicKey(opts ...signature.PublicKeyOption) (crypto.PublicKey, error) {
	ctx := context.Background()
	for _, o := range opts {
		o.ApplyContext(&ctx)
	}
	resp, err := k.call(ctx, nil, &common.MethodArgs{
		MethodName: common.PublicKeyMethodName,
		PublicKey:  &common.PublicKeyArgs{PublicKeyOptions: encoding.PackPublicKeyOptions(opts)},
	})
	if err != nil {
		return nil, err
	}
	if resp.PublicKey == nil {
		return nil, fmt.Errorf("the KMS plugin %s answered no public key", k.path)
	}
	return cryptoutils.UnmarshalPEMToPublicKey(resp.PublicKey.PublicKeyPEM)
}

func (k *pluginKey) SignMessage(message io.Reader, opts ...signature.SignOption) ([]byte, error) {
	ctx := context.Background()
	for _, o := range opts {
		o.ApplyContext(&ctx)
	}
	resp, err := k.call(ctx, message, &common.MethodArgs{
		MethodName:  common.SignMessageMethodName,
		SignMessage: &common.SignMessageArgs{SignOptions: encoding.PackSignOptions(opts)},
	})
	if err != nil {
		return nil, err
	}
	if resp.SignMessage == nil || len(resp.SignMessage.Signature) == 0 {
		return nil, fmt.Errorf("the KMS plugin %s answered no signature", k.path)
	}
	return resp.SignMessage.Signature, nil
}

// call runs the plugin once: protocol version and the call as JSON in argv, the
// message on stdin, one JSON response on stdout.
func (k *pluginKey) call(ctx context.Context, stdin io.Reader, m *common.MethodArgs) (*common.PluginResp, error) {
	init := &common.InitOptions{
		ProtocolVersion: common.ProtocolVersion,
		KeyResourceID:   k.keyRef,
		HashFunc:        k.hash,
		RPCOptions:      encoding.PackRPCOptions(nil),
	}
	if d, ok := ctx.Deadline(); ok {
		init.CtxDeadline = &d
	}
	args, err := json.Marshal(&common.PluginArgs{InitOptions: init, MethodArgs: m})
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, k.path, common.ProtocolVersion, string(args))
	cmd.Stdin = stdin
	var stdout, stderr limitedBuffer
	stdout.limit, stderr.limit = maxPluginResponse, maxPluginStderr
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run() // the protocol ignores the exit status: the response says
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("the KMS plugin %s: %w", k.path, err)
	}
	var exitErr *exec.ExitError
	if runErr != nil && !errors.As(runErr, &exitErr) {
		return nil, fmt.Errorf("running the KMS plugin %s: %w", k.path, runErr)
	}
	var resp common.PluginResp
	if stdout.over || json.Unmarshal(stdout.Bytes(), &resp) != nil {
		return nil, fmt.Errorf("the KMS plugin %s answered no valid response (%v)%s", k.path, runErr, lastLine(stderr.String()))
	}
	if resp.ErrorMessage != "" {
		return nil, fmt.Errorf("the KMS plugin %s: %s", k.path, resp.ErrorMessage)
	}
	return &resp, nil
}

// limitedBuffer keeps the first limit bytes and notes whether more came.
type limitedBuffer struct {
	bytes.Buffer
	limit int
	over  bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if room := b.limit - b.Len(); len(p) > room {
		p, b.over = p[:max(room, 0)], true
	}
	b.Buffer.Write(p)
	return n, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if s == "" {
		return ""
	}
	return ": " + s
}
