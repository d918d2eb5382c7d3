package filehash

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
)

// Digests returns the file's digests in each algorithm (sha256, sha384, sha512), in
// hex by algorithm, reading the file once: SLSA subjects are named by any of them
// (npm's by sha512), and a large artifact should not be read twice.
func Digests(path string, algs ...string) (map[string]string, error) {
	hashers := make(map[string]hash.Hash, len(algs))
	writers := make([]io.Writer, 0, len(algs))
	for _, a := range algs {
		if hashers[a] != nil {
			continue
		}
		var h hash.Hash
		switch a {
		case "sha256":
			h = sha256.New()
		case "sha384":
			h = sha512.New384()
		case "sha512":
			h = sha512.New()
		default:
			return nil, fmt.Errorf("digest algorithm %q: use sha256, sha384 or sha512", a)
		}
		hashers[a] = h
		writers = append(writers, h)
	}
	if len(writers) == 0 {
		return nil, fmt.Errorf("no digest algorithm: give sha256, sha384 or sha512")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	w := writers[0]
	if len(writers) > 1 {
		w = io.MultiWriter(writers...)
	}
	if _, err := io.Copy(w, f); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(hashers))
	for a, h := range hashers {
		out[a] = hex.EncodeToString(h.Sum(nil))
	}
	return out, nil
}
