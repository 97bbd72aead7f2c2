package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sieve-stream/sieve/internal/onnxrt"
	"github.com/sieve-stream/sieve/internal/textimage"
	"github.com/sieve-stream/sieve/vision"
)

var updateExamples = flag.Bool("update-examples", false, "rewrite examples/media's generated images")

// exampleImages are the pictures of examples/media (docs/media.md): made
// here, with Go's fonts, so that their text is known exactly.
func exampleImages(t *testing.T) map[string]image.Image {
	t.Helper()
	// A meme: a photo-like backdrop (sky and ground, with grain) and a
	// bold caption.
	bg := image.NewNRGBA(image.Rect(0, 0, 480, 320))
	for y := range 320 {
		for x := range 480 {
			grain := 6 * math.Sin(float64(x*7+y*13))
			c := color.NRGBA{uint8(90 + grain), uint8(150 + grain), uint8(210 + grain), 255}
			if y > 200 {
				c = color.NRGBA{uint8(70 + grain), uint8(120 + grain), uint8(50 + grain), 255}
			}
			bg.SetNRGBA(x, y, c)
		}
	}
	meme, err := textimage.Render("YOU ARE A WORTHLESS\nSTUPID IDIOT", textimage.Style{Size: 34, Bold: true, FG: color.White, Background: bg})
	if err != nil {
		t.Fatal(err)
	}
	prize, err := textimage.Render("WIN $1000 call 555-0199 now\nwww.example-prize.test", textimage.Style{Size: 28, Degrees: 2})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]image.Image{"meme.png": meme, "prize.png": prize}
}

