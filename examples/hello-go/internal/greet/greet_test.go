package greet

import "testing"

func TestGreeting(t *testing.T) {
	if g, err := Greeting("de", "Welt"); err != nil || g != "Hallo, Welt!" {
		t.Errorf("Greeting = %q, %v", g, err)
	}
	if _, err := Greeting("xx", "a"); err == nil {
		t.Error("unknown language accepted")
	}
}
