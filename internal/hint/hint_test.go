package hint

import (
	"errors"
	"fmt"
	"testing"
)

func TestHint(t *testing.T) {
	class := errors.New("class")
	err := fmt.Errorf("context: %w", Wrapf(fmt.Errorf("%w: cause", class), "run %s again", "it"))
	if !errors.Is(err, class) {
		t.Errorf("the class is lost: %v", err)
	}
	if Of(err) != "run it again" || err.Error() != "context: class: cause" {
		t.Errorf("hint %q, message %q", Of(err), err.Error())
	}
	// The first hint in the chain wins: the one nearest the user.
	if got := Of(Wrap(err, "outer")); got != "outer" {
		t.Errorf("Of = %q, want outer", got)
	}
	if Wrap(nil, "x") != nil || Of(class) != "" {
		t.Error("nil or hintless errors")
	}
	if Of(Wrap(err, "50% of the disk")) != "50% of the disk" {
		t.Error("Wrap must not format its text")
	}
}
