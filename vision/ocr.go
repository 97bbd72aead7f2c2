package vision

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/sieve-stream/sieve/internal/onnxrt"
)

// OCR files in a model directory, as PaddleOCR names them.
const (
	OCRDetector   = "ch_PP-OCRv4_det_infer.onnx"
	OCRRecogniser = "ch_PP-OCRv4_rec_infer.onnx"
	OCRDictionary = "ppocr_keys_v1.txt"
)

// OCROptions tune text detection and recognition; zero fields take
// PaddleOCR's defaults.
type OCROptions struct {
	// MaxSide is the longest side the detector sees (default 960): larger
	// images are shrunk first, then both sides rounded to a multiple of 32.
	MaxSide int
	// Thresh binarises the detector's probability map (default 0.3);
	// BoxThresh is the mean probability a box needs (default 0.6).
	Thresh, BoxThresh float64
	// Unclip grows each box by area*Unclip/perimeter on every side, as
	// DB's unclip does (default 1.5).
	Unclip float64
	// MaxBoxes caps the text boxes read per image (default 50): the most
	// confident are kept.
	MaxBoxes int
	// DropScore drops recognised lines whose mean character probability is
	// lower (default 0.5).
	DropScore float64
	// RecBatch is how many crops one recogniser run takes (default 16).
	RecBatch int
}

func (o *OCROptions) ensureDefaults() {
	if o.MaxSide <= 0 {
		o.MaxSide = 960
	}
	if o.Thresh <= 0 {
		o.Thresh = 0.3
	}
	if o.BoxThresh <= 0 {
		o.BoxThresh = 0.6
	}
	if o.Unclip <= 0 {
		o.Unclip = 1.5
	}
	if o.MaxBoxes <= 0 {
		o.MaxBoxes = 50
	}
	if o.DropScore <= 0 {
		o.DropScore = 0.5
	}
	if o.RecBatch <= 0 {
		o.RecBatch = 16
	}
}

// OCR reads text in images with PaddleOCR's PP-OCRv4: DB text detection,
// then CRNN recognition decoded by CTC over ppocr_keys_v1 (Chinese and
// English). Read is safe for concurrent use.
type OCR struct {
	guard    onnxrt.Guard // a batch runs inside it; Close waits
	det, rec *ort.DynamicAdvancedSession
	detIn    string
	detOut   string
	recIn    string
	recOut   string
	dict     []string // index 0 is CTC's blank
	opts     OCROptions
	provider string
}

// Line is one recognised line of text and where it was, in the image's
// pixels.
type Line struct {
	Text  string
	Box   image.Rectangle
	Score float32
}

// LoadOCR opens a directory holding OCRDetector, OCRRecogniser and
// OCRDictionary.
func LoadOCR(dir, lib string, o onnxrt.Options, opts OCROptions, log *slog.Logger) (*OCR, error) {
	lib, err := onnxrt.Init(lib)
	if err != nil {
		return nil, err
	}
	opts.ensureDefaults()
	m := &OCR{opts: opts}
	if m.dict, err = readDictionary(filepath.Join(dir, OCRDictionary)); err != nil {
		return nil, err
	}
	so, provider, err := onnxrt.SessionOptions(o, lib, log)
	if err != nil {
		return nil, err
	}
	defer so.Destroy()
	m.provider = provider
	open := func(name string) (*ort.DynamicAdvancedSession, string, string, error) {
		path := filepath.Join(dir, name)
		ins, outs, err := ort.GetInputOutputInfo(path)
		if err != nil {
			return nil, "", "", fmt.Errorf("ocr %s: %w", path, err)
		}
		if len(ins) != 1 || len(outs) != 1 {
			return nil, "", "", fmt.Errorf("ocr %s: want one input and one output", path)
		}
		s, err := ort.NewDynamicAdvancedSession(path, []string{ins[0].Name}, []string{outs[0].Name}, so)
		if err != nil {
			return nil, "", "", fmt.Errorf("ocr %s: %w", path, err)
		}
		if name == OCRRecogniser {
			if d := outs[0].Dimensions; len(d) != 3 || d[2] != int64(len(m.dict)) {
				s.Destroy()
				return nil, "", "", fmt.Errorf("ocr %s: output %v does not have %d classes (the dictionary, blank and space)", path, d, len(m.dict))
			}
		}
		return s, ins[0].Name, outs[0].Name, nil
	}
	if m.det, m.detIn, m.detOut, err = open(OCRDetector); err != nil {
		return nil, err
	}
	if m.rec, m.recIn, m.recOut, err = open(OCRRecogniser); err != nil {
		m.det.Destroy()
		return nil, err
	}
	return m, nil
}

