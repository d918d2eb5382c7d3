package ociref

import (
	"io"
	"log"
)

func nopLogger() *log.Logger { return log.New(io.Discard, "", 0) }

func ioNopCloser(r io.Reader) io.ReadCloser { return io.NopCloser(r) }

func readAll(r io.Reader) (string, error) {
	b, err := io.ReadAll(r)
	return string(b), err
}
