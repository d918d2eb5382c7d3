package verify

import (
	"fmt"
	"strings"

	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/slsabox/slsabox/attest/spec"
)

// provenance checks the statement and predicate types and reads the SLSA v1
// provenance out of the predicate the statement's parser already decoded (a Struct).
// Decoding the signed payload again, with protojson into the typed predicate, was a
// fifth of a verification; reading the Struct accepts and rejects what that decode
// did (FuzzPredicateMatchesProtojson): every field of the message, by its JSON or its
// proto name but not both, of its JSON type or null, unknown fields ignored; then the
// bindings' Validate.
func provenance(st *statement) (*slsa.Provenance, error) {
	if st.GetType() != intoto.StatementTypeUri && st.GetType() != statementTypeV01 {
		return nil, fmt.Errorf("statement type %s is not %s", quote(st.GetType()), intoto.StatementTypeUri)
	}
	if st.GetPredicateType() != spec.PredicateSLSAProvenance {
		return nil, fmt.Errorf("want %s, got %s", spec.PredicateSLSAProvenance, quote(st.GetPredicateType()))
	}
	var r predicateReader
	pred := r.provenance(st.GetPredicate())
	if r.err != nil {
		return nil, fmt.Errorf("the predicate is not SLSA v1 provenance: %w", r.err)
	}
	if err := pred.Validate(); err != nil {
		return nil, fmt.Errorf("the predicate is not valid SLSA v1 provenance: %w", err)
	}
	return pred, nil
}

// statementTypeV01 is in-toto's Statement v0.1, which slsa-github-generator's
// builders still wrap their SLSA v1 provenance in. Its subject (name and digest),
// predicateType and predicate are a subset of v1's, read the same way.
const statementTypeV01 = "https://in-toto.io/Statement/v0.1"

// predicateReader reads typed fields out of a decoded JSON object and keeps the first
// problem as its error. An absent or null field reads as its zero value.
type predicateReader struct{ err error }

func (r *predicateReader) fail(format string, a ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, a...)
	}
}

// field returns the value of the field named name (lowerCamelCase, its JSON name) or
// by its proto name (snake_case), as protojson accepts either; both is an error.
func (r *predicateReader) field(s *structpb.Struct, name string) *structpb.Value {
	if s == nil {
		return nil
	}
	v, ok := s.GetFields()[name]
	if proto := protoName(name); proto != name {
		if pv, pok := s.GetFields()[proto]; pok {
			if ok {
				r.fail("%s and %s: the same field twice", name, proto)
			}
			v = pv
		}
	}
	if _, null := v.GetKind().(*structpb.Value_NullValue); null || v == nil {
		return nil
	}
	return v
}

// protoName is the proto field name of a lowerCamelCase JSON name.
func protoName(name string) string {
	var b strings.Builder
	for _, c := range name {
		if c >= 'A' && c <= 'Z' {
			b.WriteByte('_')
			c += 'a' - 'A'
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (r *predicateReader) string(s *structpb.Struct, name string) string {
	v := r.field(s, name)
	if v == nil {
		return ""
	}
	if _, ok := v.GetKind().(*structpb.Value_StringValue); !ok {
		r.fail("%s is not a string", name)
	}
	return v.GetStringValue()
}

func (r *predicateReader) object(s *structpb.Struct, name string) *structpb.Struct {
	v := r.field(s, name)
	if v == nil {
		return nil
	}
	if _, ok := v.GetKind().(*structpb.Value_StructValue); !ok {
		r.fail("%s is not an object", name)
	}
	return v.GetStructValue()
}

func (r *predicateReader) list(s *structpb.Struct, name string) []*structpb.Value {
	v := r.field(s, name)
	if v == nil {
		return nil
	}
	if _, ok := v.GetKind().(*structpb.Value_ListValue); !ok {
		r.fail("%s is not a list", name)
	}
	return v.GetListValue().GetValues()
}

// stringMap reads a map<string, string> field.
func (r *predicateReader) stringMap(s *structpb.Struct, name string) map[string]string {
	m := r.object(s, name)
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m.GetFields()))
	for k, v := range m.GetFields() {
		sv, ok := v.GetKind().(*structpb.Value_StringValue)
		if !ok {
			r.fail("%s.%s is not a string", name, k)
			continue
		}
		out[k] = sv.StringValue
	}
	return out
}

// scalar decodes a string-encoded well-known type (a timestamp, base64 bytes) with
// protojson itself, so that the forms it accepts are exactly protojson's.
func (r *predicateReader) scalar(s *structpb.Struct, name string, m proto.Message) bool {
	v := r.field(s, name)
	if v == nil {
		return false
	}
	sv, ok := v.GetKind().(*structpb.Value_StringValue)
	if !ok {
		r.fail("%s is not a string", name)
		return false
	}
	js, _ := structpb.NewStringValue(sv.StringValue).MarshalJSON()
	if err := protojson.Unmarshal(js, m); err != nil {
		r.fail("%s: %w", name, err)
		return false
	}
	return true
}

func (r *predicateReader) provenance(p *structpb.Struct) *slsa.Provenance {
	bd, rd := r.object(p, "buildDefinition"), r.object(p, "runDetails")
	out := &slsa.Provenance{}
	if bd != nil {
		out.BuildDefinition = &slsa.BuildDefinition{
			BuildType:            r.string(bd, "buildType"),
			ExternalParameters:   r.object(bd, "externalParameters"),
			InternalParameters:   r.object(bd, "internalParameters"),
			ResolvedDependencies: r.descriptors(bd, "resolvedDependencies"),
		}
	}
	if rd != nil {
		out.RunDetails = &slsa.RunDetails{Byproducts: r.descriptors(rd, "byproducts")}
		if b := r.object(rd, "builder"); b != nil {
			out.RunDetails.Builder = &slsa.Builder{Id: r.string(b, "id"), Version: r.stringMap(b, "version"),
				BuilderDependencies: r.descriptors(b, "builderDependencies")}
		}
		if m := r.object(rd, "metadata"); m != nil {
			md := &slsa.BuildMetadata{InvocationId: r.string(m, "invocationId")}
			if t := new(timestamppb.Timestamp); r.scalar(m, "startedOn", t) {
				md.StartedOn = t
			}
			if t := new(timestamppb.Timestamp); r.scalar(m, "finishedOn", t) {
				md.FinishedOn = t
			}
			out.RunDetails.Metadata = md
		}
	}
	return out
}

// descriptors reads a list of in-toto resource descriptors.
func (r *predicateReader) descriptors(s *structpb.Struct, name string) []*intoto.ResourceDescriptor {
	var out []*intoto.ResourceDescriptor
	for _, e := range r.list(s, name) {
		if _, null := e.GetKind().(*structpb.Value_NullValue); null {
			r.fail("%s holds null", name)
			continue
		}
		d, ok := e.GetKind().(*structpb.Value_StructValue)
		if !ok {
			r.fail("%s is not a list of objects", name)
			continue
		}
		ds := d.StructValue
		rd := &intoto.ResourceDescriptor{Name: r.string(ds, "name"), Uri: r.string(ds, "uri"), Digest: r.stringMap(ds, "digest"),
			DownloadLocation: r.string(ds, "downloadLocation"), MediaType: r.string(ds, "mediaType"), Annotations: r.object(ds, "annotations")}
		if c := new(wrapperspb.BytesValue); r.scalar(ds, "content", c) {
			rd.Content = c.GetValue()
		}
		out = append(out, rd)
	}
	return out
}
