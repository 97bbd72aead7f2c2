package linear

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/sieve-stream/sieve/classifiers"
)

// Example is one labelled text.
type Example = classifiers.Example

// TrainOptions control training. Equal options and data give a bit-for-bit
// equal model.
type TrainOptions struct {
	Name string
	Kind classifiers.Kind
	// Labels fixes the label order; default: sorted labels of the data.
	Labels []string
	// DimsLog2 is log2 of the hash space (default 18: 262,144 buckets).
	DimsLog2 int
	Epochs   int     // default 8
	LR       float64 // initial learning rate, decays linearly to 0 (default 0.5)
	L2       float64 // weight decay per update (default 1e-6)
	Seed     uint64
	// Categories makes a multi-class model a categories model
	// (classifiers.Description.Categories) whose category is Other when its
	// most probable label, after calibration, scores below AbstainBelow, or
	// when the background class (rows with none of its labels: texts of
	// another kind) is more probable than any label.
	Categories   bool
	AbstainBelow float64
	// Parents maps a label to the broader label it implies
	// (harassment_threatening to harassment): the parent's score is never
	// below its child's, so a verdict never flags a child without its
	// parent. Only for multi-label models.
	Parents map[string]string
	// Context adds context features: each word as read under a recent
	// negation ("not ... stupid") and after the nearest recent personal
	// pronoun ("you ... worthless" against "I ... worthless").
	Context bool
	// LongWindow, when set, is the window in words for texts over LongText
	// words, for a model whose harm sits in single sentences (threats,
	// insults) rather than in a text's whole (a jailbreak's framing).
	LongWindow int
	// Progress, when set, is told after each epoch.
	Progress func(epoch, epochs int, loss float64)
	Meta     map[string]string
}

