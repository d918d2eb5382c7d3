// Command suidbox is the setuid-root probe of the slsabox test image:
// scripts/images/testbox.sh installs it as /bin/suidbox, mode 4755, owner 0:0.
//
//	suidbox id -u    effective uid: 0 if the setuid bit raised privileges,
//	                 the caller's uid if no-new-privileges or nosuid stopped it
//	suidbox id -g    effective gid
//	suidbox id -r -u real uid (-r -g: real gid)
//	suidbox id       uid=R gid=G euid=E egid=F
//
// A program of its own rather than a setuid copy of the toolbox: it does
// nothing but report its ids, so a test reads exactly what the kernel granted.
package main

import (
	"fmt"
	"os"
	"strings"
)

func main() {
	args := os.Args[1:]
	if len(args) == 0 || args[0] != "id" {
		fail()
	}
	var u, g, r bool
	for _, a := range args[1:] {
		if len(a) < 2 || a[0] != '-' || strings.Trim(a[1:], "ugr") != "" {
			fail()
		}
		u = u || strings.Contains(a, "u")
		g = g || strings.Contains(a, "g")
		r = r || strings.Contains(a, "r")
	}
	switch {
	case u && g, r && !u && !g:
		fail()
	case u && r:
		fmt.Println(os.Getuid())
	case u:
		fmt.Println(os.Geteuid())
	case g && r:
		fmt.Println(os.Getgid())
	case g:
		fmt.Println(os.Getegid())
	default:
		fmt.Printf("uid=%d gid=%d euid=%d egid=%d\n", os.Getuid(), os.Getgid(), os.Geteuid(), os.Getegid())
	}
}

func fail() {
	fmt.Fprintln(os.Stderr, "usage: suidbox id [-u|-g] [-r]")
	os.Exit(2)
}
