package pipeline

import (
	"time"
)

// Score is one label's score in [0, 1].
type Score struct {
	Label string
	Score float64
}

// Finding is evidence a detector or signal stage attached to an item
// (contract: verdict "findings").
type Finding struct {
	Detector string `json:"detector"`
	Media    *int   `json:"media,omitempty"`
	Signal   string `json:"signal"`
	Detail   string `json:"detail,omitempty"`
}

// ItemError is why an item became a dead letter.
type ItemError struct {
	Code   string // one of the Reason constants
	Detail string // a human sentence
	Stage  string // the stage that failed, "decode" for input errors
}

func (e *ItemError) Error() string { return e.Stage + ": " + e.Code + ": " + e.Detail }

// Item is the unit that travels through the pipeline: the raw record, the
// decoded message and what the stages filled in. Stages annotate an Item in
// place and never copy it; one Item is only ever touched by one goroutine at a
// time (the batcher hands a batch to exactly one worker).
type Item struct {
	Record *Record
	Msg    *Message // nil when decoding failed
	ID     string

	// Normalized is the message text through textnorm.Normalize, filled in
	// by the first stage that needs it so that later ones need not redo it.
	Normalized string
	// titled is Text() of a message with a title, joined once.
	titled string

	// Filled in by stages.
	Scores []Score           // label scores, any order
	Models map[string]string // label -> model id@version that decided it
	Flags  []string
	// Categories are what categories models (a review's department, its
	// sentiment) chose, one per model.
	Categories []Category
	Decision   string
	Rewrite    *string
	Findings   []Finding
	// Signals are numbers about the message's context (campaign size,
	// author velocity) that policy rules can use.
	Signals map[string]float64
	Cached  bool
	// Outputs beyond the verdict (rewrites, routed copies) that stages ask to
	// be produced along with it.
	Extra []Output

	// Err makes the item a dead letter; set through Fail.
	Err *ItemError

	// Tokens is an estimate of the item's model cost, used by the batcher.
	Tokens int

	received time.Time // when the pipeline took the record
	lane     *lane
	done     bool
	acked    bool
	pending  int32 // outputs not yet acknowledged
	outputs  []Output
	outBuf   [1]Output // the verdict or dead letter, without a separate allocation
	msg      Message   // Msg points here once decoded
}

// Fail marks the item as failed in stage; it will be dead-lettered with the
// stage_failed reason unless a code is given.
func (it *Item) Fail(stage, code, detail string) {
	if it.Err != nil {
		return
	}
	if code == "" {
		code = ReasonStageFailed
	}
	it.Err = &ItemError{Code: code, Detail: detail, Stage: stage}
}

// Text is what stages read of the message: its text, after its title
// when it has one (JoinTitle); "" for a dead item.
func (it *Item) Text() string {
	if it.Msg == nil {
		return ""
	}
	if it.Msg.Title == "" {
		return it.Msg.Text
	}
	// Several stages read it per message: join once.
	if it.titled == "" {
		it.titled = JoinTitle(it.Msg.Title, it.Msg.Text)
	}
	return it.titled
}

// SetScore sets or replaces the score of label.
func (it *Item) SetScore(label string, score float64, model string) {
	for i := range it.Scores {
		if it.Scores[i].Label == label {
			it.Scores[i].Score = score
			it.setModel(label, model)
			return
		}
	}
	it.Scores = append(it.Scores, Score{label, score})
	it.setModel(label, model)
}

func (it *Item) setModel(label, model string) {
	if model == "" {
		return
	}
	if it.Models == nil {
		it.Models = make(map[string]string, 2)
	}
	it.Models[label] = model
}

// Score returns the score of label and whether it was set.
func (it *Item) Score(label string) (float64, bool) {
	for _, s := range it.Scores {
		if s.Label == label {
			return s.Score, true
		}
	}
	return 0, false
}

// CategoryOther is the category of an item a categories model abstained on.
const CategoryOther = "other"

// ChooseCategory is a categories model's rule: the most probable of its
// labels (score(j) is label j's score, ok false when unscored); Other when
// that scores below abstainBelow, or when what the labels leave of the
// probability (a background class: texts of another kind) outweighs it.
func ChooseCategory(labels []string, score func(j int) (float64, bool), abstainBelow float64) string {
	best, bestScore, sum := CategoryOther, -1.0, 0.0
	for j, l := range labels {
		if s, ok := score(j); ok {
			sum += s
			if s > bestScore {
				best, bestScore = l, s
			}
		}
	}
	if bestScore < abstainBelow || 1-sum > bestScore {
		return CategoryOther
	}
	return best
}

// Category is the category one model chose for an item.
type Category struct {
	Model string
	Value string
}

// SetCategory sets or replaces model's category.
func (it *Item) SetCategory(model, value string) {
	for i := range it.Categories {
		if it.Categories[i].Model == model {
			it.Categories[i].Value = value
			return
		}
	}
	it.Categories = append(it.Categories, Category{model, value})
}

// Category returns model's category, or "" when it has none.
func (it *Item) Category(model string) string {
	for _, c := range it.Categories {
		if c.Model == model {
			return c.Value
		}
	}
	return ""
}

// Received is when the pipeline took the record.
func (it *Item) Received() time.Time { return it.received }

// Latency is the time since the pipeline took the record.
func (it *Item) Latency() time.Duration { return time.Since(it.received) }
