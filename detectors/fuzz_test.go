package detectors

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// maxSeed keeps fuzz seeds small: Go's mutator slows to a handful of execs
// per second on inputs of a hundred kilobytes, which the C2PA fixtures are.
const maxSeed = 16 << 10

// encodeBoxes writes a JUMBF tree back out, dropping content boxes larger
// than keep bytes (thumbnails, certificate chains) so a real manifest
// store's structure fits in a small fuzz seed.
func encodeBoxes(boxes []jumbf, keep int) []byte {
	var out []byte
	for _, b := range boxes {
		var body []byte
		if b.typ == "jumb" {
			desc := make([]byte, 17, 18+len(b.label))
			desc[16] = 0x03
			desc = append(append(desc, b.label...), 0)
			body = appendBox(nil, "jumd", desc)
			body = append(body, encodeBoxes(b.children, keep)...)
		} else if len(b.payload) <= keep {
			body = b.payload
		} else {
			continue
		}
		out = appendBox(out, b.typ, body)
	}
	return out
}

func appendBox(out []byte, typ string, body []byte) []byte {
	out = binary.BigEndian.AppendUint32(out, uint32(8+len(body)))
	out = append(out, typ...)
	return append(out, body...)
}

// seedFixtures adds every media fixture as a seed, so the fuzzer starts
// from real C2PA, EXIF and generator layouts.
func seedFixtures(f *testing.F, add func([]byte)) {
	files, _ := filepath.Glob(filepath.Join(fixtures, "*", "*.*"))
	more, _ := filepath.Glob(filepath.Join(fixtures, "*", "*", "*.*"))
	for _, p := range append(files, more...) {
		if filepath.Ext(p) == ".md" {
			continue
		}
		if b, err := os.ReadFile(p); err == nil {
			add(b)
		}
	}
}

// containers walks an image's chunks or segments only, leaving the raw
// EXIF, XMP and JUMBF bytes in the report for seeding the inner fuzzers.
func containers(b []byte) *Report {
	r := &Report{text: map[string]string{}}
	lim := Limits{}
	lim.EnsureDefaults()
	if len(b) > 3 && b[0] == 0xFF && b[1] == 0xD8 {
		_ = readJPEG(b, lim, r)
	} else if len(b) > 8 {
		_ = readPNG(b, lim, r)
	}
	return r
}

// FuzzInspect drives the PNG and JPEG readers and everything behind them.
func FuzzInspect(f *testing.F) {
	seedFixtures(f, func(b []byte) {
		if len(b) <= maxSeed {
			f.Add(b)
		}
	})
	f.Add(pngWith(1, 1, [2]string{"tEXt", "parameters\x00Steps: 1, Seed: 2"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Inspect(b, Limits{MaxMetadataBytes: 1 << 20, MaxPixels: 1 << 20})
		if err != nil {
			return
		}
		// Findings must be derivable from any report without panicking.
		_ = r.Findings(0)
	})
}

// FuzzManifestStore drives the JUMBF box parser, the CBOR claim and
// assertion decoding, and the COSE/hash verification on reassembled
// manifest stores.
func FuzzManifestStore(f *testing.F) {
	seedFixtures(f, func(b []byte) {
		r := containers(b)
		if len(r.jumb) > 0 {
			boxes, err := parseBoxes(r.jumb, 0)
			if err != nil {
				return
			}
			if seed := encodeBoxes(boxes, 2048); len(seed) <= maxSeed {
				f.Add(seed)
			}
		}
	})
	f.Fuzz(func(t *testing.T, b []byte) {
		// The store doubles as the asset, so hash-binding exclusions are
		// exercised too.
		s, err := parseAndVerify(b, b, Limits{MaxMetadataBytes: 1 << 20})
		if err == nil && s == nil {
			t.Fatal("nil store without error")
		}
	})
}

// FuzzEXIF drives the TIFF/IFD reader and UserComment decoding.
func FuzzEXIF(f *testing.F) {
	seedFixtures(f, func(b []byte) {
		r := containers(b)
		if len(r.exif) > 0 && len(r.exif) <= maxSeed {
			f.Add(r.exif)
		}
	})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = readEXIF(b)
	})
}

// FuzzXMP drives the XMP property reader.
func FuzzXMP(f *testing.F) {
	f.Add([]byte(`<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:dcterms="http://purl.org/dc/terms/" dcterms:provenance="self#jumbf=/c2pa"/></rdf:RDF></x:xmpmeta>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = readXMP(b)
	})
}
