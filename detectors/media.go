// Package detectors reads the evidence an image carries about where it came
// from: C2PA manifest stores, IPTC digital source types in XMP, EXIF software
// tags and the text chunks that image-generation tools write. It parses bytes
// only; it never fetches the remote manifests those files point to.
package detectors

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // decoders for the watermark path
	_ "image/png"
	"time"
)

// Finding is one piece of evidence, in the shape of the verdict's `findings`
// array (see docs/contract.md).
type Finding struct {
	Detector string `json:"detector"`
	Media    int    `json:"media"`
	Signal   string `json:"signal"`
	Detail   string `json:"detail,omitempty"`
	Label    string `json:"label,omitempty"` // the label it flags (contract.Finding.Label)
}

// Limits bound the work one image may cost. Zero fields take the defaults
// from EnsureDefaults, so a zero Limits is safe.
type Limits struct {
	// MaxBytes refuses inputs larger than this.
	MaxBytes int
	// MaxMetadataBytes caps the bytes any one decompressed text chunk or
	// reassembled manifest store may take, so a zTXt or JUMBF bomb costs at
	// most this much memory.
	MaxMetadataBytes int
	// MaxChunks caps the number of PNG chunks or JPEG segments walked.
	MaxChunks int
	// MaxPixels refuses, from the header alone, images that would decode
	// to more pixels than this.
	MaxPixels int
	// MaxDecodeBytes is one message's memory budget for decoded pixels,
	// over all its images (Stage; default 256 MiB): four images each
	// under MaxPixels must not add up to gigabytes.
	MaxDecodeBytes int64
	// MaxMedia is how many of a message's images are read (Stage; default
	// 16); the rest get one "too_many_media" finding.
	MaxMedia int
	// MessageTimeout bounds all of one message's URL fetches together
	// (Stage; default 20s), so that slow URLs cannot stall a message, and
	// the ones behind it, for long.
	MessageTimeout time.Duration
}

// EnsureDefaults fills zero fields.
func (l *Limits) EnsureDefaults() {
	if l.MaxBytes <= 0 {
		l.MaxBytes = 16 << 20
	}
	if l.MaxMetadataBytes <= 0 {
		l.MaxMetadataBytes = 4 << 20
	}
	if l.MaxChunks <= 0 {
		l.MaxChunks = 10000
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = defaultMaxPixels
	}
	if l.MaxDecodeBytes <= 0 {
		l.MaxDecodeBytes = 256 << 20
	}
	if l.MaxMedia <= 0 {
		l.MaxMedia = 16
	}
	if l.MessageTimeout <= 0 {
		l.MessageTimeout = 20 * time.Second
	}
}

// ErrDecodeBudget is returned, before any pixel is decoded, for an image
// whose pixels would overrun its message's MaxDecodeBytes.
var ErrDecodeBudget = errors.New("image's pixels are over the message's decode budget")

// ErrUnsupported is returned for bytes that are neither PNG nor JPEG; callers
// treat it as "no evidence", not as a failure of the message.
var ErrUnsupported = errors.New("unsupported image format")

// Report is everything read from one image.
type Report struct {
	Format string `json:"format"`
	// C2PA is the embedded manifest store, nil when the file has none.
	C2PA *ManifestStore `json:"c2pa,omitempty"`
	// RemoteManifest is an XMP dcterms:provenance pointer to a manifest
	// outside the file. A "self#jumbf=" pointer with no embedded store is
	// reported as DanglingProvenance instead: it proves nothing.
	RemoteManifest     string `json:"remote_manifest,omitempty"`
	DanglingProvenance string `json:"dangling_provenance,omitempty"`
	// DigitalSourceType is IPTC's Iptc4xmpExt:DigitalSourceType from XMP.
	DigitalSourceType string `json:"digital_source_type,omitempty"`
	CreatorTool       string `json:"creator_tool,omitempty"`
	Software          string `json:"software,omitempty"`
	UserComment       string `json:"user_comment,omitempty"`
	// Generator is the generation tool named by the file's metadata.
	Generator *Generator `json:"generator,omitempty"`
	// Watermarks is one result per known payload when the Inspector
	// decodes watermarks.
	Watermarks []WatermarkResult `json:"watermarks,omitempty"`
	// WatermarkError says why the pixels could not be read.
	WatermarkError string `json:"watermark_error,omitempty"`
	// overBudget: the pixels were not decoded, for the message's budget.
	overBudget bool

	pixels image.Image // decoded when a pixel check ran
	text   map[string]string
	xmp    []byte
	exif   []byte
	jumb   []byte
}

