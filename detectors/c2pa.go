package detectors

import (
	"bytes"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/fxamacker/cbor/v2"
)

// ManifestStore is what was read from an embedded C2PA manifest store. The
// last manifest is the active one (C2PA 2.1 §11.1.4.1).
type ManifestStore struct {
	Manifests []Manifest `json:"manifests,omitempty"`
	// Error is set when the store was found but could not be parsed.
	Error string `json:"error,omitempty"`
}

// Active returns the active manifest, or nil.
func (s *ManifestStore) Active() *Manifest {
	if s == nil || len(s.Manifests) == 0 {
		return nil
	}
	return &s.Manifests[len(s.Manifests)-1]
}

// Manifest is one manifest's claim and the assertions read from it.
type Manifest struct {
	Label              string   `json:"label"`
	ClaimGenerator     string   `json:"claim_generator"`
	Actions            []string `json:"actions,omitempty"`
	DigitalSourceTypes []string `json:"digital_source_types,omitempty"`
	SoftwareAgents     []string `json:"software_agents,omitempty"`
	// Signature is signed_valid (the COSE signature over the claim and the
	// claim's assertion hashes check out, and for the active manifest the
	// asset's hash binding), signed_invalid, or unverified (no signature,
	// or one that could not be checked; see SignatureError).
	Signature      string `json:"signature"`
	SignatureError string `json:"signature_error,omitempty"`
	// Signer is the signing certificate's subject. Whether to trust it is
	// the trust list's business, not the signature's.
	Signer string `json:"signer,omitempty"`
	// Trusted: the signer's chain leads to one of the Inspector's trust
	// anchors (false without a trust list); TrustError says why not.
	Trusted    bool   `json:"trusted"`
	TrustError string `json:"trust_error,omitempty"`
	// HashBinding (active manifest only): valid, invalid, absent.
	HashBinding string `json:"hash_binding,omitempty"`
	HashError   string `json:"hash_error,omitempty"`

	claimCBOR     []byte
	signatureCOSE []byte
	chain         []*x509.Certificate
}

// jumbf is one box: superboxes ("jumb") carry a label from their
// description box and children; content boxes carry bytes.
type jumbf struct {
	typ      string
	label    string
	raw      []byte // the whole box, header included
	hdr      int
	payload  []byte
	children []jumbf
}

var errBox = errors.New("malformed JUMBF box")

const maxBoxDepth = 16

// parseBoxes reads consecutive ISO BMFF-style boxes (ISO/IEC 19566-5).
func parseBoxes(b []byte, depth int) ([]jumbf, error) {
	if depth > maxBoxDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d", errBox, maxBoxDepth)
	}
	var out []jumbf
	for len(b) > 0 {
		if len(b) < 8 {
			return out, fmt.Errorf("%w: truncated header", errBox)
		}
		size := uint64(binary.BigEndian.Uint32(b))
		typ := string(b[4:8])
		hdr := uint64(8)
		switch size {
		case 0:
			size = uint64(len(b))
		case 1:
			if len(b) < 16 {
				return out, fmt.Errorf("%w: truncated extended length", errBox)
			}
			size, hdr = binary.BigEndian.Uint64(b[8:]), 16
		}
		if size < hdr || size > uint64(len(b)) {
			return out, fmt.Errorf("%w: %q length %d of %d", errBox, typ, size, len(b))
		}
		box := jumbf{typ: typ, payload: b[hdr:size], raw: b[:size], hdr: int(hdr)}
		b = b[size:]
		if typ == "jumb" {
			kids, err := parseBoxes(box.payload, depth+1)
			if err != nil {
				return out, err
			}
			if len(kids) == 0 || kids[0].typ != "jumd" {
				return out, fmt.Errorf("%w: superbox without description", errBox)
			}
			box.label = descriptionLabel(kids[0].payload)
			box.children = kids[1:]
			box.payload = nil
		}
		out = append(out, box)
	}
	return out, nil
}

// descriptionLabel reads a jumd box: a 16-byte type UUID, a toggles byte,
// then the label as a NUL-terminated string when toggle bit 1 is set.
func descriptionLabel(d []byte) string {
	if len(d) < 17 || d[16]&0x02 == 0 {
		return ""
	}
	l, _, _ := bytes.Cut(d[17:], []byte{0})
	return string(l)
}

// isManifestStore reports whether b starts with a JUMBF superbox labelled
// "c2pa".
func isManifestStore(b []byte) bool {
	boxes, err := parseBoxes(b, 0)
	return (err == nil || len(boxes) > 0) && len(boxes) > 0 && boxes[0].typ == "jumb" && boxes[0].label == "c2pa"
}