// readDictionary reads one character per line, with CTC's blank first and
// a space last, as PaddleOCR's use_space_char does.
func readDictionary(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ocr dictionary: %w", err)
	}
	defer f.Close()
	dict := []string{""}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		dict = append(dict, strings.TrimRight(sc.Text(), "\r\n"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("ocr dictionary %s: %w", path, err)
	}
	if len(dict) < 2 {
		return nil, fmt.Errorf("ocr dictionary %s is empty", path)
	}
	return append(dict, " "), nil
}

// Provider is the execution provider the sessions run on.
func (m *OCR) Provider() string { return m.provider }

// Close releases both sessions; a second Close does nothing.
func (m *OCR) Close() error {
	return m.guard.Close(func() error { return errors.Join(m.det.Destroy(), m.rec.Destroy()) })
}

// Text joins an image's lines in reading order.
func Text(lines []Line) string {
	parts := make([]string, 0, len(lines))
	for _, l := range lines {
		if t := strings.TrimSpace(l.Text); t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, "\n")
}

// picture is an image's pixels as BGR floats in [0, 255], what PaddleOCR's
// OpenCV preprocessing reads.
type picture struct {
	w, h int
	bgr  []float32
}

func newPicture(img image.Image, maxPixels int) (picture, error) {
	w, h, rgb, err := RGB(img, maxPixels)
	if err != nil {
		return picture{}, err
	}
	p := picture{w: w, h: h, bgr: make([]float32, len(rgb))}
	for i := 0; i < len(rgb); i += 3 {
		p.bgr[i], p.bgr[i+1], p.bgr[i+2] = float32(rgb[i+2]), float32(rgb[i+1]), float32(rgb[i])
	}
	return p, nil
}

// Read detects and recognises the text of each image: lines in reading
// order (top to bottom, then left to right). Each image's detector runs
// alone (its size is its own); the recogniser runs the crops of all the
// images together, in batches of similar width.
func (m *OCR) Read(ctx context.Context, imgs []image.Image, maxPixels int) ([][]Line, error) {
	if !m.guard.Enter() {
		return nil, ErrClosed
	}
	defer m.guard.Exit()
	type crop struct {
		img   int
		box   image.Rectangle
		data  []float32 // 3 x 48 x width, CHW, normalised
		width int
		gaps  []gap
	}
	var crops []crop
	for i, img := range imgs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p, err := newPicture(img, maxPixels)
		if err != nil {
			return nil, fmt.Errorf("image %d: %w", i, err)
		}
		boxes, err := m.detect(p)
		if err != nil {
			return nil, fmt.Errorf("image %d: %w", i, err)
		}
		for _, q := range boxes {
			data, w, gaps := recInput(p, q)
			crops = append(crops, crop{img: i, box: q.bounds(), data: data, width: w, gaps: gaps})
		}
	}
	out := make([][]Line, len(imgs))
	// Similar widths batch together, so that little is padding.
	order := make([]int, len(crops))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return crops[order[a]].width < crops[order[b]].width })
	lines := make([]Line, len(crops))
	keep := make([]bool, len(crops))
	for start := 0; start < len(order); start += m.opts.RecBatch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		idx := order[start:min(len(order), start+m.opts.RecBatch)]
		width := 0
		for _, k := range idx {
			width = max(width, crops[k].width)
		}
		batch := make([]float32, len(idx)*3*recHeight*width)
		for bi, k := range idx {
			c := crops[k]
			for ch := range 3 {
				for y := range recHeight {
					dst := batch[((bi*3+ch)*recHeight+y)*width:]
					copy(dst[:c.width], c.data[(ch*recHeight+y)*c.width:(ch*recHeight+y+1)*c.width])
				}
			}
		}
		gaps := make([][]gap, len(idx))
		for bi, k := range idx {
			gaps[bi] = crops[k].gaps
		}
		texts, scores, err := m.recognise(batch, len(idx), width, gaps)
		if err != nil {
			return nil, err
		}
		for bi, k := range idx {
			if float64(scores[bi]) >= m.opts.DropScore && strings.TrimSpace(texts[bi]) != "" {
				lines[k], keep[k] = Line{Text: texts[bi], Box: crops[k].box, Score: scores[bi]}, true
			}
		}
	}
	for k, c := range crops {
		if keep[k] {
			out[c.img] = append(out[c.img], lines[k])
		}
	}
	for i := range out {
		sortReadingOrder(out[i])
	}
	return out, nil
}

