package pipeline

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// Output modes (Options.OutputMode).
const (
	// OutputVerdict writes the verdict (contract: Verdict).
	OutputVerdict = "verdict"
	// OutputEnrich writes the input's own JSON value with the verdict
	// added as its "moderation" field.
	OutputEnrich = "enrich"
	// OutputHeaders writes the input's value untouched, with the verdict's
	// decision, flags and models in sieve-* headers.
	OutputHeaders = "headers"
)

// Verdict headers of OutputHeaders.
const (
	HeaderDecision = "sieve-decision"
	HeaderFlags    = "sieve-flags"
	HeaderModels   = "sieve-models"
	HeaderID       = "sieve-id"
)

// Enrich returns value, a JSON object, with verdict set as its
// "moderation" field (replacing one that is there); a value that is not a
// JSON object (a plain-text record) becomes {"text": value, "moderation":
// verdict}. value is not modified.
func Enrich(value, verdict []byte) []byte {
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(value, []byte("\xef\xbb\xbf")))
	if len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(trimmed) {
		if out, err := SetModeration(trimmed, verdict); err == nil {
			return out
		}
	}
	text, _ := json.Marshal(string(value))
	out := make([]byte, 0, len(text)+len(verdict)+32)
	out = append(out, `{"text":`...)
	out = append(out, text...)
	out = append(out, `,"moderation":`...)
	out = append(out, verdict...)
	return append(out, '}')
}

// SetModeration sets the "moderation" field of a JSON object to verdict,
// after deleting every "moderation" key it has: JSON allows a key twice,
// and readers that keep the last one must not read a sender's forged
// verdict. obj is not modified.
func SetModeration(obj, verdict []byte) ([]byte, error) {
	out := append([]byte(nil), obj...)
	for gjson.GetBytes(out, "moderation").Exists() {
		var err error
		if out, err = sjson.DeleteBytes(out, "moderation"); err != nil {
			return nil, err
		}
	}
	return sjson.SetRawBytes(out, "moderation", verdict)
}

// sieveHeaders are the headers VerdictHeaders writes; an input's own are
// dropped in headers mode, so that a sender cannot forge them.
var sieveHeaders = []string{HeaderDecision, HeaderFlags, HeaderModels, HeaderID}

// VerdictHeaders are the verdict in headers: the decision, the flags
// (comma-separated, in the verdict's order) and the models (label=model, comma-separated,
// by label), with the message id.
func VerdictHeaders(it *Item) []Header {
	d := string(it.Decision)
	if d == "" {
		d = "allow"
	}
	labels := make([]string, 0, len(it.Models))
	for l := range it.Models {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	models := make([]string, len(labels))
	for i, l := range labels {
		models[i] = l + "=" + it.Models[l]
	}
	return []Header{{Key: HeaderDecision, Value: []byte(d)}, {Key: HeaderFlags, Value: []byte(strings.Join(it.Flags, ","))},
		{Key: HeaderModels, Value: []byte(strings.Join(models, ","))}, {Key: HeaderID, Value: []byte(it.ID)}}
}