func (j *jumbf) child(label string) *jumbf {
	for i := range j.children {
		if j.children[i].label == label {
			return &j.children[i]
		}
	}
	return nil
}

// content returns the first content box of the given type.
func (j *jumbf) content(typ string) []byte {
	if j == nil {
		return nil
	}
	for _, c := range j.children {
		if c.typ == typ {
			return c.payload
		}
	}
	return nil
}

var cborDec, _ = cbor.DecOptions{
	MaxNestedLevels:  32,
	MaxArrayElements: 65536,
	MaxMapPairs:      65536,
	// Manifests come from untrusted files: duplicate keys would let two
	// readers see two different claims.
	DupMapKey: cbor.DupMapKeyEnforcedAPF,
}.DecMode()

func parseManifestStore(b []byte, lim Limits) (*ManifestStore, error) {
	return parseAndVerify(b, nil, lim)
}

// parseAndVerify parses the store and, when asset is not nil, verifies each
// manifest against it.
func parseAndVerify(b, asset []byte, lim Limits) (*ManifestStore, error) {
	if len(b) > lim.MaxMetadataBytes {
		return nil, fmt.Errorf("manifest store is %d bytes, over %d", len(b), lim.MaxMetadataBytes)
	}
	boxes, err := parseBoxes(b, 0)
	if err != nil {
		return nil, err
	}
	if len(boxes) == 0 || boxes[0].label != "c2pa" {
		return nil, errors.New("no c2pa superbox")
	}
	store := &ManifestStore{}
	for _, mb := range boxes[0].children {
		if mb.typ != "jumb" {
			continue
		}
		m := Manifest{Label: mb.label, Signature: "unverified"}
		claim := mb.child("c2pa.claim.v2")
		if claim == nil {
			claim = mb.child("c2pa.claim")
		}
		if claim == nil {
			return nil, fmt.Errorf("manifest %q has no claim", mb.label)
		}
		m.claimCBOR = claim.content("cbor")
		var c map[string]any
		if err := cborDec.Unmarshal(m.claimCBOR, &c); err != nil {
			return nil, fmt.Errorf("manifest %q claim: %w", mb.label, err)
		}
		m.ClaimGenerator = claimGenerator(c)
		if sig := mb.child("c2pa.signature"); sig != nil {
			m.signatureCOSE = sig.content("cbor")
		}
		if as := mb.child("c2pa.assertions"); as != nil {
			for i := range as.children {
				a := &as.children[i]
				if a.label != "c2pa.actions" && a.label != "c2pa.actions.v2" {
					continue
				}
				var v struct {
					Actions []map[string]any `cbor:"actions"`
				}
				if err := cborDec.Unmarshal(a.content("cbor"), &v); err != nil {
					return nil, fmt.Errorf("manifest %q %s: %w", mb.label, a.label, err)
				}
				for _, act := range v.Actions {
					if s, ok := act["action"].(string); ok {
						m.Actions = append(m.Actions, s)
					}
					if s, ok := act["digitalSourceType"].(string); ok && !slices.Contains(m.DigitalSourceTypes, s) {
						m.DigitalSourceTypes = append(m.DigitalSourceTypes, s)
					}
					if s := agentName(act["softwareAgent"]); s != "" {
						m.SoftwareAgents = append(m.SoftwareAgents, s)
					}
				}
			}
		}
		store.Manifests = append(store.Manifests, m)
	}
	if asset != nil {
		mbs := boxes[0].children[:0:0]
		for _, mb := range boxes[0].children {
			if mb.typ == "jumb" {
				mbs = append(mbs, mb)
			}
		}
		for i := range store.Manifests {
			verifyManifest(&store.Manifests[i], &mbs[i], asset, i == len(store.Manifests)-1)
		}
	}
	return store, nil
}

// claimGenerator reads claim_generator (v1 claims) or the first entry of
// claim_generator_info (v2 claims), "name/version".
func claimGenerator(c map[string]any) string {
	if s, ok := c["claim_generator"].(string); ok {
		return s
	}
	info := c["claim_generator_info"]
	if arr, ok := info.([]any); ok && len(arr) > 0 {
		info = arr[0]
	}
	return agentName(info)
}

func agentName(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case map[any]any:
		name, _ := t["name"].(string)
		if ver, ok := t["version"].(string); ok && name != "" {
			return name + "/" + ver
		}
		return name
	}
	return ""
}
