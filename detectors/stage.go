package detectors

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"

	"github.com/sourcegraph/conc/pool"

	"github.com/sieve-stream/sieve/pipeline"
)

// Stage reads every image attached to a message and adds what it finds to
// the verdict's findings. Each finding also raises the item's signal
// "media_<signal>" (a count), so policy signal rules can act on it, e.g.
// {signal: media_trained_algorithmic_media, min: 1, decision: flag}.
//
// An image that cannot be read (bad base64, a format other than PNG/JPEG,
// a refused URL) becomes an "unreadable" finding (signal media_unreadable), never a dead letter:
// the text of the message is still worth a verdict.
type Stage struct {
	Limits Limits
	// Trust anchors for C2PA signers (Inspector.Trust); nil trusts no one.
	Trust *x509.CertPool
	// Fetch loads media given by URL; nil leaves URL media unread and
	// without findings.
	Fetch func(ctx context.Context, url string) ([]byte, error)
	// Watermark turns on the invisible-watermark decoder (Inspector).
	Watermark bool
	// Workers bounds the images inspected at once; 0 means 4.
	Workers int
}

func (s *Stage) Name() string { return "detectors" }

func (s *Stage) Process(ctx context.Context, items []*pipeline.Item) error {
	workers := s.Workers
	if workers <= 0 {
		workers = 4
	}
	p := pool.New().WithMaxGoroutines(workers).WithContext(ctx)
	var mu sync.Mutex
	for _, it := range items {
		if it.Err != nil || it.Msg == nil {
			continue
		}
		for i, md := range it.Msg.Media {
			p.Go(func(ctx context.Context) error {
				fs := s.inspect(ctx, i, md)
				mu.Lock()
				defer mu.Unlock()
				for _, f := range fs {
					idx := f.Media
					it.Findings = append(it.Findings, pipeline.Finding{Detector: f.Detector, Media: &idx, Signal: f.Signal, Detail: f.Detail})
					if it.Signals == nil {
						it.Signals = map[string]float64{}
					}
					it.Signals["media_"+f.Signal]++
				}
				return nil
			})
		}
	}
	if err := p.Wait(); err != nil {
		return fmt.Errorf("detect media: %w", err)
	}
	return ctx.Err()
}

func (s *Stage) inspect(ctx context.Context, i int, md pipeline.Media) []Finding {
	unreadable := func(err error) []Finding {
		return []Finding{{Detector: "media", Media: i, Signal: "unreadable", Detail: err.Error()}}
	}
	var data []byte
	var err error
	switch {
	case md.Data != "":
		data, err = base64.StdEncoding.DecodeString(md.Data)
		if err != nil {
			return unreadable(fmt.Errorf("media data is not base64: %w", err))
		}
	case md.URL != "" && s.Fetch != nil:
		data, err = s.Fetch(ctx, md.URL)
		if err != nil {
			return unreadable(err)
		}
	case md.URL != "":
		// Fetching is the operator's choice (media.fetch_urls); without it
		// URL media are not evidence either way.
		return nil
	default:
		return unreadable(errors.New("media has neither data nor url"))
	}
	r, err := (&Inspector{Limits: s.Limits, Trust: s.Trust, Watermark: s.Watermark}).Inspect(data)
	if err != nil {
		return unreadable(err)
	}
	return r.Findings(i)
}
