// Package onnxrt finds and starts ONNX Runtime, once per process, and
// makes the session options every ONNX model of Sieve runs with: which
// execution provider (CPU, CUDA or TensorRT), on which device, with how
// many threads.
package onnxrt

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// Execution providers.
const (
	CPU      = "cpu"
	CUDA     = "cuda"
	TensorRT = "tensorrt"
)

// Options choose where and how a model runs. The zero value is the CPU,
// with each model's own default of threads.
type Options struct {
	// Provider is cpu (default), cuda or tensorrt. CUDA and TensorRT are
	// used when ONNX Runtime's provider library for them sits next to
	// libonnxruntime (libonnxruntime_providers_cuda.so or
	// libonnxruntime_providers_tensorrt.so, with
	// libonnxruntime_providers_shared.so) and loads; otherwise the model
	// runs on the CPU and one log line says why.
	Provider string `yaml:"provider"`
	// DeviceID is the GPU's index for cuda and tensorrt.
	DeviceID int `yaml:"device_id"`
	// Threads are ONNX Runtime's intra-op threads for one session; 0 means
	// the model's own default.
	Threads int `yaml:"threads"`
}

// Validate names the first bad field under prefix (e.g. "media.nsfw").
func (o Options) Validate(prefix string) error {
	switch o.Provider {
	case "", CPU, CUDA, TensorRT:
	default:
		return fmt.Errorf("%s.provider: %q is not cpu, cuda or tensorrt", prefix, o.Provider)
	}
	if o.DeviceID < 0 {
		return fmt.Errorf("%s.device_id: %d is negative", prefix, o.DeviceID)
	}
	if o.Threads < 0 {
		return fmt.Errorf("%s.threads: %d is negative", prefix, o.Threads)
	}
	return nil
}

// LibraryName is the file ONNX Runtime's shared library is looked up as.
const LibraryName = "libonnxruntime.so.1"

// Library returns the ONNX Runtime library to use: configured, then
// $SIEVE_ONNXRUNTIME_LIB, then .cache/onnxruntime/ (where
// scripts/test-deps.sh puts it) beside the working directory, the binary,
// or a few folders up (a package's tests).
func Library(configured string) (string, error) {
	rel := filepath.Join(".cache", "onnxruntime", LibraryName)
	candidates := []string{configured, os.Getenv("SIEVE_ONNXRUNTIME_LIB"), rel}
	if exe, err := os.Executable(); err == nil {
		candidates = append(candidates, filepath.Join(filepath.Dir(exe), "..", rel))
	}
	for up := "../"; len(up) < 16; up += "../" {
		candidates = append(candidates, up+rel)
	}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if _, err := os.Stat(c); err == nil {
			return filepath.Abs(c)
		}
	}
	return "", errors.New("ONNX Runtime library not found: run ./scripts/test-deps.sh, set SIEVE_ONNXRUNTIME_LIB, or set the model's library")
}

var (
	initOnce sync.Once
	initErr  error
	initLib  string
)

// Init loads ONNX Runtime from lib ("" finds it as Library does) once per
// process and returns the library's path.
func Init(lib string) (string, error) {
	path, err := Library(lib)
	if err != nil {
		return "", err
	}
	initOnce.Do(func() {
		initLib = path
		ort.SetSharedLibraryPath(path)
		initErr = ort.InitializeEnvironment()
	})
	if initErr != nil {
		return "", fmt.Errorf("onnx runtime %s: %w", initLib, initErr)
	}
	return initLib, nil
}

// providerLibraries are the files a GPU provider needs beside
// libonnxruntime.
var providerLibraries = map[string][]string{
	CUDA:     {"libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"},
	TensorRT: {"libonnxruntime_providers_shared.so", "libonnxruntime_providers_tensorrt.so"},
}

// missing is the first provider library not found next to lib.
func missing(lib, provider string) string {
	for _, f := range providerLibraries[provider] {
		if _, err := os.Stat(filepath.Join(filepath.Dir(lib), f)); err != nil {
			return f
		}
	}
	return ""
}

// SessionOptions makes ONNX Runtime session options for o and says which
// provider they hold: a GPU provider whose library is missing or does not
// load falls back to the CPU, with a log line naming the cause. lib is
// the path Init returned. The caller destroys the options.
func SessionOptions(o Options, lib string, log *slog.Logger) (*ort.SessionOptions, string, error) {
	if log == nil {
		log = slog.Default()
	}
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, "", err
	}
	if o.Threads > 0 {
		if err := opts.SetIntraOpNumThreads(o.Threads); err != nil {
			opts.Destroy()
			return nil, "", err
		}
		if err := opts.SetInterOpNumThreads(1); err != nil {
			opts.Destroy()
			return nil, "", err
		}
	}
	used, err := appendProvider(opts, o, lib)
	if err != nil {
		log.Warn("onnx runtime: GPU provider unavailable, running on the CPU", "provider", o.Provider, "device_id", o.DeviceID, "reason", err.Error())
	}
	return opts, used, nil
}

func appendProvider(opts *ort.SessionOptions, o Options, lib string) (string, error) {
	switch o.Provider {
	case "", CPU:
		return CPU, nil
	case CUDA, TensorRT:
		var err error
		if o.Provider == CUDA {
			err = appendGPU(opts, o, lib, CUDA, ort.NewCUDAProviderOptions, opts.AppendExecutionProviderCUDA)
		} else {
			err = appendGPU(opts, o, lib, TensorRT, ort.NewTensorRTProviderOptions, opts.AppendExecutionProviderTensorRT)
		}
		if err != nil {
			return CPU, err
		}
		return o.Provider, nil
	default:
		return CPU, fmt.Errorf("provider %q is not cpu, cuda or tensorrt", o.Provider)
	}
}

// gpuOptions is what ONNX Runtime's CUDA and TensorRT provider options
// have in common.
type gpuOptions interface {
	Update(map[string]string) error
	Destroy() error
}

// appendGPU appends a GPU execution provider on o's device, once its
// provider library is found beside lib. On an error the session stays on
// the CPU (the caller reports it as the fallback's reason).
func appendGPU[T gpuOptions](opts *ort.SessionOptions, o Options, lib, provider string, newOpts func() (T, error), add func(T) error) error {
	if f := missing(lib, provider); f != "" {
		return fmt.Errorf("%s is not in %s", f, filepath.Dir(lib))
	}
	po, err := newOpts()
	if err != nil {
		return err
	}
	defer po.Destroy()
	if err := po.Update(map[string]string{"device_id": fmt.Sprint(o.DeviceID)}); err != nil {
		return err
	}
	return add(po)
}

// Guard keeps a model's sessions alive while batches run on them: a run
// holds it for reading, and Close destroys the sessions once, after the runs
// in progress. Destroying an ONNX Runtime session twice, or while it runs,
// crashes the process, and a model's owner may Close it more than once.
type Guard struct {
	mu     sync.RWMutex
	closed bool
}

// Enter starts a run. It returns false, holding nothing, once the model is
// closed; otherwise the caller must call Exit when the run is over.
func (g *Guard) Enter() bool {
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return false
	}
	return true
}

// Exit ends a run started by Enter.
func (g *Guard) Exit() { g.mu.RUnlock() }

// Close waits for the runs in progress and calls destroy, the first time
// only; later calls return nil.
func (g *Guard) Close(destroy func() error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	return destroy()
}