// TestMediaVerdicts runs `sieve classify` with no config over messages
// that are only an image: a meme whose caption is an insult gets
// harassment through OCR, a picture of a prize offer gets spam, and an
// image nsfwjs reads as porn is flagged sexual. The verdict says which
// image the text came from.
func TestMediaVerdicts(t *testing.T) {
	ex := filepath.Join("..", "..", "examples", "media")
	imgs := exampleImages(t)
	for name, img := range imgs {
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(ex, name)
		if *updateExamples {
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		} else if have, err := os.ReadFile(path); err != nil || !bytes.Equal(have, b.Bytes()) {
			t.Fatalf("%s is not what its generator makes (%v): go test ./cmd/sieve -run TestMediaVerdicts -update-examples", path, err)
		}
	}
	if _, err := onnxrt.Library(""); err != nil {
		t.Skipf("ONNX Runtime is not installed here (run ./scripts/test-deps.sh): %v", err)
	}
	dir := vision.Dir("")
	for _, f := range []string{vision.NSFWPath(dir, "mobilenet_v2"), filepath.Join(vision.OCRDir(dir), vision.OCRRecogniser)} {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("the vision models are not installed here (make vision-models): %v", err)
		}
	}
	var msgs []any
	for _, m := range []struct{ id, file string }{
		{"meme", filepath.Join(ex, "meme.png")},
		{"prize", filepath.Join(ex, "prize.png")},
		{"nsfw", filepath.Join(ex, "skin.jpg")},
		{"caption-and-photo", filepath.Join(ex, "meme.png")},
	} {
		raw, err := os.ReadFile(m.file)
		if err != nil {
			t.Fatal(err)
		}
		msg := map[string]any{"id": m.id, "media": []map[string]string{{"data": base64.StdEncoding.EncodeToString(raw)}}}
		if m.id == "caption-and-photo" {
			// The text is harmless; the second image is the meme.
			msg["text"] = "look at this lol"
			msg["media"] = []map[string]string{{"data": base64.StdEncoding.EncodeToString(mustRead(t, filepath.Join(ex, "prize.png")))}, {"data": base64.StdEncoding.EncodeToString(raw)}}
		}
		msgs = append(msgs, msg)
	}
	lines := classifyLines(t, "", msgs...)
	type verdict struct {
		ID       string             `json:"id"`
		Flags    []string           `json:"flags"`
		Labels   map[string]float64 `json:"labels"`
		Decision string             `json:"decision"`
		Findings []struct {
			Detector, Signal, Detail, Label string
			Media                           *int
		} `json:"findings"`
		Parts []struct {
			Source string   `json:"source"`
			Media  *int     `json:"media"`
			Text   string   `json:"text"`
			Flags  []string `json:"flags"`
		} `json:"parts"`
	}
	got := map[string]verdict{}
	for _, line := range lines {
		var v verdict
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatal(err)
		}
		got[v.ID] = v
		t.Logf("%s: flags %v decision %s parts %+v", v.ID, v.Flags, v.Decision, v.Parts)
	}
	ocrPart := func(v verdict, media int, label string) bool {
		for _, p := range v.Parts {
			if p.Source == "ocr" && p.Media != nil && *p.Media == media && slices.Contains(p.Flags, label) {
				return true
			}
		}
		return false
	}
	if v := got["meme"]; !slices.Contains(v.Flags, "harassment") || !ocrPart(v, 0, "harassment") {
		t.Errorf("meme: flags %v, parts %+v; want harassment from the text of image 0", v.Flags, v.Parts)
	}
	if v := got["prize"]; !slices.Contains(v.Flags, "spam") || !ocrPart(v, 0, "spam") {
		t.Errorf("prize: flags %v, parts %+v; want spam from the text of image 0", v.Flags, v.Parts)
	}
	if v := got["nsfw"]; !slices.Contains(v.Flags, "sexual") || v.Labels["nsfw_porn"] < 0.5 {
		t.Errorf("nsfw: flags %v, nsfw_porn %.3f; want sexual", v.Flags, v.Labels["nsfw_porn"])
	}
	v := got["caption-and-photo"]
	if !ocrPart(v, 1, "harassment") || ocrPart(v, 0, "harassment") {
		t.Errorf("caption-and-photo: parts %+v; want harassment from image 1 only", v.Parts)
	}
	found := false
	for _, f := range v.Findings {
		if f.Detector == "ocr" && f.Signal == "harassment" && f.Media != nil && *f.Media == 1 {
			found = true
		}
	}
	if !found {
		t.Errorf("caption-and-photo: findings %+v; want an ocr finding for harassment on media 1", v.Findings)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pngSized is a 1x1 PNG whose header claims w x h pixels (its CRC
// recomputed, so that only the size is wrong).
func pngSized(t *testing.T, w, h uint32) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewNRGBA(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	p := b.Bytes()
	binary.BigEndian.PutUint32(p[16:], w)
	binary.BigEndian.PutUint32(p[20:], h)
	binary.BigEndian.PutUint32(p[29:], crc32.ChecksumIEEE(p[12:29]))
	return p
}

// TestMediaBadInput: images that are huge, truncated, of zero size, one
// pixel, or not images at all each give the message a verdict with a
// finding that says why (or, for a message with nothing readable, a
// verdict all the same): never a crash, never a lost message.
func TestMediaBadInput(t *testing.T) {
	if _, err := onnxrt.Library(""); err != nil {
		t.Skipf("ONNX Runtime is not installed here (run ./scripts/test-deps.sh): %v", err)
	}
	dir := vision.Dir("")
	if _, err := os.Stat(vision.NSFWPath(dir, "mobilenet_v2")); err != nil {
		t.Skipf("the vision models are not installed here (make vision-models): %v", err)
	}
	meme := mustRead(t, filepath.Join("..", "..", "examples", "media", "meme.png"))
	jpg := mustRead(t, filepath.Join("..", "..", "examples", "media", "skin.jpg"))
	var one bytes.Buffer
	png.Encode(&one, image.NewNRGBA(image.Rect(0, 0, 1, 1)))
	tests := []struct {
		id   string
		data string
		want string // a finding's detector/signal the verdict must have
	}{
		{"huge", base64.StdEncoding.EncodeToString(pngSized(t, 100000, 100000)), "vision/unreadable"},
		{"zero-size", base64.StdEncoding.EncodeToString(pngSized(t, 0, 0)), "unreadable"},
		{"truncated-png", base64.StdEncoding.EncodeToString(meme[:len(meme)/2]), "unreadable"},
		{"truncated-jpeg", base64.StdEncoding.EncodeToString(jpg[:len(jpg)/3]), "unreadable"},
		{"garbage", base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\nnot really")), "unreadable"},
		{"not-base64", "%%%", "media/unreadable"},
		{"one-pixel", base64.StdEncoding.EncodeToString(one.Bytes()), ""},
	}
	var msgs []any
	for _, tt := range tests {
		msgs = append(msgs, map[string]any{"id": tt.id, "media": []map[string]string{{"data": tt.data}}})
	}
	lines := classifyLines(t, "", msgs...)
	for i, tt := range tests {
		var v struct {
			ID       string             `json:"id"`
			Labels   map[string]float64 `json:"labels"`
			Findings []struct{ Detector, Signal, Detail string }
		}
		if err := json.Unmarshal([]byte(lines[i]), &v); err != nil {
			t.Fatal(err)
		}
		var fs []string
		for _, f := range v.Findings {
			fs = append(fs, f.Detector+"/"+f.Signal)
		}
		t.Logf("%s: %v %v", tt.id, fs, v.Findings)
		if tt.want == "" {
			if _, ok := v.Labels["nsfw_porn"]; !ok {
				t.Errorf("%s: no NSFW scores (labels %v)", tt.id, v.Labels)
			}
			continue
		}
		if !slices.ContainsFunc(fs, func(f string) bool { return strings.HasSuffix(f, tt.want) }) {
			t.Errorf("%s: findings %v, want %s", tt.id, fs, tt.want)
		}
	}
}
