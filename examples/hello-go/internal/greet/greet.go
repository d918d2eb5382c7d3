// Package greet says hello in a few languages.
package greet

import (
	"fmt"
	"sort"
	"strings"
)

var greetings = map[string]string{
	"en": "Hello, %s!",
	"de": "Hallo, %s!",
	"fr": "Bonjour, %s !",
	"es": "¡Hola, %s!",
}

// Greeting returns the greeting for name in lang.
func Greeting(lang, name string) (string, error) {
	f, ok := greetings[lang]
	if !ok {
		return "", fmt.Errorf("unknown language %q (known: %s)", lang, Languages())
	}
	return fmt.Sprintf(f, name), nil
}

// Languages lists the known language codes.
func Languages() string {
	var l []string
	for k := range greetings {
		l = append(l, k)
	}
	sort.Strings(l)
	return strings.Join(l, ", ")
}
