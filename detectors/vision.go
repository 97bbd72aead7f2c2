package detectors

import (
	"context"
	"fmt"
	"image"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/pipeline"
)

// seenImage is one decoded image of the micro-batch and where its
// findings go.
type seenImage struct {
	it       *pipeline.Item
	media    int
	img      image.Image
	findings *[]Finding
}

// NSFW class indexes in nsfwjs's output order (vision.NSFWLabels).
const (
	nsfwHentai = 1
	nsfwPorn   = 3
	nsfwSexy   = 4
)

// maxDetail bounds the image text quoted in a finding.
const maxDetail = 200

// look runs the vision models over every decoded image of the batch: the
// NSFW classifier as one call, OCR as one call, and the classify stage
// over the images' texts as one batch.
func (v *Vision) look(ctx context.Context, seen []seenImage) error {
	if len(seen) == 0 {
		return nil
	}
	imgs := make([]image.Image, len(seen))
	for i, s := range seen {
		imgs[i] = s.img
	}
	if v.NSFW != nil {
		if err := v.nsfw(ctx, seen, imgs); err != nil {
			return err
		}
	}
	if v.OCR != nil {
		if err := v.ocr(ctx, seen, imgs); err != nil {
			return err
		}
	}
	return nil
}

// preprocessed is an image classifier that prepares each image on its own
// and runs the prepared ones together (vision.NSFW): one image that cannot
// be prepared then costs only its own scores, not the batch's.
type preprocessed interface {
	Preprocess(image.Image) ([]float32, error)
	Run(ctx context.Context, in [][]float32) ([][]float32, error)
}

func (v *Vision) nsfw(ctx context.Context, seen []seenImage, imgs []image.Image) error {
	if p, ok := v.NSFW.(preprocessed); ok {
		var in [][]float32
		var ok []seenImage
		for i, img := range imgs {
			x, err := p.Preprocess(img)
			if err != nil {
				*seen[i].findings = append(*seen[i].findings, Finding{Detector: "nsfw", Media: seen[i].media, Signal: "unreadable", Detail: err.Error()})
				continue
			}
			in, ok = append(in, x), append(ok, seen[i])
		}
		if len(in) == 0 {
			return nil
		}
		scores, err := p.Run(ctx, in)
		return v.nsfwScores(ctx, ok, scores, err)
	}
	scores, err := v.NSFW.ClassifyImages(ctx, imgs)
	return v.nsfwScores(ctx, seen, scores, err)
}

func (v *Vision) nsfwScores(ctx context.Context, seen []seenImage, scores [][]float32, err error) error {
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		for _, s := range seen {
			*s.findings = append(*s.findings, Finding{Detector: "nsfw", Media: s.media, Signal: "unreadable", Detail: err.Error()})
		}
		return nil
	}
	if len(scores) != len(seen) {
		return fmt.Errorf("nsfw: %d results for %d images", len(scores), len(seen))
	}
	th, report := v.NSFWThreshold, v.NSFWReport
	if th <= 0 {
		th = 0.7
	}
	if report <= 0 {
		report = 0.2
	}
	for i, s := range seen {
		p := scores[i]
		if len(p) <= nsfwSexy {
			return fmt.Errorf("nsfw: %d classes, want 5", len(p))
		}
		for _, c := range []struct {
			idx   int
			label string
		}{{nsfwPorn, "nsfw_porn"}, {nsfwHentai, "nsfw_hentai"}, {nsfwSexy, "nsfw_sexy"}} {
			sc := float64(p[c.idx])
			if old, ok := s.it.Score(c.label); !ok || sc > old {
				s.it.SetScore(c.label, sc, v.NSFWModel)
			}
			if sc >= report {
				*s.findings = append(*s.findings, Finding{Detector: "nsfw", Media: s.media, Signal: c.label, Detail: fmt.Sprintf("score %.3f", sc)})
			}
		}
		if sum := float64(p[nsfwPorn] + p[nsfwHentai]); sum >= th {
			*s.findings = append(*s.findings, Finding{Detector: "nsfw", Media: s.media, Signal: "sexual", Label: "sexual",
				Detail: fmt.Sprintf("porn+hentai %.3f, at or over %.2f", sum, th)})
		}
	}
	return nil
}

func (v *Vision) ocr(ctx context.Context, seen []seenImage, imgs []image.Image) error {
	// The pixel cap bounds OCR's cost: larger images are skipped, said so.
	limit := v.OCRMaxPixels
	if limit <= 0 {
		limit = 16_000_000
	}
	var idx []int
	var read []image.Image
	for i, img := range imgs {
		b := img.Bounds()
		if b.Dx()*b.Dy() > limit {
			*seen[i].findings = append(*seen[i].findings, Finding{Detector: "ocr", Media: seen[i].media, Signal: "skipped",
				Detail: fmt.Sprintf("%dx%d pixels is over media.ocr.max_pixels (%d)", b.Dx(), b.Dy(), limit)})
			continue
		}
		idx, read = append(idx, i), append(read, img)
	}
	if len(read) == 0 {
		return nil
	}
	texts, err := v.OCR.ReadText(ctx, read)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		for _, i := range idx {
			*seen[i].findings = append(*seen[i].findings, Finding{Detector: "ocr", Media: seen[i].media, Signal: "unreadable", Detail: err.Error()})
		}
		return nil
	}
	if len(texts) != len(read) {
		return fmt.Errorf("ocr: %d texts for %d images", len(texts), len(read))
	}
	// The images' texts are classified as one batch of items of their own.
	var parts []*pipeline.Item
	var owners []int
	for k, i := range idx {
		t := strings.TrimSpace(texts[k])
		if t == "" {
			continue
		}
		s := seen[i]
		m := s.media
		s.it.Parts = append(s.it.Parts, contract.Part{Source: contract.PartOCR, Media: &m, Text: t})
		*s.findings = append(*s.findings, Finding{Detector: "ocr", Media: m, Signal: "text", Detail: clip(t, maxDetail)})
		parts = append(parts, &pipeline.Item{Msg: &contract.Message{Text: t}})
		owners = append(owners, i)
	}
	if len(parts) == 0 || v.Text == nil {
		return nil
	}
	if err := v.Text.Process(ctx, parts); err != nil {
		return fmt.Errorf("classify image text: %w", err)
	}
	for k, p := range parts {
		s := seen[owners[k]]
		part := &s.it.Parts[partIndex(s.it, s.media)]
		part.Scores = p.Scores
		var raised []string
		for _, sc := range p.Scores {
			old, ok := s.it.Score(sc.Label)
			if !ok || sc.Score > old {
				s.it.SetScore(sc.Label, sc.Score, p.Models[sc.Label])
				if t, ok := v.Thresholds[sc.Label]; ok && sc.Score >= t {
					raised = append(raised, sc.Label)
				}
			}
		}
		sort.Strings(raised)
		for _, l := range raised {
			sc, _ := p.Score(l)
			*s.findings = append(*s.findings, Finding{Detector: "ocr", Media: s.media, Signal: l,
				Detail: fmt.Sprintf("score %.3f from the text of image %d", sc, s.media)})
		}
	}
	return nil
}

// partIndex is the index of the item's OCR part for media m.
func partIndex(it *pipeline.Item, m int) int {
	for i, p := range it.Parts {
		if p.Source == contract.PartOCR && p.Media != nil && *p.Media == m {
			return i
		}
	}
	return -1
}

// clip shortens s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
