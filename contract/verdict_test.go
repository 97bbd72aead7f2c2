package contract

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata goldens")

// TestAppendVerdictGolden pins the verdict's bytes, the media fields
// included: a finding's label and an OCR part with its flags.
func TestAppendVerdictGolden(t *testing.T) {
	zero, one := 0, 1
	v := &Verdict{
		Scores:   []Score{{"spam", 0.12}, {"harassment", 0.91}, {"nsfw_porn", 0.83}},
		Models:   map[string]string{"harassment": "moderation@304260", "spam": "spam@23d960", "nsfw_porn": "nsfwjs-mobilenet_v2@4b159d"},
		Flags:    []string{"harassment", "sexual"},
		Decision: DecisionFlag,
		Findings: []Finding{
			{Detector: "nsfw", Media: &zero, Signal: "sexual", Detail: "porn+hentai 0.846, at or over 0.70", Label: "sexual"},
			{Detector: "ocr", Media: &one, Signal: "harassment", Detail: "score 0.906 from the text of image 1"},
		},
		Parts: []Part{{Source: PartOCR, Media: &one, Text: "YOU ARE A WORTHLESS\nSTUPID IDIOT", Flags: []string{"harassment"}}},
	}
	got := AppendVerdict(nil, "m-1", &Source{Topic: "posts", Partition: 3, Offset: 1842}, v, nil, 3100*time.Microsecond, false)
	if !json.Valid(got) {
		t.Fatalf("not JSON: %s", got)
	}
	path := filepath.Join("testdata", "verdict-media.golden.json")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./contract -run TestAppendVerdictGolden -update)", err)
	}
	if !bytes.Equal(append(got, '\n'), want) {
		t.Errorf("verdict bytes changed:\n got %s\nwant %s", got, want)
	}
}
