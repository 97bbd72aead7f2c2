package detectors

import (
	"context"
	"encoding/base64"
	"testing"

	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/pipeline"
)

func TestStageAddsFindingsAndSignals(t *testing.T) {
	c2pa := base64.StdEncoding.EncodeToString(fixture(t, "c2pa/ocsp.jpg"))
	comfy := base64.StdEncoding.EncodeToString(fixture(t, "sd_parsers/ComfyUI/img2img_cropped.png"))
	items := []*pipeline.Item{
		{Msg: &contract.Message{Text: "look", Media: []contract.Media{{Data: c2pa}, {Data: comfy}}}},
		{Msg: &contract.Message{Text: "bad", Media: []contract.Media{{Data: "not base64!"}, {URL: "http://example.test/a.png"}}}},
		{Msg: &contract.Message{Text: "text only"}},
	}
	if err := (&Stage{}).Process(context.Background(), items); err != nil {
		t.Fatal(err)
	}
	a := items[0]
	if a.Signals["media_trained_algorithmic_media"] != 1 || a.Signals["media_generator_metadata"] != 1 || a.Signals["media_c2pa_manifest"] != 2 {
		t.Errorf("signals %v", a.Signals)
	}
	for _, f := range a.Findings {
		if f.Media == nil || (f.Detector == "generator_metadata") != (*f.Media == 1) {
			t.Errorf("finding %+v has the wrong media index", f)
		}
	}
	b := items[1]
	// Bad base64 is unreadable; the URL is skipped because no fetcher is set.
	if len(b.Findings) != 1 || b.Signals["media_unreadable"] != 1 || b.Err != nil {
		t.Errorf("unreadable media: findings %+v signals %v err %v", b.Findings, b.Signals, b.Err)
	}
	if len(items[2].Findings) != 0 {
		t.Errorf("text-only message got findings %v", items[2].Findings)
	}
}
