package vision_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sieve-stream/sieve/internal/edit"

	"github.com/sieve-stream/sieve/internal/onnxrt"
	"github.com/sieve-stream/sieve/internal/textimage"
	"github.com/sieve-stream/sieve/vision"
)

func loadOCR(t testing.TB) *vision.OCR {
	t.Helper()
	if _, err := onnxrt.Library(""); err != nil {
		t.Skipf("ONNX Runtime is not installed here (run ./scripts/test-deps.sh): %v", err)
	}
	dir := filepath.Join(repoCache, "vision", "ocr")
	if _, err := os.Stat(filepath.Join(dir, vision.OCRDetector)); err != nil {
		t.Skipf("PP-OCRv4 is not installed here (run ./scripts/vision-models.sh): %v", err)
	}
	m, err := vision.LoadOCR(dir, "", onnxrt.Options{}, vision.OCROptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// Render draws text with Go's own font (Go Regular) at size pixels on a
// light or dark background, then turns it by deg degrees about its centre.
func Render(t testing.TB, text string, size float64, dark bool, deg float64) image.Image {
	t.Helper()
	st := textimage.Style{Size: size, Degrees: deg}
	if dark {
		st.BG, st.FG = color.NRGBA{25, 30, 45, 255}, color.NRGBA{245, 245, 235, 255}
	}
	img, err := textimage.Render(text, st)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// ocrCases are 300 strings of the kinds a moderation queue sees in images:
// sentences, URLs, phone numbers and mixed-case words, each under one
// condition of size, background and rotation.
type ocrCase struct {
	text string
	kind string
	size float64
	dark bool
	deg  float64
}

func ocrCases() []ocrCase {
	sentences := []string{
		"Meet me at the station at noon", "This product broke after two days", "Free shipping on all orders today",
		"The quick brown fox jumps over the lazy dog", "Please send your password to verify", "We are closed on public holidays",
		"Your parcel could not be delivered", "Limited offer ends this Friday", "Thank you for your order", "Call now to claim your prize",
		"Breaking news from the city council", "Best pizza in town since 1998", "You have won a gift card", "Join our team of volunteers",
		"Warning: slippery floor ahead", "Open every day from 9 to 5", "Happy birthday to my best friend", "Vote for change this November",
		"Do not feed the animals", "Tickets sold out for tonight",
	}
	words := []string{"hello", "world", "sieve", "stream", "kafka", "review", "garden", "planet", "silver", "window", "orange", "market", "travel", "winter", "rocket"}
	r := rand.New(rand.NewPCG(11, 17))
	mixed := func(w string) string {
		b := []byte(w)
		for i := range b {
			if r.IntN(2) == 0 && b[i] >= 'a' && b[i] <= 'z' {
				b[i] -= 'a' - 'A'
			}
		}
		return string(b)
	}
	var texts []ocrCase
	for i := 0; len(texts) < 300; i++ {
		var text, kind string
		switch i % 4 {
		case 0:
			text, kind = sentences[(i/4)%len(sentences)], "sentence"
		case 1:
			tlds := []string{"com", "net", "org", "io", "test"}
			text = fmt.Sprintf("https://www.%s-%s.%s/%s%d", words[r.IntN(len(words))], words[r.IntN(len(words))], tlds[r.IntN(len(tlds))], words[r.IntN(len(words))], r.IntN(100))
			kind = "url"
		case 2:
			formats := []string{"+1 (%03d) %03d-%04d", "%03d-%03d-%04d", "+44 %03d %03d %04d"}
			text = fmt.Sprintf(formats[r.IntN(len(formats))], 200+r.IntN(700), r.IntN(1000), r.IntN(10000))
			kind = "phone"
		default:
			text = mixed(words[r.IntN(len(words))]) + " " + mixed(words[r.IntN(len(words))]) + " " + mixed(words[r.IntN(len(words))])
			kind = "mixed case"
		}
		sizes := []float64{16, 24, 36}
		degs := []float64{0, 0, 0, 2, -3, 5, -5}
		texts = append(texts, ocrCase{text: text, kind: kind, size: sizes[i%3], dark: (i/3)%2 == 1, deg: degs[i%len(degs)]})
	}
	return texts
}

func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestOCRCharacterErrorRate reads 300 rendered strings; the character error
// rate (edits over reference characters, spaces included, runs of space
// counted once) must be at most 5% overall, and is reported per condition.
func TestOCRCharacterErrorRate(t *testing.T) {
	if testing.Short() {
		t.Skip("300 images through OCR: the full (not -short) run measures it; under -race it takes minutes")
	}
	m := loadOCR(t)
	cases := ocrCases()
	type tally struct{ edits, chars int }
	by := map[string]*tally{}
	add := func(k string, e, n int) {
		if by[k] == nil {
			by[k] = &tally{}
		}
		by[k].edits += e
		by[k].chars += n
	}
	const batch = 8
	var worst []string
	for start := 0; start < len(cases); start += batch {
		cs := cases[start:min(len(cases), start+batch)]
		imgs := make([]image.Image, len(cs))
		for i, c := range cs {
			imgs[i] = Render(t, c.text, c.size, c.dark, c.deg)
		}
		lines, err := m.Read(context.Background(), imgs, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range cs {
			got := squash(vision.Text(lines[i]))
			want := []rune(squash(c.text))
			e := edit.Distance([]rune(got), want)
			bg := "light"
			if c.dark {
				bg = "dark"
			}
			rot := "upright"
			if c.deg != 0 {
				rot = "rotated"
			}
			add("all", e, len(want))
			add("kind="+c.kind, e, len(want))
			add(fmt.Sprintf("size=%gpx", c.size), e, len(want))
			add("background="+bg, e, len(want))
			add("rotation="+rot, e, len(want))
			if e > 0 {
				worst = append(worst, fmt.Sprintf("%d edits: %q read as %q (%gpx, %s, %g°)", e, c.text, got, c.size, bg, c.deg))
			}
		}
	}
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("CER %-22s %5.2f%% (%d edits / %d characters)", k, 100*float64(by[k].edits)/float64(by[k].chars), by[k].edits, by[k].chars)
	}
	for i, w := range worst {
		if i == 15 {
			t.Logf("... and %d more strings with errors", len(worst)-15)
			break
		}
		t.Log(w)
	}
	if cer := float64(by["all"].edits) / float64(by["all"].chars); cer > 0.05 {
		t.Errorf("character error rate %.2f%% over 300 strings; the target is at most 5%%", 100*cer)
	}
}
