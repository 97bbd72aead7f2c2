package proxy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// openAICategories are the moderation endpoint's categories, exactly as
// OpenAI names them. Sieve's labels fill the ones they match; labels of no
// category (spam, prompt attacks) are not reported here: the OpenAI SDK and
// its users read "flagged" as "one of these categories".
var openAICategories = []string{"harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
	"self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence", "violence/graphic"}

// sieveToOpenAI maps Sieve labels to OpenAI category names: the moderation
// model's labels one to one, and the opt-in toxicity model's and the rules
// baseline's to their nearest category.
var sieveToOpenAI = map[string]string{
	"harassment": "harassment", "harassment_threatening": "harassment/threatening",
	"hate": "hate", "hate_threatening": "hate/threatening",
	"illicit": "illicit", "illicit_violent": "illicit/violent",
	"self_harm": "self-harm", "self_harm_intent": "self-harm/intent", "self_harm_instructions": "self-harm/instructions",
	"sexual": "sexual", "sexual_minors": "sexual/minors",
	"violence": "violence", "violence_graphic": "violence/graphic",
	"offensive_language": "harassment",
	"toxic":              "harassment",
	"hate_speech":        "hate",
}

func (s *Server) moderate(w http.ResponseWriter, r *http.Request) {
	body, _ := s.admit(w, r)
	if body == nil {
		return
	}
	var req struct {
		Input json.RawMessage `json:"input"`
		Model string          `json:"model"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "invalid_json", "We could not parse the JSON body of your request.")
		return
	}
	var inputs []string
	var one string
	if json.Unmarshal(req.Input, &one) == nil {
		inputs = []string{one}
	} else if json.Unmarshal(req.Input, &inputs) != nil {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "invalid_input", "'input' must be a string or an array of strings.")
		return
	}
	if len(inputs) > s.cfg.MaxModerationInputs {
		apiError(w, http.StatusBadRequest, "invalid_request_error", "too_many_inputs",
			fmt.Sprintf("'input' has %d items; at most %d per request.", len(inputs), s.cfg.MaxModerationInputs))
		return
	}
	results := make([]map[string]any, len(inputs))
	for i := range inputs {
		cats, scores := map[string]bool{}, map[string]float64{}
		for _, c := range openAICategories {
			cats[c], scores[c] = false, 0
		}
		results[i] = map[string]any{"categories": cats, "category_scores": scores, "category_applied_input_types": map[string]any{}}
	}
	for _, m := range s.moderators {
		out, err := m.Classify(r.Context(), inputs)
		if err != nil {
			apiError(w, http.StatusInternalServerError, "server_error", "", err.Error())
			return
		}
		d := m.Describe()
		for i := range inputs {
			cats := results[i]["categories"].(map[string]bool)
			scores := results[i]["category_scores"].(map[string]float64)
			for j, l := range d.Labels {
				name, ok := sieveToOpenAI[l]
				if !ok {
					continue
				}
				sc := float64(out[i][j])
				scores[name] = max(scores[name], sc)
				cats[name] = cats[name] || sc >= d.Thresholds[l]
			}
		}
	}
	for i := range results {
		flagged := false
		for _, v := range results[i]["categories"].(map[string]bool) {
			flagged = flagged || v
		}
		results[i]["flagged"] = flagged
	}
	model := req.Model
	if model == "" {
		model = "sieve-moderation"
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"id": "modr-" + strconv.FormatInt(time.Now().UnixNano(), 36), "model": model, "results": results})
}
