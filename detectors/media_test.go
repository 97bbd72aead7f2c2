package detectors

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/pipeline"
)

const fixtures = "../../shared/fixtures/media"

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Skipf("media fixture %s not available (the shared fixtures sit beside the repo): %v", name, err)
	}
	return b
}

func signals(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Signal)
	}
	return out
}

func TestC2PAFixtures(t *testing.T) {
	const iptc = "http://cv.iptc.org/newscodes/digitalsourcetype/"
	tests := []struct {
		file       string
		manifests  int
		generators []string // claim generator prefix per manifest
		sources    []string // digital source types across manifests
		actions    []string // actions of the active manifest
	}{
		{"c2pa/C.jpg", 1, []string{"make_test_images/0.33.1"}, []string{iptc + "algorithmicMedia"}, []string{"c2pa.created"}},
		{"c2pa/CA.jpg", 1, []string{"make_test_images/0.33.1"}, nil, []string{"c2pa.opened", "c2pa.color_adjustments"}},
		{"c2pa/ocsp.jpg", 2, []string{"Adobe_Firefly", "Adobe_Photoshop/26.9.0"},
			[]string{iptc + "trainedAlgorithmicMedia", iptc + "compositeWithTrainedAlgorithmicMedia"},
			[]string{"c2pa.opened", "c2pa.cropped", "c2pa.edited"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r, err := Inspect(fixture(t, tt.file), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if r.C2PA == nil || r.C2PA.Error != "" {
				t.Fatalf("manifest store = %+v, want one parsed", r.C2PA)
			}
			if got := len(r.C2PA.Manifests); got != tt.manifests {
				t.Fatalf("manifests = %d, want %d", got, tt.manifests)
			}
			var sources []string
			for i, m := range r.C2PA.Manifests {
				if !strings.HasPrefix(m.ClaimGenerator, tt.generators[i]) {
					t.Errorf("manifest %d claim generator %q, want prefix %q", i, m.ClaimGenerator, tt.generators[i])
				}
				sources = append(sources, m.DigitalSourceTypes...)
			}
			if strings.Join(sources, ",") != strings.Join(tt.sources, ",") {
				t.Errorf("digital source types %v, want %v", sources, tt.sources)
			}
			if got := r.C2PA.Active().Actions; strings.Join(got, ",") != strings.Join(tt.actions, ",") {
				t.Errorf("active actions %v, want %v", got, tt.actions)
			}
			if r.RemoteManifest != "" || r.DanglingProvenance != "" {
				t.Errorf("embedded store also reported as pointer: %q %q", r.RemoteManifest, r.DanglingProvenance)
			}
		})
	}
}

func TestProvenancePointers(t *testing.T) {
	r, err := Inspect(fixture(t, "c2pa/libpng-test_with_url.png"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if r.C2PA != nil || r.RemoteManifest != "http://localhost:5000/libpng-test.c2pa" {
		t.Errorf("remote pointer file: store %v, remote %q", r.C2PA, r.RemoteManifest)
	}
	if got := signals(r.Findings(0)); strings.Join(got, ",") != "c2pa_remote_manifest" {
		t.Errorf("findings %v", got)
	}

	r, err = Inspect(fixture(t, "c2pa/no_manifest.jpg"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if r.C2PA != nil || r.RemoteManifest != "" || !strings.HasPrefix(r.DanglingProvenance, "self#jumbf=/c2pa/") {
		t.Errorf("dangling pointer file: store %v, remote %q, dangling %q", r.C2PA, r.RemoteManifest, r.DanglingProvenance)
	}
	if got := signals(r.Findings(0)); strings.Join(got, ",") != "c2pa_dangling_pointer" {
		t.Errorf("findings %v", got)
	}
}

func TestNegativesHaveNoFindings(t *testing.T) {
	for _, f := range []string{"c2pa/earth_apollo17.jpg", "c2pa/libpng-test.png", "c2pa/sample1.png"} {
		r, err := Inspect(fixture(t, f), Limits{})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if fs := r.Findings(0); len(fs) != 0 {
			t.Errorf("%s: findings %v, want none", f, fs)
		}
	}
}

func TestGeneratorFixtures(t *testing.T) {
	tests := []struct{ file, tool, model, seed, via string }{
		{"AUTOMATIC1111/automatic1111_cropped.png", "AUTOMATIC1111", "realistic_realisticVisionV20_v20", "235284042", ""},
		{"AUTOMATIC1111/automatic1111_cropped.jpg", "AUTOMATIC1111", "realistic_realisticVisionV20_v20", "235284042", "exif_user_comment"},
		{"AUTOMATIC1111/automatic1111_stealth.png", "AUTOMATIC1111", "realisticVisionV51_v51VAE", "2015833630", "stealth_pnginfo"},
		{"ComfyUI/img2img_cropped.png", "ComfyUI", "v1-5-pruned-emaonly.ckpt", "280823642470253", ""},
		{"ComfyUI/night_evening_day_morning_cropped.png", "ComfyUI", "Anything-V3.0.ckpt", "335608130539327", ""},
		{"ComfyUI/noisy_latents_3_subjects_cropped.png", "ComfyUI", "Anything-V3.0.ckpt", "1084614416978598", ""},
		{"ComfyUI/unclip_2pass_cropped.png", "ComfyUI", "wd-1-5-beta2-aesthetic-unclip-h-fp32.safetensors", "1106257833005336", ""},
		{"Fooocus/fooocus1_cropped.png", "Fooocus", "juggernautXL_v8Rundiffusion", "6952411511246973023", ""},
		{"InvokeAI/invokeai_dream1.png", "InvokeAI", "", "2980747362", ""},
		{"InvokeAI/invokeai_imeta1.png", "InvokeAI", "juggernautXL", "3293022630", ""},
		{"InvokeAI/invokeai_sdmeta1.png", "InvokeAI", "deliberateForInvoke_v08", "2980747362", ""},
		{"NovelAI/novelai1_cropped.png", "NovelAI", "Stable Diffusion 1D44365E", "2253955223", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r, err := Inspect(fixture(t, "sd_parsers/"+tt.file), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			g := r.Generator
			if g == nil {
				t.Fatal("no generator found")
			}
			if g.Tool != tt.tool || g.Model != tt.model || g.Via != tt.via {
				t.Errorf("generator %+v, want tool %q model %q via %q", g, tt.tool, tt.model, tt.via)
			}
			if tt.seed != "" && g.Seed != tt.seed {
				t.Errorf("seed %q, want %q", g.Seed, tt.seed)
			}
			if fs := r.Findings(0); len(fs) != 1 || fs[0].Detector != "generator_metadata" || !strings.Contains(fs[0].Detail, tt.tool) {
				t.Errorf("findings %v", fs)
			}
		})
	}
}

// pngWith builds a PNG with the given header size and extra chunks.
func pngWith(w, h uint32, chunks ...[2]string) []byte {
	var b bytes.Buffer
	b.Write(pngMagic)
	put := func(typ string, body []byte) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(body)))
		b.Write(n[:])
		b.WriteString(typ)
		b.Write(body)
		c := crc32.NewIEEE()
		c.Write([]byte(typ))
		c.Write(body)
		binary.BigEndian.PutUint32(n[:], c.Sum32())
		b.Write(n[:])
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	put("IHDR", ihdr)
	for _, c := range chunks {
		put(c[0], []byte(c[1]))
	}
	put("IEND", nil)
	return b.Bytes()
}

func TestZTXtBombIsCapped(t *testing.T) {
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, 64<<20)) // 64 MiB of zeros, ~64 KiB compressed
	zw.Close()
	img := pngWith(1, 1, [2]string{"zTXt", "parameters\x00\x00" + z.String()})
	r, err := Inspect(img, Limits{MaxMetadataBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.text["parameters"]; ok {
		t.Error("a zTXt chunk inflating past MaxMetadataBytes was kept")
	}
}

func TestPixelBombRefusedFromHeader(t *testing.T) {
	// A 100000x100000 RGBA header is 40 GB of pixels; the check must fail
	// before image.Decode allocates anything.
	img := pngWith(100000, 100000)
	_, err := decodePixels(img, defaultMaxPixels, nil)
	if !errors.Is(err, ErrTooManyPixels) {
		t.Fatalf("err = %v, want ErrTooManyPixels", err)
	}
	allocs := testing.AllocsPerRun(5, func() { decodePixels(img, defaultMaxPixels, nil) })
	if allocs > 50 {
		t.Errorf("refusing the bomb took %.0f allocations", allocs)
	}
}

func TestUnsupportedAndOversized(t *testing.T) {
	if _, err := Inspect([]byte("GIF89a...."), Limits{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("gif: err = %v", err)
	}
	if _, err := Inspect(pngWith(1, 1), Limits{MaxBytes: 10}); err == nil {
		t.Error("oversized input accepted")
	}
}

func TestSourceTypeSignal(t *testing.T) {
	for in, want := range map[string]string{
		"http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia":              "trained_algorithmic_media",
		"http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia": "composite_with_trained_algorithmic_media",
		"digitalCapture": "digital_capture",
	} {
		if got := sourceTypeSignal(in); got != want {
			t.Errorf("%s -> %s, want %s", in, got, want)
		}
	}
}

// The fuzz seeds are rebuilt from the fixtures' manifest stores; check the
// rebuilt trees still parse as stores with their manifests.
func TestShrunkManifestStoreParses(t *testing.T) {
	r, err := Inspect(fixture(t, "c2pa/ocsp.jpg"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	boxes, err := parseBoxes(r.jumb, 0)
	if err != nil {
		t.Fatal(err)
	}
	seed := encodeBoxes(boxes, 2048)
	s, err := parseManifestStore(seed, Limits{MaxMetadataBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Manifests) != 2 || len(seed) > 16<<10 {
		t.Errorf("shrunk store: %d manifests in %d bytes", len(s.Manifests), len(seed))
	}
}

// Finding (issue 18): four small all-zero PNGs of 36 megapixels each took
// `sieve run` to 2 GB. A message's images now share one budget for decoded
// pixels, checked from the header before anything is decoded.
func TestDecodeBudgetPerMessage(t *testing.T) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 2000, 2000))); err != nil {
		t.Fatal(err)
	}
	data := base64.StdEncoding.EncodeToString(buf.Bytes())
	media := make([]contract.Media, 5)
	for i := range media {
		media[i] = contract.Media{Data: data}
	}
	it := &pipeline.Item{Msg: &contract.Message{Media: media}}
	// 2000×2000 at 4 bytes a pixel is 16 MB: a 40 MB budget decodes two.
	st := &Stage{Limits: Limits{MaxDecodeBytes: 40 << 20}, Watermark: true}
	if err := st.Process(context.Background(), []*pipeline.Item{it}); err != nil {
		t.Fatal(err)
	}
	over := 0
	for _, f := range it.Findings {
		if f.Signal == "over_decode_budget" {
			over++
		}
	}
	if over != 3 {
		t.Fatalf("%d of 5 images over the budget, want 3; findings %+v", over, it.Findings)
	}
}

// Finding (issue 18): 2,000 media entries were accepted and read. Only
// the first media.max_media are; the rest are named in one finding.
func TestMediaPerMessageCapped(t *testing.T) {
	media := make([]contract.Media, 2000)
	for i := range media {
		media[i] = contract.Media{Data: "bm90IGFuIGltYWdl"} // "not an image"
	}
	it := &pipeline.Item{Msg: &contract.Message{Media: media}}
	if err := (&Stage{}).Process(context.Background(), []*pipeline.Item{it}); err != nil {
		t.Fatal(err)
	}
	read, capped := 0, 0
	for _, f := range it.Findings {
		switch f.Signal {
		case "too_many_media":
			capped++
		default:
			read++
		}
	}
	if capped != 1 || read > 16 {
		t.Fatalf("%d findings from images read, %d cap findings; want at most 16 and 1", read, capped)
	}
}

// Finding (issue 18): twelve slow URLs stalled a message, and the next, for
// 9 s. A message's fetches share one deadline.
func TestMessageFetchDeadline(t *testing.T) {
	slow := func(ctx context.Context, url string) ([]byte, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	media := make([]contract.Media, 12)
	for i := range media {
		media[i] = contract.Media{URL: "http://slow.test/a.png"}
	}
	it := &pipeline.Item{Msg: &contract.Message{Media: media}}
	st := &Stage{Fetch: slow, Limits: Limits{MessageTimeout: 200 * time.Millisecond}, Workers: 2}
	done := make(chan error, 1)
	go func() { done <- st.Process(context.Background(), []*pipeline.Item{it}) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("twelve slow fetches held the message past 10 s with a 200 ms message deadline")
	}
	if len(it.Findings) != 12 {
		t.Fatalf("%d findings for 12 unreadable URLs", len(it.Findings))
	}
}
