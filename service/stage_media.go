package service

import (
	"crypto/x509"
	"fmt"
	"net/netip"
	"os"

	"github.com/sieve-stream/sieve/classifiers/encoder"
	"github.com/sieve-stream/sieve/detectors"
	"github.com/sieve-stream/sieve/pipeline"
)

// The synthetic-media detectors, before the policy so that rules over
// media_* signals see their findings.
func init() {
	registerStage(stageKind{name: "media", order: 40, build: func(b *builder) (pipeline.Stage, error) {
		if b.cfg.Media.Disabled {
			return nil, nil
		}
		return mediaStage(b.cfg.Media)
	}})
}

// mediaStage builds the synthetic-media detectors; they run before the
// policy so that rules over media_* signals see their findings.
func mediaStage(c detectors.Config) (*detectors.Stage, error) {
	st := &detectors.Stage{Limits: detectors.Limits{MaxBytes: c.MaxBytes, MaxPixels: c.MaxPixels, MaxMedia: c.MaxMedia,
		MaxDecodeBytes: c.MaxDecodeBytes, MessageTimeout: c.MessageTimeout}, Watermark: !c.SkipWatermark}
	if l := c.Learned; l.Dir != "" {
		m, err := encoder.LoadImageModel(l.Dir, l.Library)
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
