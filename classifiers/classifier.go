// Package classifiers holds the Classifier contract and Sieve's text
// classifiers: the rule baseline now; trained linear models, ONNX encoders,
// remote inference and cascades behind the same contract.
package classifiers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/internal/textnorm"
	"github.com/sieve-stream/sieve/pipeline"
)

// Kind says how a classifier's labels relate.
type Kind string

const (
	// Binary scores one label against its absence.
	Binary Kind = "binary"
	// MultiClass scores mutually exclusive labels whose scores sum to one.
	MultiClass Kind = "multi-class"
	// MultiLabel scores independent labels.
	MultiLabel Kind = "multi-label"
)

// Description is what a classifier says of itself.
type Description struct {
	Name string
	// Version is a content hash of the model: equal versions score equally.
	Version string
	Kind    Kind
	Labels  []string
	// Thresholds are the per-label scores at or above which a label flags.
	Thresholds map[string]float64
	// Categories marks a multi-class model whose labels are categories (a
	// review's department, its sentiment) rather than things to moderate: a verdict names one category per such model (verdict
	// "categories") and its labels never flag.
	Categories bool
	// AbstainBelow is the confidence floor of a categories model: when the
	// most probable label scores below it the category is "other", so a new
	// kind of text is not forced into a wrong bucket. A multi-class model
	// whose scores sum to less than one has a background class, the rest;
	// when that outweighs every label the category is "other" too.
	AbstainBelow float64
}

// Category is the category a categories model gives one text from its
// scores (contract.ChooseCategory).
func (d Description) Category(scores []float32) string {
	return contract.ChooseCategory(d.Labels, func(j int) (float64, bool) { return float64(scores[j]), true }, d.AbstainBelow)
}

// ID is name@version, as verdicts' "models" report it.
func (d Description) ID() string { return d.Name + "@" + d.Version }

// Classifier scores texts.
//
// Classify returns, for each text, one score in [0, 1] per label of
// Describe().Labels, in that order: scores[i][j] is label j of texts[i]. It
// is safe for concurrent use. An error fails the whole batch; wrap it with
// pipeline.Transient when a retry may succeed (a remote backend timing out).
type Classifier interface {
	Describe() Description
	Classify(ctx context.Context, texts []string) ([][]float32, error)
}

// Normalized is implemented by classifiers that featurize
// textnorm.Normalize'd text: ClassifyNormalized takes texts already
// normalised, so that a stage running several of them normalises once.
type Normalized interface {
	ClassifyNormalized(ctx context.Context, normalized []string) ([][]float32, error)
}

// Attributed is implemented by classifiers that combine models (a cascade):
// besides the scores, the id of the model that decided each text.
type Attributed interface {
	ClassifyAttributed(ctx context.Context, texts []string) ([][]float32, []string, error)
}

// ContentVersion is the short content hash used as a model version.
func ContentVersion(content []byte) string {
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:3])
}

// Stage runs classifiers over micro-batches and writes their scores into the
// items. It implements pipeline.Stage.
type Stage struct {
	classifiers []Classifier
	ids         []string
	descs       []Description
	labels      int // all the classifiers' labels: the scores of one item
}

// Close closes the classifiers that hold resources (ONNX sessions): the
// stage owns what it was given.
func (s *Stage) Close() error { return CloseAll(s.classifiers) }

