package detectors

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"io"
	"slices"
	"sync/atomic"

	"github.com/sourcegraph/conc/pool"

	"github.com/sieve-stream/sieve/contract"
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
	// Learned is an optional learned detector (an "AI-generated or not"
	// image classifier the operator brings, e.g. encoder.ImageModel). A
	// finding with detector "learned" and the label as signal is added for
	// each of LearnedPositive scoring at least LearnedThreshold (default
	// 0.5).
	Learned          ImageClassifier
	LearnedPositive  []string
	LearnedThreshold float64
	// Workers bounds the images inspected at once; 0 means 4.
	Workers int

	// Vision looks at what the images show and say (NSFW classes, OCR
	// text); nil leaves them unread. Its models run once per micro-batch
	// over all the batch's images.
	Vision *Vision
}

// Vision is the media stage's pretrained image models.
type Vision struct {
	// NSFW scores nsfwjs's classes (drawing, hentai, neutral, porn, sexy)
	// per image; nil turns NSFW classification off.
	NSFW ImageClassifier
	// NSFWModel names NSFW in the verdict's models (id@version).
	NSFWModel string
	// NSFWThreshold: an image whose porn and hentai probabilities add up
	// to this flags the message "sexual" (default 0.7).
	NSFWThreshold float64
	// NSFWReport: each of porn, hentai and sexy scoring at least this is
	// a finding with its score (default 0.2).
	NSFWReport float64
	// OCR reads the text of each image; nil turns OCR off.
	OCR TextReader
	// OCRMaxPixels skips OCR, with a finding, for larger images (default
	// 16,000,000).
	OCRMaxPixels int
	// Text classifies an image's text: a stage that fills the scores of
	// items whose message text is that text (the classify stage).
	Text pipeline.Stage
	// Thresholds are the labels' flag thresholds, for saying in a finding
	// which labels an image's text flags.
	Thresholds map[string]float64
}

// TextReader reads the text in images, one string per image (lines in
// reading order, joined by newlines; "" for an image without text). It
// must be safe for concurrent use.
type TextReader interface {
	ReadText(ctx context.Context, imgs []image.Image) ([]string, error)
}

func (s *Stage) Name() string { return "detectors" }

