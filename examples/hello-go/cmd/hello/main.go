// Command hello greets, and says which build of it is running.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/debug"

	"example.com/hello-go/internal/greet"
)

func main() {
	name := flag.String("name", "world", "who to greet")
	lang := flag.String("lang", "en", "language: "+greet.Languages())
	showVersion := flag.Bool("version", false, "print build information and exit")
	flag.Parse()
	if *showVersion {
		if bi, ok := debug.ReadBuildInfo(); ok {
			fmt.Printf("%s %s\n", bi.Path, bi.GoVersion)
		}
		return
	}
	msg, err := greet.Greeting(*lang, *name)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hello:", err)
		os.Exit(2)
	}
	fmt.Println(msg)
}
