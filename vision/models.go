package vision

import (
	"context"
	"image"
	"os"
	"path/filepath"
	"strings"
)

// DirName is where `make vision-models` installs the models, under the
// repository's .cache.
const DirName = "vision"

// Dir returns the folder of the installed vision models: configured,
// else $SIEVE_VISION_MODELS, else the first .cache/vision that exists
// beside the working directory, the binary (../.cache/vision) or a few
// folders up (a package's tests). It returns the first candidate when none
// exists, for the message that says the models are missing.
func Dir(configured string) string {
	if configured != "" {
		return configured
	}
	if env := os.Getenv("SIEVE_VISION_MODELS"); env != "" {
		return env
	}
	rel := filepath.Join(".cache", DirName)
	candidates := []string{rel}
	if exe, err := os.Executable(); err == nil {
		candidates = append(candidates, filepath.Join(filepath.Dir(exe), "..", rel))
	}
	for up := "../"; len(up) < 16; up += "../" {
		candidates = append(candidates, up+rel)
	}
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			abs, err := filepath.Abs(c)
			if err == nil {
				return abs
			}
			return c
		}
	}
	return rel
}

// NSFWPath is the ONNX file of an NSFW model named mobilenet_v2 or
// inception_v3 in dir, or model itself when it is a path.
func NSFWPath(dir, model string) string {
	if strings.HasSuffix(model, ".onnx") || strings.ContainsRune(model, filepath.Separator) {
		return model
	}
	return filepath.Join(dir, "nsfw-"+model+".onnx")
}

// OCRDir is the folder of the PP-OCRv4 files in dir.
func OCRDir(dir string) string { return filepath.Join(dir, "ocr") }

// ReadText implements detectors.TextReader: each image's lines in reading
// order, joined by newlines.
func (m *OCR) ReadText(ctx context.Context, imgs []image.Image) ([]string, error) {
	lines, err := m.Read(ctx, imgs, 0)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(lines))
	for i, ls := range lines {
		out[i] = Text(ls)
	}
	return out, nil
}
