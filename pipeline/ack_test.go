package pipeline

import (
	"encoding/json"
	"testing"

	"github.com/sieve-stream/sieve/contract"
)

// A review copy is the verdict with the message inside, valid JSON.
func TestVerdictWithMessage(t *testing.T) {
	v := []byte(`{"v":1,"id":"m-1","decision":"flag"}`)
	out := withMessage(v, &contract.Message{ID: "m-1", Text: "hello \"there\"", Author: "u"})
	var got struct {
		ID       string           `json:"id"`
		Decision string           `json:"decision"`
		Message  contract.Message `json:"message"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if got.ID != "m-1" || got.Decision != "flag" || got.Message.Text != `hello "there"` || got.Message.Author != "u" {
		t.Fatalf("%+v", got)
	}
	if string(v) != `{"v":1,"id":"m-1","decision":"flag"}` {
		t.Fatalf("the verdict itself changed: %s", v)
	}
}