// Close closes the learned detector and the vision models when they hold
// resources (ONNX sessions).
func (s *Stage) Close() error {
	var errs []error
	for _, x := range []any{s.Learned, s.vision().NSFW, s.vision().OCR} {
		if c, ok := x.(io.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

func (s *Stage) vision() *Vision {
	if s.Vision == nil {
		return &Vision{}
	}
	return s.Vision
}

func (s *Stage) Process(ctx context.Context, items []*pipeline.Item) error {
	type job struct {
		it       *pipeline.Item
		media    int
		findings []Finding
		pixels   image.Image // decoded for the vision models
	}
	type budget struct {
		ctx    context.Context
		cancel context.CancelFunc
		left   atomic.Int64
	}
	lim := s.Limits
	lim.EnsureDefaults()
	var jobs []job
	budgets := map[*pipeline.Item]*budget{}
	defer func() {
		for _, b := range budgets {
			b.cancel()
		}
	}()
	for _, it := range items {
		if it.Err != nil || it.Msg == nil || len(it.Msg.Media) == 0 {
			continue
		}
		// Each message's images share one fetch deadline and one budget
		// for decoded pixels.
		b := &budget{}
		b.ctx, b.cancel = context.WithTimeout(ctx, lim.MessageTimeout)
		b.left.Store(lim.MaxDecodeBytes)
		budgets[it] = b
		for i := range min(len(it.Msg.Media), lim.MaxMedia) {
			jobs = append(jobs, job{it: it, media: i})
		}
		if n := len(it.Msg.Media); n > lim.MaxMedia {
			jobs = append(jobs, job{it: it, media: -1, findings: []Finding{{Detector: "media", Media: lim.MaxMedia, Signal: "too_many_media",
				Detail: fmt.Sprintf("%d images; the first %d were read (media.max_media)", n, lim.MaxMedia)}}})
		}
	}
	// Most batches carry text only: no pool, no goroutines for them.
	if len(jobs) == 0 {
		return nil
	}
	workers := s.Workers
	if workers <= 0 {
		workers = 4
	}
	p := pool.New().WithMaxGoroutines(workers).WithContext(ctx)
	for j := range jobs {
		if jobs[j].media < 0 {
			continue
		}
		p.Go(func(ctx context.Context) error {
			jb := &jobs[j]
			b := budgets[jb.it]
			reserve := func(n int64) bool { return b.left.Add(-n) >= 0 }
			jb.findings, jb.pixels = s.inspect(b.ctx, jb.media, jb.it.Msg.Media[jb.media], reserve)
			return nil
		})
	}
	if err := p.Wait(); err != nil {
		return fmt.Errorf("detect media: %w", err)
	}
	if v := s.Vision; v != nil && (v.NSFW != nil || v.OCR != nil) {
		var seen []seenImage
		for j := range jobs {
			if jobs[j].pixels != nil {
				seen = append(seen, seenImage{it: jobs[j].it, media: jobs[j].media, img: jobs[j].pixels, findings: &jobs[j].findings})
				jobs[j].pixels = nil
			}
		}
		if err := v.look(ctx, seen); err != nil {
			return fmt.Errorf("media vision: %w", err)
		}
	}
	// Findings go in image order, whatever order the workers finished in,
	// so the same message always gets the same verdict.
	for _, jb := range jobs {
		for _, f := range jb.findings {
			idx := f.Media
			jb.it.Findings = append(jb.it.Findings, contract.Finding{Detector: f.Detector, Media: &idx, Signal: f.Signal, Detail: f.Detail, Label: f.Label})
			if jb.it.Signals == nil {
				jb.it.Signals = map[string]float64{}
			}
			jb.it.Signals["media_"+f.Signal]++
		}
	}
	return ctx.Err()
}

// inspect reads one image's metadata (and watermark, learned detector),
// and returns its decoded pixels when the vision models will look at them.
func (s *Stage) inspect(ctx context.Context, i int, md contract.Media, reserve func(int64) bool) ([]Finding, image.Image) {
	fs, data, r := s.inspectBytes(ctx, i, md, reserve)
	if r == nil || s.Vision == nil || (s.Vision.NSFW == nil && s.Vision.OCR == nil) {
		return fs, nil
	}
	img, err := s.pixels(r, data, reserve)
	if err != nil {
		return append(fs, Finding{Detector: "vision", Media: i, Signal: "unreadable", Detail: err.Error()}), nil
	}
	if b := img.Bounds(); b.Dx() <= 0 || b.Dy() <= 0 {
		return append(fs, Finding{Detector: "vision", Media: i, Signal: "unreadable", Detail: "image has no pixels"}), nil
	}
	return fs, img
}

func (s *Stage) inspectBytes(ctx context.Context, i int, md contract.Media, reserve func(int64) bool) ([]Finding, []byte, *Report) {
	unreadable := func(err error) ([]Finding, []byte, *Report) {
		return []Finding{{Detector: "media", Media: i, Signal: "unreadable", Detail: err.Error()}}, nil, nil
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
			return []Finding{{Detector: "media", Media: i, Signal: "unreadable", Detail: PublicDetail(err)}}, nil, nil
		}
	case md.URL != "":
		// Fetching is the operator's choice (media.fetch_urls); without it
		// URL media are not evidence either way.
		return nil, nil, nil
	default:
		return unreadable(errors.New("media has neither data nor url"))
	}
	r, err := (&Inspector{Limits: s.Limits, Trust: s.Trust, Watermark: s.Watermark, Reserve: reserve}).Inspect(data)
	if err != nil {
		return unreadable(err)
	}
	fs := r.Findings(i)
	if s.Learned != nil {
		fs = append(fs, s.learned(ctx, i, r, data, reserve)...)
	}
	return fs, data, r
}

// pixels are the image's decoded pixels, decoded once for every check that
// reads them (the watermark decoder, the learned detector, the vision
// models) and kept on the report.
func (s *Stage) pixels(r *Report, data []byte, reserve func(int64) bool) (image.Image, error) {
	if r.pixels != nil {
		return r.pixels, nil
	}
	lim := s.Limits
	lim.EnsureDefaults()
	img, err := decodePixels(data, lim.MaxPixels, reserve)
	if err != nil {
		return nil, err
	}
	r.pixels = img
	return img, nil
}

// ImageClassifier is a learned image detector: one row of label scores in
// [0, 1] per image, in Labels order. ClassifyImages must be safe for
// concurrent use.
type ImageClassifier interface {
	Labels() []string
	ClassifyImages(ctx context.Context, imgs []image.Image) ([][]float32, error)
}

func (s *Stage) learned(ctx context.Context, i int, r *Report, data []byte, reserve func(int64) bool) []Finding {
	img, err := s.pixels(r, data, reserve)
	if err != nil {
		return []Finding{{Detector: "learned", Media: i, Signal: "unreadable", Detail: err.Error()}}
	}
	scores, err := s.Learned.ClassifyImages(ctx, []image.Image{img})
	if err != nil || len(scores) != 1 {
		return []Finding{{Detector: "learned", Media: i, Signal: "unreadable", Detail: fmt.Sprintf("learned detector: %v", err)}}
	}
	th := s.LearnedThreshold
	if th <= 0 {
		th = 0.5
	}
	var out []Finding
	for j, l := range s.Learned.Labels() {
		if j < len(scores[0]) && slices.Contains(s.LearnedPositive, l) && float64(scores[0][j]) >= th {
			out = append(out, Finding{Detector: "learned", Media: i, Signal: l, Detail: fmt.Sprintf("score %.3f", scores[0][j])})
		}
	}
	return out
}
