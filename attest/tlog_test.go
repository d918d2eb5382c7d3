package attest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestRekorRetries checks which answers are retried: a stand-in server (this is a unit
// test of the retry policy; the integration tests log to a real Rekor).
func TestRekorRetries(t *testing.T) {
	privPEM, pubPEM, _ := GenerateKey(ECDSAP256, nil)
	priv, _ := ParsePrivateKey(privPEM, nil)
	signer, _ := NewKeySigner(priv)
	st, _ := Provenance(testResult(), testBuilderID, testOpts...)
	tests := []struct {
		status   int
		want     error
		attempts int32
	}{
		{http.StatusBadRequest, ErrLogRejected, 1},
		{http.StatusConflict, ErrLogRejected, 1},
		{http.StatusTooManyRequests, ErrLogUnavailable, 3},
		{http.StatusServiceUnavailable, ErrLogUnavailable, 3},
		{http.StatusInternalServerError, ErrLogUnavailable, 3},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				hits.Add(1)
				http.Error(w, "no", tt.status)
			}))
			defer srv.Close()
			r, err := NewRekor(srv.URL, WithRekorAttempts(3, time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := Sign(context.Background(), st, signer)
			err = LogBundle(context.Background(), b, pubPEM, r)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if hits.Load() != tt.attempts {
				t.Errorf("%d attempts, want %d", hits.Load(), tt.attempts)
			}
			if ok, _ := Logged(b); ok {
				t.Error("a failed upload changed the bundle")
			}
		})
	}
	t.Run("timeout", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(3 * time.Second):
			}
		}))
		defer srv.Close()
		defer srv.CloseClientConnections()
		r, _ := NewRekor(srv.URL, WithRekorAttempts(2, time.Millisecond), WithRekorTimeout(100*time.Millisecond))
		b, _ := Sign(context.Background(), st, signer)
		start := time.Now()
		if err := LogBundle(context.Background(), b, pubPEM, r); !errors.Is(err, ErrLogUnavailable) {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %s", d)
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		_, otherPub, _ := GenerateKey(ECDSAP256, nil)
		r, _ := NewRekor("http://127.0.0.1:1")
		b, _ := Sign(context.Background(), st, signer)
		if err := LogBundle(context.Background(), b, otherPub, r); !errors.Is(err, ErrWrongKey) {
			t.Fatalf("err = %v, want ErrWrongKey", err)
		}
	})
	t.Run("ed25519 and rekor v2", func(t *testing.T) {
		edPEM, _, _ := GenerateKey(Ed25519, nil)
		ed, _ := ParsePrivateKey(edPEM, nil)
		s, _ := NewKeySigner(ed)
		r, _ := NewRekor("http://127.0.0.1:1")
		if err := CheckLoggable(s, r); !errors.Is(err, ErrKey) {
			t.Fatalf("err = %v", err)
		}
	})
}
