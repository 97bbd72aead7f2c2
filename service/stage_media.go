package service

import (
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/classifiers/encoder"
	"github.com/sieve-stream/sieve/detectors"
	"github.com/sieve-stream/sieve/pipeline"
	"github.com/sieve-stream/sieve/vision"
)

// The synthetic-media detectors, before the policy so that rules over
// media_* signals see their findings.
func init() {
	registerStage(stageKind{name: "media", order: 40, build: func(b *builder) (pipeline.Stage, error) {
		if b.cfg.Media.Disabled {
			return nil, nil
		}
		st, err := mediaStage(b.cfg.Media)
		if err != nil {
			return nil, err
		}
		v, err := visionModels(b)
		if err != nil {
			st.Close()
			return nil, err
		}
		st.Vision = v
		return st, nil
	}})
}

// mediaStage builds the synthetic-media detectors; they run before the
// policy so that rules over media_* signals see their findings.
func mediaStage(c detectors.Config) (*detectors.Stage, error) {
	st := &detectors.Stage{Limits: detectors.Limits{MaxBytes: c.MaxBytes, MaxPixels: c.MaxPixels, MaxMedia: c.MaxMedia,
		MaxDecodeBytes: c.MaxDecodeBytes, MessageTimeout: c.MessageTimeout}, Watermark: !c.SkipWatermark}
	if l := c.Learned; l.Dir != "" {
		m, err := encoder.LoadImageModel(l.Dir, l.Library, l.Options)
		if err != nil {
			return nil, fmt.Errorf("media.learned.dir: %w", err)
		}
		st.Learned, st.LearnedPositive, st.LearnedThreshold = m, l.Positive, l.Threshold
	}
	if c.TrustAnchors != "" {
		pem, err := os.ReadFile(c.TrustAnchors)
		if err != nil {
			return nil, fmt.Errorf("media.trust_anchors: %w", err)
		}
		st.Trust = x509.NewCertPool()
		if !st.Trust.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("media.trust_anchors: %s holds no PEM certificate", c.TrustAnchors)
		}
	}
	if c.FetchURLs {
		f := &detectors.Fetcher{Timeout: c.FetchTimeout}
		if c.MaxBytes > 0 {
			f.MaxBytes = int64(c.MaxBytes)
		}
		for i, a := range c.Allow {
			p, err := netip.ParsePrefix(a)
			if err != nil {
				return nil, fmt.Errorf("media.allow[%d]: %w", i, err)
			}
			f.Allow = append(f.Allow, p)
		}
		st.Fetch = f.Fetch
	}
	return st, nil
}

// missingOnce says once per process that a vision model is not installed,
// however often the app is rebuilt.
var missingOnce sync.Map

// visionModels loads the NSFW classifier and the OCR models the config
// leaves on, from the installed models folder; a model whose files are
// missing is left off, said once in the log. nil when both are off.
func visionModels(b *builder) (*detectors.Vision, error) {
	c := b.cfg.Media
	log := b.o.Logger
	if log == nil {
		log = slog.Default()
	}
	dir := vision.Dir(c.Models)
	missing := func(what, path string) {
		if _, done := missingOnce.LoadOrStore(what+"\x00"+path, true); !done {
			log.Warn("media: "+what+" is off: its model is not installed (make vision-models)", "path", path)
		}
	}
	v := &detectors.Vision{NSFWThreshold: c.NSFW.Threshold, NSFWReport: c.NSFW.Report, OCRMaxPixels: c.OCR.MaxPixels}
	if !c.NSFW.Disabled {
		path := vision.NSFWPath(dir, c.NSFW.Model)
		if raw, err := os.ReadFile(path); err != nil {
			if c.NSFW.Model != "mobilenet_v2" || c.Models != "" {
				// Named by the operator: a missing file is a config error.
				return nil, fmt.Errorf("media.nsfw.model: %w", err)
			}
			missing("NSFW classification", path)
		} else {
			m, err := vision.LoadNSFW(path, c.NSFW.Library, c.NSFW.Options, log)
			if err != nil {
				return nil, fmt.Errorf("media.nsfw: %w", err)
			}
			m.BatchSize = c.NSFW.BatchSize
			v.NSFW = m
			v.NSFWModel = "nsfwjs-" + strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "nsfw-"), ".onnx") + "@" + classifiers.ContentVersion(raw)
		}
	}
	if !c.OCR.Disabled {
		od := vision.OCRDir(dir)
		if _, err := os.Stat(filepath.Join(od, vision.OCRRecogniser)); err != nil {
			if c.Models != "" {
				if v.NSFW != nil {
					v.NSFW.(io.Closer).Close()
				}
				return nil, fmt.Errorf("media.models: %w", err)
			}
			missing("OCR", od)
		} else {
			m, err := vision.LoadOCR(od, c.OCR.Library, c.OCR.Options, vision.OCROptions{MaxBoxes: c.OCR.MaxBoxes, MaxSide: c.OCR.MaxSide}, log)
			if err != nil {
				if v.NSFW != nil {
					v.NSFW.(io.Closer).Close()
				}
				return nil, fmt.Errorf("media.ocr: %w", err)
			}
			v.OCR = m
			v.Text = b.cls
			v.Thresholds = b.cls.Thresholds()
			for l, t := range b.cfg.Policy.Thresholds {
				v.Thresholds[l] = t
			}
		}
	}
	if v.NSFW == nil && v.OCR == nil {
		return nil, nil
	}
	return v, nil
}
