package builder

import "context"

// InspectSource reads what the provenance will say about the work tree at dir (its
// commit, ref and remote) without exporting anything, so that a caller can check it
// before a build starts. Build reads it again from the tree it exports.
func InspectSource(ctx context.Context, dir string) (*Source, error) {
	s, _, err := inspectSource(ctx, dir, "", "")
	return s, err
}