// gapBetween reports whether a whole gap lies between columns a and b.
func gapBetween(gs []gap, a, b float64) bool {
	for _, g := range gs {
		if float64(g.from) >= a && float64(g.to) <= b {
			return true
		}
	}
	return false
}

// sortReadingOrder sorts lines top to bottom, and left to right within a
// row (boxes whose tops are within 10 pixels), as PaddleOCR's sorted_boxes.
func sortReadingOrder(ls []Line) {
	sort.SliceStable(ls, func(a, b int) bool {
		if ls[a].Box.Min.Y != ls[b].Box.Min.Y {
			return ls[a].Box.Min.Y < ls[b].Box.Min.Y
		}
		return ls[a].Box.Min.X < ls[b].Box.Min.X
	})
	for i := 1; i < len(ls); i++ {
		for j := i; j > 0 && abs(ls[j].Box.Min.Y-ls[j-1].Box.Min.Y) < 10 && ls[j].Box.Min.X < ls[j-1].Box.Min.X; j-- {
			ls[j], ls[j-1] = ls[j-1], ls[j]
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// detSize is the detector's input size for an image: shrunk so that its
// longer side is at most maxSide, then each side rounded to a multiple of
// 32 (at least 32), as PaddleOCR's DetResizeForTest does.
func detSize(w, h, maxSide int) (int, int) {
	ratio := 1.0
	if m := max(w, h); m > maxSide {
		ratio = float64(maxSide) / float64(m)
	}
	round := func(v float64) int { return max(32, int(math.Round(v/32))*32) }
	return round(float64(w) * ratio), round(float64(h) * ratio)
}

var (
	detMean = [3]float32{0.485, 0.456, 0.406}
	detStd  = [3]float32{0.229, 0.224, 0.225}
)

// quad is a text box as four corners (top-left, top-right, bottom-right,
// bottom-left of the text's own frame), in pixels.
type quad struct {
	pts   [4][2]float64
	score float64
}

// bounds is the quad's axis-aligned bounding rectangle.
func (q quad) bounds() image.Rectangle {
	x0, y0, x1, y1 := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range q.pts {
		x0, y0, x1, y1 = math.Min(x0, p[0]), math.Min(y0, p[1]), math.Max(x1, p[0]), math.Max(y1, p[1])
	}
	return image.Rect(int(math.Floor(x0)), int(math.Floor(y0)), int(math.Ceil(x1)), int(math.Ceil(y1)))
}

// detect returns the image's text boxes, in its own pixels.
func (m *OCR) detect(p picture) ([]quad, error) {
	dw, dh := detSize(p.w, p.h, m.opts.MaxSide)
	resized := p.bgr
	if dw != p.w || dh != p.h {
		resized = ResizeBilinear(p.bgr, p.h, p.w, 3, dh, dw, false, true)
	}
	in := make([]float32, 3*dw*dh)
	for i := range dw * dh {
		for ch := range 3 {
			in[ch*dw*dh+i] = (resized[3*i+ch]/255 - detMean[ch]) / detStd[ch]
		}
	}
	t, err := ort.NewTensor(ort.NewShape(1, 3, int64(dh), int64(dw)), in)
	if err != nil {
		return nil, err
	}
	defer t.Destroy()
	outs := []ort.Value{nil}
	if err := m.det.Run([]ort.Value{t}, outs); err != nil {
		return nil, fmt.Errorf("ocr detector: %w", err)
	}
	defer outs[0].Destroy()
	prob := outs[0].(*ort.Tensor[float32]).GetData()
	if len(prob) != dw*dh {
		return nil, fmt.Errorf("ocr detector: %d values for a %dx%d map", len(prob), dw, dh)
	}
	boxes := dbBoxes(prob, dw, dh, m.opts)
	sx, sy := float64(p.w)/float64(dw), float64(p.h)/float64(dh)
	out := make([]quad, 0, len(boxes))
	for _, b := range boxes {
		for i := range b.pts {
			b.pts[i][0] = math.Max(0, math.Min(float64(p.w), b.pts[i][0]*sx))
			b.pts[i][1] = math.Max(0, math.Min(float64(p.h), b.pts[i][1]*sy))
		}
		if r := b.bounds(); r.Dx() >= 3 && r.Dy() >= 3 {
			out = append(out, b)
		}
	}
	return out, nil
}

// dbBoxes is DB's post-processing: binarise the probability map, take
// 8-connected components, keep those whose mean probability reaches
// BoxThresh, fit each a rectangle along its principal axis (a slanted line
// gets a slanted box, as minAreaRect gives PaddleOCR), and grow it by DB's
// unclip distance (area * ratio / perimeter). The MaxBoxes most confident
// are kept.
func dbBoxes(prob []float32, w, h int, o OCROptions) []quad {
	label := make([]bool, len(prob))
	var boxes []quad
	stack := make([]int, 0, 256)
	var pix []int
	for start, v := range prob {
		if float64(v) <= o.Thresh || label[start] {
			continue
		}
		label[start] = true
		stack = append(stack[:0], start)
		pix = pix[:0]
		var sum, mx, my float64
		for len(stack) > 0 {
			i := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			pix = append(pix, i)
			x, y := i%w, i/w
			sum += float64(prob[i])
			mx += float64(x)
			my += float64(y)
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					nx, ny := x+dx, y+dy
					if nx < 0 || ny < 0 || nx >= w || ny >= h {
						continue
					}
					j := ny*w + nx
					if !label[j] && float64(prob[j]) > o.Thresh {
						label[j] = true
						stack = append(stack, j)
					}
				}
			}
		}
		n := float64(len(pix))
		if sum/n < o.BoxThresh || len(pix) < 9 {
			continue
		}
		mx, my = mx/n, my/n
		var cxx, cyy, cxy float64
		for _, i := range pix {
			dx, dy := float64(i%w)-mx, float64(i/w)-my
			cxx += dx * dx
			cyy += dy * dy
			cxy += dx * dy
		}
		// The principal axis, folded into (-45°, 45°]: text runs along
		// it; a taller-than-wide box is turned when it is cropped.
		theta := 0.5 * math.Atan2(2*cxy, cxx-cyy)
		for theta > math.Pi/4 {
			theta -= math.Pi / 2
		}
		for theta <= -math.Pi/4 {
			theta += math.Pi / 2
		}
		ux, uy := math.Cos(theta), math.Sin(theta)
		u0, u1, v0, v1 := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
		for _, i := range pix {
			dx, dy := float64(i%w)-mx, float64(i/w)-my
			u, v := dx*ux+dy*uy, -dx*uy+dy*ux
			u0, u1, v0, v1 = math.Min(u0, u), math.Max(u1, u), math.Min(v0, v), math.Max(v1, v)
		}
		// Pixels are unit squares: the box reaches their outer edges.
		u0, u1, v0, v1 = u0-0.5, u1+0.5, v0-0.5, v1+0.5
		bw, bh := u1-u0, v1-v0
		if math.Min(bw, bh) < 3 {
			continue
		}
		d := bw * bh * o.Unclip / (2 * (bw + bh))
		u0, u1, v0, v1 = u0-d, u1+d, v0-d, v1+d
		// The centre of a pixel is at +0.5.
		cx, cy := mx+0.5, my+0.5
		corner := func(u, v float64) [2]float64 { return [2]float64{cx + u*ux - v*uy, cy + u*uy + v*ux} }
		boxes = append(boxes, quad{pts: [4][2]float64{corner(u0, v0), corner(u1, v0), corner(u1, v1), corner(u0, v1)}, score: sum / n})
	}
	if len(boxes) > o.MaxBoxes {
		sort.SliceStable(boxes, func(a, b int) bool { return boxes[a].score > boxes[b].score })
		boxes = boxes[:o.MaxBoxes]
	}
	return boxes
}

const (
	recHeight   = 48
	recMinWidth = 320 // PaddleOCR pads every crop to at least 48x320
	recMaxWidth = 3200
)

// recInput cuts the quad out of the picture, straightened (as PaddleOCR's
// get_rotate_crop_image does), at the recogniser's height of 48 and a
// width in proportion (at least 320, padded with zeros), each value
// (x/255 - 0.5)/0.5, CHW. A crop much taller than wide is turned a quarter
// anticlockwise first, as PaddleOCR reads vertical text.
func recInput(p picture, q quad) ([]float32, int, []gap) {
	dist := func(a, b [2]float64) float64 { return math.Hypot(a[0]-b[0], a[1]-b[1]) }
	bw := math.Max(dist(q.pts[0], q.pts[1]), dist(q.pts[3], q.pts[2]))
	bh := math.Max(dist(q.pts[0], q.pts[3]), dist(q.pts[1], q.pts[2]))
	// Along the text (a) and across it (b), from the first corner.
	o, a, b := q.pts[0], q.pts[1], q.pts[3]
	if bh/bw >= 1.5 {
		// Vertical text: read it turned a quarter anticlockwise, so the
		// crop's top-left is the quad's top-right corner.
		o, a, b = q.pts[1], q.pts[2], q.pts[0]
		bw, bh = bh, bw
	}
	rw := min(recMaxWidth, max(1, int(math.Ceil(recHeight*bw/math.Max(bh, 1)))))
	width := max(rw, recMinWidth)
	out := make([]float32, 3*recHeight*width)
	ax, ay := a[0]-o[0], a[1]-o[1]
	bx, by := b[0]-o[0], b[1]-o[1]
	plane := recHeight * width
	lum := make([]float32, recHeight*rw)
	for y := range recHeight {
		fy := (float64(y) + 0.5) / recHeight
		for x := range rw {
			fx := (float64(x) + 0.5) / float64(rw)
			sx := o[0] + fx*ax + fy*bx - 0.5
			sy := o[1] + fx*ay + fy*by - 0.5
			px := sample(p, sx, sy)
			for c := range 3 {
				out[c*plane+y*width+x] = (px[c]/255 - 0.5) / 0.5
			}
			lum[y*rw+x] = 0.114*px[0] + 0.587*px[1] + 0.299*px[2]
		}
	}
	return out, width, wordGaps(lum, rw)
}

// gap is a run of crop columns [from, to) with no ink.
type gap struct{ from, to int }

// wordGaps finds the blank columns of a straightened line at least a
// quarter of its text's height wide: the spaces between words. PP-OCRv4's recogniser,
// trained mostly on Chinese, often drops the space between English words;
// the gaps let Read put them back where the picture shows one.
func wordGaps(lum []float32, w int) []gap {
	// The background is the most common brightness; ink is what stands
	// clearly off it.
	var hist [256]int
	for _, v := range lum {
		hist[min(255, max(0, int(v)))]++
	}
	bg := 0
	for i, n := range hist {
		if n > hist[bg] {
			bg = i
		}
	}
	var far float32
	for _, v := range lum {
		far = max(far, abs32(v-float32(bg)))
	}
	th := max(40, 0.4*far)
	// A space is about a quarter of the text's height (ascender to
	// descender): the rows with ink measure it.
	rows := 0
	for y := range recHeight {
		for x := range w {
			if abs32(lum[y*w+x]-float32(bg)) > th {
				rows++
				break
			}
		}
	}
	minGap := max(3, rows/4)
	var gaps []gap
	run := -1
	for x := 0; x <= w; x++ {
		ink := x == w
		for y := 0; y < recHeight && !ink; y++ {
			ink = abs32(lum[y*w+x]-float32(bg)) > th
		}
		switch {
		case !ink && run < 0:
			run = x
		case ink && run >= 0:
			if x-run >= minGap {
				gaps = append(gaps, gap{run, x})
			}
			run = -1
		}
	}
	return gaps
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// sample reads the picture at (x, y) bilinearly, clamped to its edges.
func sample(p picture, x, y float64) [3]float32 {
	x = math.Max(0, math.Min(float64(p.w-1), x))
	y = math.Max(0, math.Min(float64(p.h-1), y))
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, p.w-1), min(y0+1, p.h-1)
	fx, fy := float32(x-float64(x0)), float32(y-float64(y0))
	var out [3]float32
	for c := range 3 {
		tl, tr := p.bgr[(y0*p.w+x0)*3+c], p.bgr[(y0*p.w+x1)*3+c]
		bl, br := p.bgr[(y1*p.w+x0)*3+c], p.bgr[(y1*p.w+x1)*3+c]
		top := tl + (tr-tl)*fx
		bot := bl + (br-bl)*fx
		out[c] = top + (bot-top)*fy
	}
	return out
}

// recognise runs a batch of crops and decodes each with CTC greedy: the
// best class per step, repeats collapsed, blanks dropped. The score is the
// mean probability of the characters kept.
//
// Where two characters' steps lie either side of a word gap of the crop
// and the model put no space between them, a space is put back.
func (m *OCR) recognise(batch []float32, n, width int, gaps [][]gap) ([]string, []float32, error) {
	t, err := ort.NewTensor(ort.NewShape(int64(n), 3, recHeight, int64(width)), batch)
	if err != nil {
		return nil, nil, err
	}
	defer t.Destroy()
	outs := []ort.Value{nil}
	if err := m.rec.Run([]ort.Value{t}, outs); err != nil {
		return nil, nil, fmt.Errorf("ocr recogniser: %w", err)
	}
	defer outs[0].Destroy()
	res := outs[0].(*ort.Tensor[float32])
	shape := res.GetShape()
	if len(shape) != 3 || int(shape[0]) != n || int(shape[2]) != len(m.dict) {
		return nil, nil, fmt.Errorf("ocr recogniser: output shape %v", shape)
	}
	steps, classes := int(shape[1]), int(shape[2])
	data := res.GetData()
	texts, scores := make([]string, n), make([]float32, n)
	for b := range n {
		var sb strings.Builder
		prev := -1
		var sum float32
		kept := 0
		lastX, lastSpace := -1.0, true
		space := len(m.dict) - 1
		for s := range steps {
			row := data[(b*steps+s)*classes : (b*steps+s+1)*classes]
			best, bp := 0, row[0]
			for c, v := range row {
				if v > bp {
					best, bp = c, v
				}
			}
			if best != 0 && best != prev {
				x := (float64(s) + 0.5) * float64(width) / float64(steps)
				if best != space && !lastSpace && gapBetween(gaps[b], lastX, x) {
					sb.WriteByte(' ')
				}
				sb.WriteString(m.dict[best])
				sum += bp
				kept++
				lastX, lastSpace = x, best == space
			}
			prev = best
		}
		texts[b] = sb.String()
		if kept > 0 {
			scores[b] = sum / float32(kept)
		}
	}
	return texts, scores, nil
}
