//go:build !slsabox_verifyonly

package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
)

func newImageCmd(g *globalOptions) *cobra.Command {
	img := &cobra.Command{Use: "image", Short: "Manage builder images"}
	img.AddCommand(&cobra.Command{
		Use:   "import FILE",
		Short: "Import an OCI image archive into containerd and print the reference to pin in slsabox.yaml",
		Long: `import loads an OCI image archive (a tar holding oci-layout, index.json and blobs),
such as the ones scripts/images/*.sh build, into containerd, unpacks it, and prints
the line to put in slsabox.yaml:

  image: oci-archive:FILE@sha256:<manifest digest>`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := g.newBuilder(cmd.Context(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer b.Close()
			imgs, err := b.ImportImage(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if g.output == "json" {
				type out struct {
					Name   string `json:"name"`
					Digest string `json:"digest"`
					Ref    string `json:"ref"`
				}
				var o []out
				for _, i := range imgs {
					o = append(o, out{i.Name, i.Digest, "oci-archive:" + args[0] + "@" + i.Digest})
				}
				return json.NewEncoder(cmd.OutOrStdout()).Encode(o)
			}
			for _, i := range imgs {
				g.logf(cmd.ErrOrStderr(), "imported %s", i.Name)
				fmt.Fprintf(cmd.OutOrStdout(), "oci-archive:%s@%s\n", args[0], i.Digest)
			}
			return nil
		},
	})
	return img
}