// CloseAll closes, last first, the classifiers that implement io.Closer.
func CloseAll(cs []Classifier) error {
	var errs []error
	for i := len(cs) - 1; i >= 0; i-- {
		if c, ok := cs[i].(io.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

// NewStage returns a stage that runs every classifier over every batch.
func NewStage(cs ...Classifier) *Stage {
	s := &Stage{classifiers: cs}
	for _, c := range cs {
		d := c.Describe()
		s.descs = append(s.descs, d)
		s.ids = append(s.ids, d.ID())
		s.labels += len(d.Labels)
	}
	return s
}

// Name implements pipeline.Stage.
func (s *Stage) Name() string { return "classify" }

// Classifiers are the stage's classifiers.
func (s *Stage) Classifiers() []Classifier { return s.classifiers }

// Descriptions are the stage's classifiers' descriptions.
func (s *Stage) Descriptions() []Description { return s.descs }

// Thresholds merges every classifier's per-label thresholds; the labels of
// categories models have none, as they never flag.
func (s *Stage) Thresholds() map[string]float64 {
	t := make(map[string]float64)
	for _, d := range s.descs {
		if d.Categories {
			continue
		}
		for l, v := range d.Thresholds {
			t[l] = v
		}
	}
	return t
}

// Categories describes the stage's categories models for the policy, which
// names each item's category from its scores (cached or fresh).
func (s *Stage) Categories() []contract.Categories {
	var out []contract.Categories
	for _, d := range s.descs {
		if d.Categories {
			out = append(out, contract.Categories{Model: d.Name, Labels: d.Labels, AbstainBelow: d.AbstainBelow})
		}
	}
	return out
}

// Process implements pipeline.Stage.
func (s *Stage) Process(ctx context.Context, items []*pipeline.Item) error {
	texts := make([]string, len(items))
	for i, it := range items {
		texts[i] = it.Text()
		// Room for every label up front: growing a score slice and a
		// model map label by label was a tenth of the default pipeline.
		it.Scores = slices.Grow(it.Scores, s.labels)
		if it.Models == nil {
			it.Models = make(map[string]string, s.labels)
		}
	}
	var norm []string
	for ci, c := range s.classifiers {
		d := s.descs[ci]
		var scores [][]float32
		var by []string
		var err error
		if a, ok := c.(Attributed); ok {
			scores, by, err = a.ClassifyAttributed(ctx, texts)
		} else if n, ok := c.(Normalized); ok {
			if norm == nil {
				norm = make([]string, len(texts))
				for i, it := range items {
					if it.Normalized == "" {
						it.Normalized = textnorm.Normalize(texts[i])
					}
					norm[i] = it.Normalized
				}
			}
			scores, err = n.ClassifyNormalized(ctx, norm)
		} else {
			scores, err = c.Classify(ctx, texts)
		}
		if err != nil {
			return fmt.Errorf("classify batch with %s: %w", s.ids[ci], err)
		}
		if len(scores) != len(items) {
			return fmt.Errorf("classify batch with %s: %d results for %d texts", s.ids[ci], len(scores), len(items))
		}
		for i, it := range items {
			if len(scores[i]) != len(d.Labels) {
				return fmt.Errorf("classify batch with %s: %d scores for %d labels", s.ids[ci], len(scores[i]), len(d.Labels))
			}
			id := s.ids[ci]
			if by != nil {
				id = by[i]
			}
			for j, l := range d.Labels {
				it.SetScore(l, float64(scores[i][j]), id)
			}
		}
	}
	return nil
}

// AsCategories makes c a categories model with the given floor (see
// Description.Categories): for an encoder or remote model whose labels are
// a user's taxonomy. c must be multi-class.
func AsCategories(c Classifier, abstainBelow float64) (Classifier, error) {
	d := c.Describe()
	if d.Kind != MultiClass {
		return nil, fmt.Errorf("categories: %s is %s; a categories model must be multi-class", d.ID(), d.Kind)
	}
	d.Categories, d.AbstainBelow = true, abstainBelow
	if n, ok := c.(Normalized); ok {
		return categoriesNormalized{categories{c, d}, n}, nil
	}
	return categories{c, d}, nil
}

type categories struct {
	Classifier
	d Description
}

func (c categories) Describe() Description { return c.d }

type categoriesNormalized struct {
	categories
	n Normalized
}

func (c categoriesNormalized) ClassifyNormalized(ctx context.Context, texts []string) ([][]float32, error) {
	return c.n.ClassifyNormalized(ctx, texts)
}
