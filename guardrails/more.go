package guardrails

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/sieve-stream/sieve/classifiers"
	"github.com/sieve-stream/sieve/models"
)

// ClassifierScanner makes any classifier a rail scanner: a label at or
// above its threshold (or Threshold, when set) is a span over the whole
// text.
type ClassifierScanner struct {
	Classifier classifiers.Classifier
	Threshold  float64
}

// Name implements Scanner.
func (c ClassifierScanner) Name() string { return "classifier:" + c.Classifier.Describe().Name }

// Labels implements Scanner.
func (c ClassifierScanner) Labels() []string { return c.Classifier.Describe().Labels }

// Scan implements Scanner.
func (c ClassifierScanner) Scan(text string) []Span {
	// The model reads the text as it is displayed (Unfold): reversed runs
	// and stacked marks would otherwise hide its words from it.
	s, err := c.Classifier.Classify(context.Background(), []string{Unfold(text)})
	if err != nil || len(s) == 0 {
		return nil
	}
	d := c.Classifier.Describe()
	var out []Span
	for j, l := range d.Labels {
		t := d.Thresholds[l]
		if c.Threshold > 0 {
			t = c.Threshold
		}
		if float64(s[0][j]) >= t {
			out = append(out, Span{0, len(text), l, float64(s[0][j])})
		}
	}
	return out
}

// Gibberish flags texts that are mostly unpronounceable letter runs
// (keyboard mashing, random strings) rather than words.
type Gibberish struct {
	// MinWords: shorter texts are not judged (default 3).
	MinWords int
	// MaxShare of letter words that look random (default 0.5).
	MaxShare float64
}

// Name implements Scanner.
func (Gibberish) Name() string { return "gibberish" }

// Labels implements Scanner.
func (Gibberish) Labels() []string { return []string{"gibberish"} }

// Scan implements Scanner.
func (g Gibberish) Scan(text string) []Span {
	minWords, maxShare := g.MinWords, g.MaxShare
	if minWords <= 0 {
		minWords = 3
	}
	if maxShare <= 0 {
		maxShare = 0.5
	}
	words := strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) })
	n, random := 0, 0
	for _, w := range words {
		if len(w) < 4 || !isLatin(w) {
			continue
		}
		n++
		if looksRandom(strings.ToLower(w)) {
			random++
		}
	}
	if n >= minWords && float64(random)/float64(n) > maxShare {
		return []Span{{0, len(text), "gibberish", float64(random) / float64(n)}}
	}
	return nil
}

func isLatin(w string) bool {
	for _, r := range w {
		if r > unicode.MaxLatin1 {
			return false
		}
	}
	return true
}

// looksRandom: no vowel at all, or a letter pair that Latin-script
// languages almost never write (keyboard rows give them away: "kj", "xcv").
func looksRandom(w string) bool {
	vowels := 0
	for _, r := range w {
		if strings.ContainsRune("aeiouyàáâäèéêëìíîïòóôöùúûü", r) {
			vowels++
		}
	}
	if vowels == 0 {
		return true
	}
	for i := 0; i+1 < len(w); i++ {
		if rareBigrams[w[i:i+2]] {
			return true
		}
	}
	return false
}

var rareBigrams = func() map[string]bool {
	m := map[string]bool{}
	for _, b := range strings.Fields(`bk bq bx cb cf cg cj cp cv cw cx dx fk fq fv fx fz gq gv gx hk hv hx hz jb jc jd jf jg jh jk jl jm
		jn jp jq jr js jt jv jw jx jz kq kx kz lx mq mx mz pq px pz qb qc qd qf qg qh qj qk ql qm qn qp qq qr qs qt qv qw qx qy qz
		sx vb vf vh vj vk vm vp vq vw vx wq wv wx xd xj xk xr xz yq yv zb zc zg zh zj zn zq zr zs zx`) {
		m[b] = true
	}
	return m
}()

func init() {
	plain("gibberish", "text whose words mostly look random", Gibberish{})
	RegisterScanner(ScannerType{Name: "classifier", Summary: "a built-in model's labels over its thresholds (or threshold)",
		Params: []string{"model", "threshold"}, New: func(c *Check) (Scanner, error) {
			m, err := models.Builtin(c.Model)
			if err != nil {
				return nil, fmt.Errorf("model: %w", err)
			}
			if c.Threshold < 0 || c.Threshold > 1 {
				return nil, fmt.Errorf("threshold: %v is not in [0, 1]", c.Threshold)
			}
			return ClassifierScanner{Classifier: m, Threshold: c.Threshold}, nil
		}})
}
