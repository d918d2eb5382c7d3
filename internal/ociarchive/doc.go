// Package ociarchive writes deterministic OCI image archives: a tar holding
// oci-layout, index.json and blobs/sha256/..., as containerd's Import and
// `ctr images import` accept.
//
// [WriteFile] (atomic, to a path; writeArchive to an io.Writer) turns a list of
// layer sources — directories or tar files, optionally gzip-compressed — into
// one single-platform image. The same inputs and [Options] always give the
// same bytes:
//
//   - entries are sorted by path, parents before children, missing parents
//     are added as 0755 root-owned directories;
//   - every timestamp is Options.Epoch; user and group names are dropped;
//     numeric ids come from a tar input and are 0:0 for a directory input;
//     permission bits (setuid, setgid, sticky included), symlinks, hardlinks,
//     devices and fifos are kept; PAX records and xattrs are dropped;
//   - headers are POSIX ustar, with a PAX header only where ustar cannot hold
//     a field (a long or non-ASCII name, a large id); no atime or ctime;
//     layers are gzip level 6 with an empty gzip header, JSON is compact with
//     a fixed field order.
//
// [WriteLayout] writes an image of one layer made of chosen files (slsabox.yaml's
// images:) as an OCI layout directory instead, with the same rules; Options also
// fill its Entrypoint, User and Labels.
//
// Options.Mountpoints appends a layer of the empty directories a read-only
// sandbox rootfs needs (/src, /out, /inputs, /tmp, /dev, /proc, /sys, /run).
//
// Input tars are untrusted: absolute names, `..` components, entries below a
// symlink or a non-directory, hardlinks to missing entries or directories,
// duplicate entries and sparse files are refused with errUnsafeEntry or
// errInvalidLayer.
//
// Layer digests depend on Go's compress/flate; diff_ids (uncompressed
// digests) depend only on the inputs.
package ociarchive
