package guardrails

import "regexp"

// Refusal is an output scanner that finds a model's refusal ("I'm sorry,
// but I can't help with that"), for products that retry, log or count
// them; it flags, it does not judge.
type Refusal struct{}

// Name implements Scanner.
func (Refusal) Name() string { return "refusal" }

// Labels implements Scanner.
func (Refusal) Labels() []string { return []string{"refusal"} }

// refusalRe matches the openings models refuse with, in the first person.
var refusalRe = regexp.MustCompile(`(?i)\b(?:I(?:'m| am) (?:sorry|afraid),? (?:but )?I (?:can(?:'|no)t|cannot|won't|am unable to|'m unable to|'m not able to)|I (?:can(?:'|no)t|cannot|won't|will not|am unable to|'m unable to|am not able to|'m not able to) (?:help|assist|provide|comply|do that|fulfil|fulfill|create|generate|write|share|support) |(?:as an ai(?: language model)?|as a language model),? I (?:can(?:'|no)t|cannot|don't|do not|am not able)|I must (?:decline|refuse)|I(?:'m| am) not (?:able|allowed|permitted) to (?:help|assist|provide|share))`)

// Scan implements Scanner.
func (Refusal) Scan(text string) []Span {
	var out []Span
	for _, m := range refusalRe.FindAllStringIndex(text, -1) {
		out = append(out, Span{m[0], m[1], "refusal", 1})
	}
	return out
}

func init() {
	plain("refusal", "a model's refusal to answer (an output rail, for products that retry or log them)", Refusal{})
}
