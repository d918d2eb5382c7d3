package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/slsabox/slsabox/attest"
	"github.com/slsabox/slsabox/attest/sbom"
)

func newSBOMCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sbom",
		Short: "Read the signed SBOM a build wrote (OUT/" + attest.SBOMBundleFile + ")",
		Long: `Every signed build writes, beside its provenance, a signed SBOM of the same
subjects: OUT/` + attest.SBOMBundleFile + `, an in-toto statement whose predicate is a CycloneDX
1.6 (or, with build --sbom-format spdx, SPDX 2.3) JSON document. It lists the source
commit, every declared input (Go modules as pkg:golang purls with their go.sum hashes,
URL inputs with their sha256), vendored Go modules, the builder image as a build tool,
and each subject with the Go modules linked into it. See docs/sbom.md.

slsabox verify ARTIFACT --bundle OUT/provenance.sigstore.json --sbom OUT/` + attest.SBOMBundleFile + `
checks its signature, log entry and subjects against the provenance.`,
	}
	cmd.AddCommand(newSBOMShowCmd(g))
	return cmd
}

func newSBOMShowCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "show SBOM_BUNDLE",
		Short: "Print the components of a signed SBOM as a table (not verified: see verify --sbom)",
		Long: `show prints the subjects and the components of the SBOM in a bundle (a Sigstore
bundle as build writes it, or a bare in-toto statement), one row each: type, name,
version, package URL (or digest) and role (source, input, vendored, builder, subject,
or "contained in SUBJECT"). --output json prints the same as JSON.

show reads the bundle without checking its signature: to trust what it lists, verify
it first with slsabox verify ... --sbom SBOM_BUNDLE.

Exit codes: 0 printed; 2 the file is no SBOM bundle.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return usageError{err}
			}
			payload := data
			if b, err := attest.ParseBundle(data); err == nil {
				env := b.GetDsseEnvelope()
				if env == nil {
					return usageError{fmt.Errorf("%s: the bundle holds no DSSE envelope, so no SBOM statement", args[0])}
				}
				payload = env.GetPayload()
			}
			st, err := attest.ParseStatement(payload)
			if err != nil {
				return usageError{fmt.Errorf("%s: neither a Sigstore bundle nor an in-toto statement: %w", args[0], err)}
			}
			pred, err := protojson.Marshal(st.GetPredicate())
			if err != nil {
				return usageError{fmt.Errorf("%s: %w", args[0], err)}
			}
			rows, err := sbom.Components(st.GetPredicateType(), pred)
			if err != nil {
				if errors.Is(err, sbom.ErrInvalidSBOM) {
					return usageError{fmt.Errorf("%s: %w", args[0], err)}
				}
				return err
			}
			w := cmd.OutOrStdout()
			type subject struct {
				Name   string            `json:"name"`
				Digest map[string]string `json:"digest"`
			}
			var subjects []subject
			for _, s := range st.GetSubject() {
				subjects = append(subjects, subject{s.GetName(), s.GetDigest()})
			}
			if g.output == "json" {
				type row struct {
					Type    string `json:"type"`
					Name    string `json:"name"`
					Version string `json:"version,omitempty"`
					ID      string `json:"id,omitempty"`
					Role    string `json:"role,omitempty"`
				}
				out := struct {
					PredicateType string    `json:"predicateType"`
					Subjects      []subject `json:"subjects"`
					Components    []row     `json:"components"`
				}{PredicateType: st.GetPredicateType(), Subjects: subjects, Components: []row{}}
				for _, r := range rows {
					out.Components = append(out.Components, row(r))
				}
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			g.logf(cmd.ErrOrStderr(), "not verified here: slsabox verify ARTIFACT --bundle PROVENANCE --sbom %s checks it", args[0])
			fmt.Fprintf(w, "%s SBOM of %d subjects (%d components)\n", st.GetPredicateType(), len(subjects), len(rows))
			for _, s := range subjects {
				fmt.Fprintf(w, "subject %s  sha256:%s\n", termSafe(s.Name), termSafe(s.Digest["sha256"]))
			}
			fmt.Fprintln(w)
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TYPE\tNAME\tVERSION\tID\tROLE")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", termSafe(r.Type), termSafe(r.Name), termSafe(dash(r.Version)), termSafe(dash(r.ID)), termSafe(dash(r.Role)))
			}
			return tw.Flush()
		},
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
