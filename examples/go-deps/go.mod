module example.com/go-deps

go 1.26.0

require (
	github.com/spf13/pflag v1.0.10
	golang.org/x/text v0.43.0
)
