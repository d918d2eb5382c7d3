package main

// What build and upload report (--output json) about the bundles they wrote or logged.

// provenanceInfo says where the signed provenance is and whether it is logged.
type provenanceInfo struct {
	Bundle   string `json:"bundle"`
	Logged   bool   `json:"logged"`
	LogURL   string `json:"logUrl,omitempty"`
	LogIndex int64  `json:"logIndex"`
	// SigningMode is "key" or "keyless"; a keyless bundle's certificate names the
	// identity (SAN) and OIDC issuer a verifier pins.
	SigningMode         string `json:"signingMode"`
	CertificateIdentity string `json:"certificateIdentity,omitempty"`
	CertificateIssuer   string `json:"certificateIssuer,omitempty"`
	// SBOM is the signed SBOM of the same subjects, OUT/sbom.sigstore.json.
	SBOM *sbomInfo `json:"sbom,omitempty"`
}

// sbomInfo says where the signed SBOM is, in which format, and whether it is logged.
type sbomInfo struct {
	Bundle   string `json:"bundle"`
	Format   string `json:"format"` // cyclonedx or spdx
	Logged   bool   `json:"logged"`
	LogIndex int64  `json:"logIndex"`
}
