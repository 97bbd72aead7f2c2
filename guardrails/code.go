package guardrails

import (
	"regexp"
	"slices"
	"strings"
)

// Code finds source code in a text and names its language, for products
// that keep code out of a chat (or keep only some languages in): a fenced
// block names its language; otherwise lines are matched against each
// language's tell-tale forms, and two such lines make code. With Allow, code
// in other languages is flagged; with Deny, only code in those; with
// neither, any code.
type Code struct {
	Allow, Deny []string
}

// Name implements Scanner.
func (Code) Name() string { return "code" }

// Labels implements Scanner.
func (Code) Labels() []string { return []string{"code"} }

var (
	fenceRe   = regexp.MustCompile("(?m)^\\s*```\\s*([A-Za-z0-9_+#-]*)")
	codeLines = map[string]*regexp.Regexp{
		"python":     regexp.MustCompile(`^\s*(?:def \w+\(.*\):|class \w+(?:\(.*\))?:|import \w+|from [\w.]+ import |print\(|if __name__ == )`),
		"javascript": regexp.MustCompile(`^\s*(?:function \w*\(|const \w+ = |let \w+ = |console\.log\(|module\.exports|import .* from ['"]|.*=> \{)`),
		"go":         regexp.MustCompile(`^\s*(?:package \w+$|func (?:\(\w+ \*?\w+\) )?\w+\(|import \(|\w+ := |fmt\.\w+\()`),
		"sql":        regexp.MustCompile(`(?i)\b(?:select\s+[\w*, .()]+\s+from\s+\w+|insert\s+into\s+\w+|update\s+\w+\s+set\s|delete\s+from\s+\w+|drop\s+(?:table|database)\s+\w+|create\s+(?:table|index)\s+\w+)`),
		"shell":      regexp.MustCompile(`^\s*(?:#!/(?:usr/)?bin/(?:env )?(?:ba|z)?sh|\$ \w|sudo |rm -rf |curl .*\| *(?:ba)?sh|chmod \+x |export \w+=)`),
		"c":          regexp.MustCompile(`^\s*(?:#include\s*[<"]|int main\s*\(|printf\(|(?:void|int|char) \*?\w+\(.*\)\s*\{?$)`),
		"java":       regexp.MustCompile(`^\s*(?:public (?:static )?(?:class|void|int|String) |System\.out\.print|import java\.)`),
		"html":       regexp.MustCompile(`(?i)^\s*<(?:script|html|div|iframe|body|head)\b`),
	}
)

// Scan implements Scanner.
func (c Code) Scan(text string) []Span {
	found := map[string]bool{}
	for i, m := range fenceRe.FindAllStringSubmatch(text, -1) {
		if i%2 == 1 {
			continue // a closing fence
		}
		lang := strings.ToLower(m[1])
		if lang == "" {
			lang = "unknown"
		}
		found[aliasLang(lang)] = true
	}
	counts := map[string]int{}
	for _, line := range strings.Split(text, "\n") {
		for lang, re := range codeLines {
			if re.MatchString(line) {
				counts[lang]++
			}
		}
	}
	for lang, n := range counts {
		if n >= 2 {
			found[lang] = true
		}
	}
	for lang := range found {
		if (len(c.Allow) > 0 && !slices.Contains(c.Allow, lang)) || (len(c.Deny) > 0 && slices.Contains(c.Deny, lang)) ||
			(len(c.Allow) == 0 && len(c.Deny) == 0) {
			return []Span{{0, len(text), "code", 1}}
		}
	}
	return nil
}

func aliasLang(l string) string {
	switch l {
	case "py", "python3":
		return "python"
	case "js", "ts", "typescript", "jsx", "node":
		return "javascript"
	case "golang":
		return "go"
	case "sh", "bash", "zsh", "console":
		return "shell"
	case "cpp", "c++", "h":
		return "c"
	}
	return l
}

func init() {
	RegisterScanner(ScannerType{Name: "code", Summary: "source code, by language (python, javascript, go, sql, shell, c, java, html), with allow or deny lists",
		Params: []string{"allow", "deny"}, New: func(c *Check) (Scanner, error) { return Code{Allow: c.Allow, Deny: c.Deny}, nil }})
}
