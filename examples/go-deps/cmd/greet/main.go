// Command greet greets people in their language, with flags parsed by spf13/pflag
// and text cased and numbers formatted by golang.org/x/text: a small program whose
// dependencies come from the Go module proxy, built by slsabox with the network off.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"
	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

func main() {
	name := pflag.StringP("name", "n", "world", "who to greet")
	lang := pflag.StringP("lang", "l", "en", "BCP 47 language tag for casing and numbers")
	count := pflag.IntP("count", "c", 1234567, "a number to print in the language's format")
	pflag.Parse()

	tag, err := language.Parse(*lang)
	if err != nil {
		fmt.Fprintf(os.Stderr, "greet: --lang %q: %v\n", *lang, err)
		os.Exit(2)
	}
	title := cases.Title(tag).String(*name)
	p := message.NewPrinter(tag)
	p.Printf("Hello, %s! (%d)\n", title, *count)
}