// Train fits a model on train.
func Train(train []Example, o TrainOptions) (*Model, error) {
	if len(train) == 0 {
		return nil, errors.New("train: no examples")
	}
	if o.DimsLog2 == 0 {
		o.DimsLog2 = 18
	}
	if o.DimsLog2 < 10 || o.DimsLog2 > 24 {
		return nil, fmt.Errorf("train: dims 2^%d out of range 2^10..2^24", o.DimsLog2)
	}
	if o.Epochs <= 0 {
		o.Epochs = 8
	}
	if o.LR <= 0 {
		o.LR = 0.5
	}
	if o.L2 == 0 {
		o.L2 = 1e-6
	}
	if o.Name == "" {
		o.Name = "linear"
	}
	labels := o.Labels
	if len(labels) == 0 {
		seen := map[string]bool{}
		for _, ex := range train {
			for _, l := range ex.Labels {
				if !seen[l] {
					seen[l] = true
					labels = append(labels, l)
				}
			}
		}
		sort.Strings(labels)
	}
	if len(labels) == 0 {
		return nil, errors.New("train: the data has no labels")
	}
	kind := o.Kind
	if kind == "" {
		kind = classifiers.MultiLabel
		if len(labels) == 1 {
			kind = classifiers.Binary
		}
	}
	classes := slices.Clone(labels)
	index := map[string]int{}
	for i, l := range labels {
		index[l] = i
	}
	// A row with none of the model's labels is benign for it, whatever
	// other labels it carries (an SMS marked spam is a benign example for
	// a prompt-attack model).
	benign := false
	for _, ex := range train {
		if !hasAny(ex.Labels, index) {
			benign = true
		}
		if kind == classifiers.MultiClass && countKnown(ex.Labels, index) > 1 {
			return nil, fmt.Errorf("train: example %s has %d labels; a multi-class model takes one", ex.ID, len(ex.Labels))
		}
		if kind == classifiers.Binary && len(labels) != 1 {
			return nil, fmt.Errorf("train: a binary model takes one label, the data has %v", labels)
		}
	}
	if kind == classifiers.MultiClass && benign {
		classes = append(classes, noneClass)
	}
	if o.Categories && kind != classifiers.MultiClass {
		return nil, errors.New("train: a categories model must be multi-class")
	}
	if o.LongWindow < 0 || o.LongWindow == 1 {
		return nil, fmt.Errorf("train: long window %d is not 0 or at least 2 words", o.LongWindow)
	}
	for child, parent := range o.Parents {
		if kind != classifiers.MultiLabel || !slices.Contains(labels, child) || !slices.Contains(labels, parent) || child == parent {
			return nil, fmt.Errorf("train: parent %q of %q: both must be labels of a multi-label model", parent, child)
		}
	}
	if o.AbstainBelow < 0 || o.AbstainBelow > 1 {
		return nil, fmt.Errorf("train: abstain below %v is not in [0, 1]", o.AbstainBelow)
	}
	k := len(classes)
	dims := uint32(1) << o.DimsLog2

	// Featurize once; training revisits every example each epoch.
	type row struct {
		idx []uint32
		v   float32
		y   []float32
		// skip marks the classes the row says nothing about.
		skip []bool
	}
	rows := make([]row, len(train))
	f := features{context: o.Context}
	for i, ex := range train {
		v := f.featurize(ex.Text, dims)
		y := make([]float32, k)
		for _, l := range ex.Labels {
			j, ok := index[l]
			if !ok {
				continue // a label the model was not asked to learn
			}
			y[j] = 1
		}
		if kind == classifiers.MultiClass && benign && !hasAny(ex.Labels, index) {
			y[k-1] = 1
		}
		var skip []bool
		for _, l := range ex.Unknown {
			if j, ok := index[l]; ok && kind != classifiers.MultiClass && y[j] == 0 {
				if skip == nil {
					skip = make([]bool, k)
				}
				skip[j] = true
			}
		}
		rows[i] = row{idx: slices.Clone(f.idx), v: v, y: y, skip: skip}
	}

	w := make([]float32, int(dims)*k)
	bias := make([]float32, k)
	logit := make([]float32, k)
	p := make([]float32, k)
	g := make([]float32, k)
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	r := rand.New(rand.NewPCG(o.Seed, o.Seed^0x5eed))
	total := float64(o.Epochs * len(rows))
	step := 0.0
	for epoch := range o.Epochs {
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		loss := 0.0
		for _, i := range order {
			x := rows[i]
			lr := float32(o.LR * (1 - step/total))
			step++
			for c := range logit {
				logit[c] = bias[c]
			}
			for _, idx := range x.idx {
				wi := w[int(idx)*k : int(idx)*k+k]
				for c := range wi {
					logit[c] += wi[c] * x.v
				}
			}
			activate(kind, logit, p)
			for c := range g {
				if x.skip != nil && x.skip[c] {
					g[c] = 0
					continue
				}
				g[c] = p[c] - x.y[c]
				if x.y[c] > 0 {
					loss -= math.Log(math.Max(float64(p[c]), 1e-12))
				} else if kind != classifiers.MultiClass {
					loss -= math.Log(math.Max(1-float64(p[c]), 1e-12))
				}
				bias[c] -= lr * g[c]
			}
			decay := float32(1 - o.L2)
			for _, idx := range x.idx {
				wi := w[int(idx)*k : int(idx)*k+k]
				for c := range wi {
					wi[c] = wi[c]*decay - lr*g[c]*x.v
				}
			}
		}
		if o.Progress != nil {
			o.Progress(epoch+1, o.Epochs, loss/float64(len(rows)))
		}
	}

	m := &Model{Name: o.Name, Kind: kind, Classes: classes, Dims: dims, Bias: bias, Meta: o.Meta,
		Thresholds: map[string]float64{}, Categories: o.Categories, AbstainBelow: o.AbstainBelow, Parents: o.Parents, Context: o.Context, LongWindow: o.LongWindow}
	m.quantize(w)
	for _, l := range labels {
		m.Thresholds[l] = 0.5
	}
	m.version = "untrained"
	return m, nil
}

// quantize stores w as int16 with one scale per class.
func (m *Model) quantize(w []float32) {
	k := len(m.Classes)
	m.Scales = make([]float32, k)
	for c := range k {
		var mx float32
		for i := c; i < len(w); i += k {
			mx = max(mx, float32(math.Abs(float64(w[i]))))
		}
		if mx == 0 {
			mx = 1
		}
		m.Scales[c] = mx / math.MaxInt16
	}
	m.Weights = make([]int16, len(w))
	for i, x := range w {
		m.Weights[i] = int16(math.Round(float64(x / m.Scales[i%k])))
	}
}

func hasAny(labels []string, index map[string]int) bool { return countKnown(labels, index) > 0 }

func countKnown(labels []string, index map[string]int) int {
	n := 0
	for _, l := range labels {
		if _, ok := index[l]; ok {
			n++
		}
	}
	return n
}
