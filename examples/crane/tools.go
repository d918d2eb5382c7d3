//go:build tools

// Package tools pins crane, the third-party program this example builds: go.mod
// requires its module, go.sum pins every module it links, and slsabox fetches them
// all as the gomod input before the first step.
package tools

import _ "github.com/google/go-containerregistry/cmd/crane"
