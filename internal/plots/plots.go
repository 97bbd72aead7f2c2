// Package plots draws evaluation reports as PNG: a precision–recall curve
// per label and a confusion matrix, because people read curves faster than
// tables.
package plots

import (
	"fmt"
	"image/color"
	"path/filepath"
	"sort"

	"github.com/sieve-stream/sieve/classifiers"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// PR returns the precision–recall points of scores against truth, one per
// distinct threshold, from the highest threshold down.
func PR(scores []float32, truth []bool) plotter.XYs {
	idx := make([]int, len(scores))
	pos := 0
	for i := range idx {
		idx[i] = i
		if truth[i] {
			pos++
		}
	}
	if pos == 0 {
		return nil
	}
	sort.Slice(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	var pts plotter.XYs
	tp, fp := 0, 0
	for k, i := range idx {
		if truth[i] {
			tp++
		} else {
			fp++
		}
		if k+1 < len(idx) && scores[idx[k+1]] == scores[i] {
			continue
		}
		pts = append(pts, plotter.XY{X: float64(tp) / float64(pos), Y: float64(tp) / float64(tp+fp)})
	}
	return pts
}

// Write draws every label's precision–recall curve and the confusion matrix
// of r into dir, returning the files written.
func Write(dir string, r *classifiers.Report) ([]string, error) {
	var files []string
	labels := make([]string, 0, len(r.Scores))
	for l := range r.Scores {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	for _, l := range labels {
		pts := PR(r.Scores[l], r.Truth[l])
		if pts == nil {
			continue
		}
		p := plot.New()
		p.Title.Text = fmt.Sprintf("%s: precision–recall (F1 %.3f at threshold)", l, r.Labels[l].F1)
		p.X.Label.Text, p.Y.Label.Text = "recall", "precision"
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1.02
		p.Add(plotter.NewGrid())
		line, err := plotter.NewLine(pts)
		if err != nil {
			return nil, err
		}
		line.Color = color.RGBA{R: 31, G: 119, B: 180, A: 255}
		line.Width = vg.Points(2)
		p.Add(line)
		m := r.Labels[l]
		dot, _ := plotter.NewScatter(plotter.XYs{{X: m.Recall, Y: m.Precision}})
		dot.GlyphStyle.Shape = draw.CircleGlyph{}
		dot.GlyphStyle.Radius = vg.Points(5)
		dot.GlyphStyle.Color = color.RGBA{R: 214, G: 39, B: 40, A: 255}
		p.Add(dot)
		p.Legend.Add("curve", line)
		p.Legend.Add("calibrated threshold", dot)
		p.Legend.Left, p.Legend.Top = true, false
		path := filepath.Join(dir, "pr-"+l+".png")
		if err := p.Save(6*vg.Inch, 4.5*vg.Inch, path); err != nil {
			return nil, err
		}
		files = append(files, path)
	}
	if len(r.Classes) > 1 {
		path := filepath.Join(dir, "confusion.png")
		if err := confusion(path, r); err != nil {
			return nil, err
		}
		files = append(files, path)
	}
	return files, nil
}

// grid adapts the confusion matrix to plotter.GridXYZ: x predicted, y true.
type grid struct {
	classes []string
	counts  [][]float64
}

func (g grid) Dims() (c, r int)   { return len(g.classes), len(g.classes) }
func (g grid) Z(c, r int) float64 { return g.counts[r][c] }
func (g grid) X(c int) float64    { return float64(c) }
func (g grid) Y(r int) float64    { return float64(r) }

func confusion(path string, r *classifiers.Report) error {
	n := len(r.Classes)
	g := grid{classes: r.Classes, counts: make([][]float64, n)}
	for i := range g.counts {
		g.counts[i] = make([]float64, n)
	}
	// Rows are normalised by the true class so rare classes stay visible.
	var labels plotter.XYLabels
	for i, t := range r.Classes {
		total := 0
		for _, p := range r.Classes {
			total += r.Confusion[[2]string{t, p}]
		}
		for j, p := range r.Classes {
			c := r.Confusion[[2]string{t, p}]
			if total > 0 {
				g.counts[i][j] = float64(c) / float64(total)
			}
			labels.XYs = append(labels.XYs, plotter.XY{X: float64(j), Y: float64(i)})
			labels.Labels = append(labels.Labels, fmt.Sprint(c))
		}
	}
	p := plot.New()
	p.Title.Text = "confusion matrix (rows: true class, share of row)"
	p.X.Label.Text, p.Y.Label.Text = "predicted", "true"
	hm := plotter.NewHeatMap(g, blues{})
	p.Add(hm)
	lbl, err := plotter.NewLabels(labels)
	if err != nil {
		return err
	}
	p.Add(lbl)
	names := make([]string, n)
	for i, c := range r.Classes {
		names[i] = c
		if c == "" {
			names[i] = "(benign)"
		}
	}
	ticks := make([]plot.Tick, n)
	for i := range ticks {
		ticks[i] = plot.Tick{Value: float64(i), Label: names[i]}
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	size := vg.Length(1.4*float64(n)+2) * vg.Inch
	return p.Save(size, size*0.85, path)
}

// blues is a white-to-blue palette.
type blues struct{}

func (blues) Colors() []color.Color {
	out := make([]color.Color, 64)
	for i := range out {
		f := float64(i) / 63
		out[i] = color.RGBA{R: uint8(247 - 200*f), G: uint8(251 - 140*f), B: uint8(255 - 60*f), A: 255}
	}
	return out
}
