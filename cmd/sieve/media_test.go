package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
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
	var in strings.Builder
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
		b, _ := json.Marshal(msg)
		in.Write(append(b, '\n'))
	}
	path := filepath.Join(t.TempDir(), "in.jsonl")
	if err := os.WriteFile(path, []byte(in.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := Main([]string{"classify", "--in", path}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
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
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
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