// Inspect reads the metadata of one PNG or JPEG image, with no trust list:
// signatures are checked, signers are not trusted.
func Inspect(data []byte, lim Limits) (*Report, error) {
	return (&Inspector{Limits: lim}).Inspect(data)
}

// Inspector reads images with fixed limits and trust anchors.
type Inspector struct {
	Limits Limits
	// Trust holds the anchors a C2PA signer's certificate chain must lead
	// to for its manifest to be reported trusted; nil trusts no one.
	Trust *x509.CertPool
	// Now is the time certificates are checked at; nil means time.Now.
	Now func() time.Time
	// Watermark decodes the pixels and looks for the invisible watermarks
	// of open generators (DecodeWatermarks). It is the costly part.
	Watermark bool
	// Reserve, when set, is asked for the bytes an image's pixels will take
	// before they are decoded; false refuses the decode (ErrDecodeBudget).
	Reserve func(bytes int64) bool
}

// Inspect reads the metadata of one PNG or JPEG image.
func (in *Inspector) Inspect(data []byte) (*Report, error) {
	lim := in.Limits
	lim.EnsureDefaults()
	if len(data) > lim.MaxBytes {
		return nil, fmt.Errorf("image is %d bytes, over the %d byte limit", len(data), lim.MaxBytes)
	}
	r := &Report{text: map[string]string{}}
	var err error
	switch {
	case bytes.HasPrefix(data, pngMagic):
		r.Format = "png"
		err = readPNG(data, lim, r)
	case len(data) >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF:
		r.Format = "jpeg"
		err = readJPEG(data, lim, r)
	default:
		return nil, ErrUnsupported
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", r.Format, err)
	}
	if len(r.exif) > 0 {
		// A broken EXIF block costs us its fields, not the rest of the report.
		if ex, err := readEXIF(r.exif); err == nil {
			r.Software, r.UserComment = ex.Software, ex.UserComment
		}
	}
	if len(r.xmp) > 0 {
		x := readXMP(r.xmp)
		r.DigitalSourceType, r.CreatorTool = x.DigitalSourceType, x.CreatorTool
		if x.Provenance != "" {
			if bytes.HasPrefix([]byte(x.Provenance), []byte("self#jumbf=")) {
				if len(r.jumb) == 0 {
					r.DanglingProvenance = x.Provenance
				}
			} else {
				r.RemoteManifest = x.Provenance
			}
		}
	}
	if len(r.jumb) > 0 {
		store, err := parseAndVerify(r.jumb, data, lim)
		if err == nil && in.Trust != nil {
			in.checkTrust(store)
		}
		if err != nil {
			// The file claims provenance it cannot back up; say so rather
			// than dropping the evidence.
			store = &ManifestStore{Error: err.Error()}
		}
		r.C2PA = store
	}
	r.Generator = detectGenerator(r.text, r.UserComment, r.Software)
	// Pixels are decoded at most once, for whichever checks need them:
	// stealth pnginfo when the metadata named no generator, and the
	// watermark when asked for.
	stealth := r.Generator == nil && pngHasAlpha(data)
	if stealth || in.Watermark {
		img, err := decodePixels(data, lim.MaxPixels, in.Reserve)
		switch {
		case err != nil:
			// A file too large to decode is still reported on from its
			// metadata.
			if in.Watermark {
				r.WatermarkError = err.Error()
			}
			r.overBudget = errors.Is(err, ErrDecodeBudget)
		default:
			r.pixels = img
			if stealth {
				if s, err := readStealth(img, lim.MaxMetadataBytes); err == nil && s != "" {
					if g := a1111(s); g != nil {
						g.Via = "stealth_pnginfo"
						r.Generator = g
					}
				}
			}
			if in.Watermark {
				r.Watermarks = DecodeWatermarks(img)
			}
		}
	}
	return r, nil
}

