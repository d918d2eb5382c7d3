package main

import (
	"strings"
)

// opts is a tiny getopt: single-letter flags, clustered or not (-rf, -r -f),
// those in withValue take a value (-n 5, -n5); "--" or the first operand ends
// the flags; "-" alone is an operand.
type opts struct {
	set    map[byte]bool
	values map[byte]string
	args   []string
}

func parseFlags(name string, args []string, bools, withValue string) (*opts, error) {
	o := &opts{set: map[byte]bool{}, values: map[byte]string{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			o.args = args[i+1:]
			return o, nil
		}
		if len(a) < 2 || a[0] != '-' {
			o.args = args[i:]
			return o, nil
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			switch {
			case strings.IndexByte(withValue, c) >= 0:
				v := a[j+1:]
				if v == "" {
					if i+1 >= len(args) {
						return nil, usagef("option -%c needs a value", c)
					}
					i++
					v = args[i]
				}
				o.set[c], o.values[c] = true, v
				j = len(a)
			case strings.IndexByte(bools, c) >= 0:
				o.set[c] = true
			default:
				return nil, usagef("unknown option -%c (%s knows -%s%s)", c, name, bools, withValue)
			}
		}
	}
	o.args = nil
	return o, nil
}
