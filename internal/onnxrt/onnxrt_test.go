package onnxrt

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		o    Options
		want string
	}{
		{Options{}, ""},
		{Options{Provider: "cuda", DeviceID: 1, Threads: 4}, ""},
		{Options{Provider: "tensorrt"}, ""},
		{Options{Provider: "rocm"}, `media.nsfw.provider: "rocm" is not cpu, cuda or tensorrt`},
		{Options{DeviceID: -1}, "media.nsfw.device_id: -1 is negative"},
		{Options{Threads: -2}, "media.nsfw.threads: -2 is negative"},
	}
	for _, tt := range tests {
		err := tt.o.Validate("media.nsfw")
		if (err == nil) != (tt.want == "") || (err != nil && err.Error() != tt.want) {
			t.Errorf("%+v: err %v, want %q", tt.o, err, tt.want)
		}
	}
}

func TestMissingProviderLibrary(t *testing.T) {
	dir := t.TempDir()
	lib := filepath.Join(dir, LibraryName)
	if got := missing(lib, CUDA); got != "libonnxruntime_providers_shared.so" {
		t.Errorf("missing = %q", got)
	}
	os.WriteFile(filepath.Join(dir, "libonnxruntime_providers_shared.so"), nil, 0o644)
	if got := missing(lib, CUDA); got != "libonnxruntime_providers_cuda.so" {
		t.Errorf("missing = %q", got)
	}
	os.WriteFile(filepath.Join(dir, "libonnxruntime_providers_cuda.so"), nil, 0o644)
	if got := missing(lib, CUDA); got != "" {
		t.Errorf("missing = %q with both files there", got)
	}
	if got := missing(lib, TensorRT); got != "libonnxruntime_providers_tensorrt.so" {
		t.Errorf("tensorrt missing = %q", got)
	}
}

// TestGPUFallsBackToCPU: the npm build of ONNX Runtime ships no GPU
// provider, so cuda and tensorrt fall back to the CPU with one log line
// that names the missing file, and the options still make a session.
func TestGPUFallsBackToCPU(t *testing.T) {
	lib, err := Init("")
	if err != nil {
		t.Skipf("ONNX Runtime is not installed here (run ./scripts/test-deps.sh): %v", err)
	}
	for _, p := range []string{CPU, CUDA, TensorRT} {
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		opts, used, err := SessionOptions(Options{Provider: p, DeviceID: 0, Threads: 1}, lib, log)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		opts.Destroy()
		if used != CPU {
			t.Errorf("%s: runs on %s here, where no GPU provider is installed", p, used)
		}
		if p == CPU && logs.Len() > 0 {
			t.Errorf("cpu logged %q", logs.String())
		}
		if p != CPU && (!strings.Contains(logs.String(), "running on the CPU") || !strings.Contains(logs.String(), "libonnxruntime_providers_")) {
			t.Errorf("%s: log %q does not say why it fell back", p, logs.String())
		}
	}
}