// decodePixels refuses pixel bombs from the header, and images over the
// budget reserve keeps (nil: none), then decodes.
func decodePixels(data []byte, maxPixels int, reserve func(int64) bool) (image.Image, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if err := checkPixels(cfg.Width, cfg.Height, maxPixels); err != nil {
		return nil, err
	}
	if reserve != nil && !reserve(pixelBytes(cfg)) {
		return nil, fmt.Errorf("%w: %dx%d", ErrDecodeBudget, cfg.Width, cfg.Height)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return img, nil
}

// pixelBytes is what decoding an image of cfg takes: 8 bytes a pixel for
// 16-bit colour models, 4 for the rest.
func pixelBytes(cfg image.Config) int64 {
	per := int64(4)
	switch cfg.ColorModel {
	case color.RGBA64Model, color.NRGBA64Model, color.Gray16Model:
		per = 8
	}
	return int64(cfg.Width) * int64(cfg.Height) * per
}

// Findings turns a report into the verdict's findings for media index i.
func (r *Report) Findings(i int) []Finding {
	var out []Finding
	add := func(det, sig, detail string) {
		out = append(out, Finding{Detector: det, Media: i, Signal: sig, Detail: detail})
	}
	if r.overBudget {
		add("media", "over_decode_budget", "pixels not read: the message's images are over media.max_decode_bytes")
	}
	if s := r.C2PA; s != nil {
		if s.Error != "" {
			add("c2pa", "c2pa_malformed", s.Error)
		}
		for _, m := range s.Manifests {
			detail := "claim generator: " + m.ClaimGenerator + "; " + m.Signature
			if m.Signer != "" {
				detail += " by " + m.Signer
			}
			add("c2pa", "c2pa_manifest", detail)
			switch m.Signature {
			case "signed_invalid":
				add("c2pa", "c2pa_signature_invalid", m.SignatureError+m.HashError)
			case "unverified":
				add("c2pa", "c2pa_unverified", m.SignatureError)
			}
			if m.Signature == "signed_valid" && m.Trusted {
				add("c2pa", "c2pa_trusted_signer", m.Signer)
			}
			for _, dst := range m.DigitalSourceTypes {
				add("c2pa", sourceTypeSignal(dst), detail)
			}
		}
	}
	if r.RemoteManifest != "" {
		add("c2pa", "c2pa_remote_manifest", r.RemoteManifest)
	}
	if r.DanglingProvenance != "" {
		add("c2pa", "c2pa_dangling_pointer", r.DanglingProvenance)
	}
	if r.DigitalSourceType != "" {
		add("iptc", sourceTypeSignal(r.DigitalSourceType), r.DigitalSourceType)
	}
	for _, w := range r.Watermarks {
		if w.Marked {
			add("watermark", "invisible_watermark", fmt.Sprintf("payload %s, bit agreement %.2f, contrast %.2f", w.Payload, w.Agreement, w.Contrast))
		}
	}
	if g := r.Generator; g != nil {
		detail := "tool: " + g.Tool
		if g.Model != "" {
			detail += ", model: " + g.Model
		}
		if g.Seed != "" {
			detail += ", seed: " + g.Seed
		}
		if g.Via != "" {
			detail += ", via: " + g.Via
		}
		add("generator_metadata", "generator_metadata", detail)
	}
	return out
}

// sourceTypeSignal maps an IPTC digital source type URI to a snake_case
// signal name: ".../trainedAlgorithmicMedia" becomes
// "trained_algorithmic_media".
func sourceTypeSignal(uri string) string {
	name := uri
	if i := bytes.LastIndexByte([]byte(uri), '/'); i >= 0 {
		name = uri[i+1:]
	}
	var b []byte
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'A' && c <= 'Z' {
			if i > 0 {
				b = append(b, '_')
			}
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return string(b)
}
