package errclass

import (
	"errors"
	"fmt"
	"testing"
)

func TestClass(t *testing.T) {
	retry, key := errors.New("retry"), errors.New("key")
	c := New("log unavailable", retry, key)
	err := fmt.Errorf("%w: logging: %w", c, errors.New("connection refused"))
	if !errors.Is(err, c) || !errors.Is(err, retry) || !errors.Is(err, key) {
		t.Errorf("a family is lost: %v", err)
	}
	if err.Error() != "log unavailable: logging: connection refused" {
		t.Errorf("message = %q", err.Error())
	}
	if errors.Is(retry, c) || errors.Is(New("other", retry), c) {
		t.Error("a family matched one of its classes")
	}
}
