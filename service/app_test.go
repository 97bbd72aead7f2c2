package service_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/classifiers/encoder"
	"github.com/sieve-stream/sieve/classifiers/onnxmodel"
	"github.com/sieve-stream/sieve/config"
	"github.com/sieve-stream/sieve/detectors"
	"github.com/sieve-stream/sieve/internal/redistest"
	"github.com/sieve-stream/sieve/service"
)

// The app owns what it built: closing it destroys the ONNX session of an
// onnx classifier and closes the Redis client, and a second Close does no
// harm.
func TestAppClosesSessionsAndClients(t *testing.T) {
	if _, err := encoder.Library(""); err != nil {
		t.Skipf("ONNX Runtime is not installed here (run ./scripts/test-deps.sh): %v", err)
	}
	dir := t.TempDir()
	const vocab, dim = 21, 4
	emb := make([]float32, vocab*dim)
	for i := range emb {
		emb[i] = float32(i%7) / 7
	}
	w, b := make([]float32, dim*2), make([]float32, 2)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "model.onnx"), onnxmodel.MeanPoolClassifier(emb, vocab, dim, w, b, 2), 0o644))
	tj, err := os.ReadFile("../internal/tokenizer/testdata/bert-tiny-tokenizer.json")
	must(err)
	must(os.WriteFile(filepath.Join(dir, "tokenizer.json"), tj, 0o644))
	must(os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"id2label": {"0": "ok", "1": "flagged"}, "max_position_embeddings": 16}`), 0o644))
	srv := redistest.Start(t, false)

	cfg, err := config.Parse(strings.NewReader(`
kafka: {embedded: true}
classifiers: [{type: onnx, onnx: {dir: ` + dir + `}}]
cache: {enabled: false}
redis: {addrs: ["` + srv.Addr + `"]}
rewrite: {disabled: true}
`))
	must(err)
	app, err := service.NewApp(cfg, service.StageOptions{})
	must(err)
	var enc *encoder.Encoder
	for _, st := range app.Stages {
		if cs, ok := st.(*classifiers.Stage); ok {
			enc, _ = cs.Classifiers()[0].(*encoder.Encoder)
		}
	}
	if enc == nil || app.Redis == nil {
		t.Fatalf("the app has no encoder (%v) or no Redis client (%v)", enc, app.Redis)
	}
	ctx := context.Background()
	if _, err := enc.Classify(ctx, []string{"hello"}); err != nil {
		t.Fatalf("the encoder does not run before Close: %v", err)
	}
	if err := app.Redis.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis does not answer before Close: %v", err)
	}

	must(app.Close())
	if _, err := enc.Classify(ctx, []string{"hello"}); !errors.Is(err, encoder.ErrClosed) {
		t.Errorf("after Close the encoder answered %v, want ErrClosed (its session destroyed)", err)
	}
	if err := app.Redis.Ping(ctx).Err(); !errors.Is(err, goredis.ErrClosed) {
		t.Errorf("after Close the Redis client answered %v, want redis.ErrClosed", err)
	}
	must(app.Close())
}

// Without the vision models' files the media stage still runs, without
// NSFW and OCR, and says so once in the log however often the app is
// built; a model the operator names that is not there is a config error.
func TestVisionModelsMissing(t *testing.T) {
	t.Setenv("SIEVE_VISION_MODELS", t.TempDir())
	var logs strings.Builder
	opts := service.StageOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	for range 2 {
		cfg, err := config.Parse(strings.NewReader("kafka: {embedded: true}\nrewrite: {disabled: true}\n"))
		if err != nil {
			t.Fatal(err)
		}
		app, err := service.NewApp(cfg, opts)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, st := range app.Stages {
			if ds, ok := st.(*detectors.Stage); ok {
				found = true
				if ds.Vision != nil {
					t.Errorf("vision models loaded from an empty folder: %+v", ds.Vision)
				}
			}
		}
		if !found {
			t.Error("no media stage")
		}
		app.Close()
	}
	for _, what := range []string{"NSFW classification is off", "OCR is off"} {
		if n := strings.Count(logs.String(), what); n != 1 {
			t.Errorf("%q logged %d times over two builds, want once:\n%s", what, n, logs.String())
		}
	}
	cfg, err := config.Parse(strings.NewReader("kafka: {embedded: true}\nmedia: {nsfw: {model: inception_v9}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := service.NewApp(cfg, opts); err == nil || !strings.Contains(err.Error(), "media.nsfw.model") {
		t.Errorf("a named model that is missing: err %v, want one naming media.nsfw.model", err)
	}
}
