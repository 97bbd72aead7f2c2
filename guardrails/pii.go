package guardrails

import (
	"fmt"
	"math/big"
	"net"
	"regexp"
	"slices"
	"strings"

	"github.com/sieve-stream/sieve/tagger"
)

// PII label names, as the labelled PII set names them.
const (
	LabelEmail = "email_address"
	LabelPhone = "phone_number"
	LabelCard  = "credit_card"
	LabelIBAN  = "iban_code"
	LabelIP    = "ip_address"
	LabelSSN   = "us_ssn"
	LabelDNI   = "es_dni"
)

// PII finds personal data that has a format: e-mail addresses, phone
// numbers, payment cards (Luhn-checked), IBANs (mod-97-checked), IP
// addresses and US social security numbers (with the SSA's validity rules);
// with a Tagger, also the entities it names in Entities (person,
// street_address, gpe, organization, date_time, age, nrp), which have no
// format to check.
type PII struct {
	Tagger   *tagger.Model
	Entities []string // the tagger's labels to report; nil: none
	// JoinAddresses makes a street address one span with the town,
	// region and postcode that follow it on its line ("42 Elm Street,
	// Springfield"), so that masking hides the whole address. Rails set
	// it; `sieve eval` leaves it off, as the Presidio set labels the town
	// apart.
	JoinAddresses bool
}

// Name implements Scanner.
func (PII) Name() string { return "pii" }

// Labels implements Scanner.
func (p PII) Labels() []string {
	return append([]string{LabelEmail, LabelPhone, LabelCard, LabelIBAN, LabelIP, LabelSSN, LabelDNI}, p.Entities...)
}

var (
	emailRe = regexp.MustCompile(`[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}`)
	// A digit run with optional separators; what it is gets decided after.
	numberRe = regexp.MustCompile(`\+?\(?\d[\d().\- ]{4,}\d(?:\s?(?:x|ext\.?)\s?\d{1,6})?`)
	ibanRe   = regexp.MustCompile(`\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b`)
	ipv4Re   = regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}\b`)
	ipv6Re   = regexp.MustCompile(`(?i)\b(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{0,4}(?::[0-9a-f]{1,4})*\b`)
	ssnRe    = regexp.MustCompile(`^\d{3}-\d{2}-\d{4}$`)
	dniRe    = regexp.MustCompile(`\b\d{8}-?[A-Z]\b`)
	dateRe   = regexp.MustCompile(`^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}$`)
	phoneRe  = regexp.MustCompile(`^(?:\+\d{1,3}[ .-]?)?(?:\(0\)\s?|\(\d{1,4}\)\s?)?\d{1,12}(?:[ .-]\d{1,12}){0,5}(?:\s?(?:x|ext\.?)\s?\d{1,6})?$`)
	// Words that announce a phone number, for short numbers that could as
	// well be a house number or a postcode.
	phoneContext = regexp.MustCompile(`(?i)(?:phone|tel|mobile|cell|call|fax|desk|contact|number|whatsapp|sms|text|ring|dial|#)[^\n]{0,25}$`)
)

// Scan implements Scanner.
func (p PII) Scan(text string) []Span {
	var out []Span
	for _, m := range emailRe.FindAllStringIndex(text, -1) {
		out = append(out, Span{m[0], m[1], LabelEmail, 1})
	}
	for _, m := range ibanRe.FindAllStringIndex(text, -1) {
		if validIBAN(text[m[0]:m[1]]) {
			out = append(out, Span{m[0], m[1], LabelIBAN, 1})
		}
	}
	for _, m := range dniRe.FindAllStringIndex(text, -1) {
		if validDNI(text[m[0]:m[1]]) {
			out = append(out, Span{m[0], m[1], LabelDNI, 1})
		}
	}
	for _, m := range ipv4Re.FindAllStringIndex(text, -1) {
		if ip := net.ParseIP(text[m[0]:m[1]]); ip != nil && boundary(text, m[0], m[1]) {
			out = append(out, Span{m[0], m[1], LabelIP, 1})
		}
	}
	for _, m := range ipv6Re.FindAllStringIndex(text, -1) {
		if ip := net.ParseIP(text[m[0]:m[1]]); ip != nil && strings.Count(text[m[0]:m[1]], ":") >= 2 {
			out = append(out, Span{m[0], m[1], LabelIP, 1})
		}
	}
	for _, m := range numberRe.FindAllStringIndex(text, -1) {
		start, end := m[0], m[1]
		// Trim separators the pattern may have taken at the edges.
		for end > start && strings.ContainsRune(" .-(", rune(text[end-1])) {
			end--
		}
		if start > 0 && isWordByte(text[start-1]) || end < len(text) && isWordByte(text[end]) {
			continue
		}
		// A date followed by a time ("2020-06-20 14:05") is not a number.
		if end < len(text) && text[end] == ':' || start > 0 && text[start-1] == ':' && start > 1 && text[start-2] >= '0' && text[start-2] <= '9' {
			continue
		}
		label, ok := classifyNumber(text[start:end])
		if !ok {
			continue
		}
		if label == LabelPhone && weakPhone(text[start:end]) && !phoneContext.MatchString(text[max(0, start-40):start]) && !ownLine(text, start, end) {
			continue
		}
		out = append(out, Span{start, end, label, 1})
	}
	structured := ScanAll(text, spanList(out))
	if p.Tagger == nil || len(p.Entities) == 0 {
		return structured
	}
	// Entities the tagger finds, where no structured span already is:
	// a checked card number is not also a date.
	for _, e := range p.Tagger.Tag(text) {
		if !slices.Contains(p.Entities, e.Label) {
			continue
		}
		overlaps := false
		for _, s := range structured {
			if e.Start < s.End && s.Start < e.End {
				overlaps = true
				break
			}
		}
		if !overlaps {
			out = append(out, Span{e.Start, e.End, e.Label, e.Score})
		}
	}
	spans := ScanAll(text, spanList(out))
	if p.JoinAddresses {
		spans = joinAddresses(text, spans)
	}
	return spans
}

// postcodeRe is what may follow an address's town on its line: a postcode
// or a region code ("NW1 6XE", "10115", "DC 20500", "ON M5H 1A1").
var postcodeRe = regexp.MustCompile(`^[ ,]*(?:[A-Z]{2,3}[ \t]+)?(?:[A-Z0-9]{2,4} ?[0-9][A-Z0-9]{1,3}|\d{4,6}(?:-\d{4})?)\b`)

// joinAddresses extends each street address over the places and postcode
// that follow it on the same line, separated by commas or spaces only.
func joinAddresses(text string, spans []Span) []Span {
	var out []Span
	for i := 0; i < len(spans); i++ {
		s := spans[i]
		if s.Label != "street_address" {
			out = append(out, s)
			continue
		}
		for {
			if i+1 < len(spans) && spans[i+1].Label == "gpe" && strings.Trim(text[s.End:spans[i+1].Start], " ,") == "" && !strings.Contains(text[s.End:spans[i+1].Start], "\n") {
				s.End = spans[i+1].End
				i++
				continue
			}
			if m := postcodeRe.FindStringIndex(text[s.End:]); m != nil && (i+1 >= len(spans) || s.End+m[1] <= spans[i+1].Start) {
				s.End += m[1]
				continue
			}
			break
		}
		out = append(out, s)
	}
	return out
}

type spanList []Span

func (spanList) Name() string         { return "" }
func (spanList) Labels() []string     { return nil }
func (l spanList) Scan(string) []Span { return l }
func isWordByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_'
}
func boundary(text string, s, e int) bool {
	return (s == 0 || !isWordByte(text[s-1])) && (e == len(text) || !isWordByte(text[e]))
}

// classifyNumber decides what a separated digit run is, if anything.
func classifyNumber(s string) (string, bool) {
	digits := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			digits++
		}
	}
	core := s
	if i := strings.IndexAny(s, "xe"); i > 0 {
		core = strings.TrimSpace(s[:i])
	}
	coreDigits := 0
	for i := 0; i < len(core); i++ {
		if core[i] >= '0' && core[i] <= '9' {
			coreDigits++
		}
	}
	switch {
	case ssnRe.MatchString(s):
		if validSSN(s) {
			return LabelSSN, true
		}
		return "", false
	case dateRe.MatchString(s):
		return "", false
	case ipv4Re.MatchString(s) && strings.Count(s, ".") == 3 && !strings.ContainsAny(s, " -()"):
		return "", false // IPs have their own pattern
	case isCardShaped(s) && coreDigits >= 12 && coreDigits <= 19 && luhn(s):
		return LabelCard, true
	case coreDigits >= 7 && coreDigits <= 15 && phoneRe.MatchString(s):
		plain := !strings.ContainsAny(core, " .-()+")
		if plain && coreDigits != 10 {
			return "", false // a bare run of digits is an id, unless it has a phone's ten
		}
		return LabelPhone, true
	}
	return "", false
}

// weakPhone: a short number in one or two groups could be a house number
// or a postcode; it counts as a phone only with a phone word before it.
func weakPhone(s string) bool {
	if strings.ContainsAny(s, "+(x") {
		return false
	}
	digits, groups := 0, 1
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] >= '0' && s[i] <= '9':
			digits++
		case s[i] == ' ' || s[i] == '-' || s[i] == '.':
			groups++
		}
	}
	return digits < 9 || groups <= 2 && digits < 10
}

// ownLine reports whether the span is alone on its line, as in a contact
// block.
func ownLine(text string, start, end int) bool {
	before := strings.LastIndexByte(text[:start], '\n')
	line := text[before+1:]
	if i := strings.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	return strings.TrimSpace(line) == strings.TrimSpace(text[start:end])
}

// isCardShaped: digits alone, or groups of digits split by single spaces
// or dashes, as cards are printed.
func isCardShaped(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && c != ' ' && c != '-' {
			return false
		}
	}
	return !strings.Contains(s, "  ") && !strings.Contains(s, "--")
}

// luhn is the payment-card checksum.
func luhn(s string) bool {
	sum, n := 0, 0
	for i := len(s) - 1; i >= 0; i-- {
		c := s[i]
		if c < '0' || c > '9' {
			continue
		}
		d := int(c - '0')
		if n%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		n++
	}
	return n > 0 && sum%10 == 0
}

// validIBAN checks the ISO 13616 mod-97 checksum.
func validIBAN(s string) bool {
	s = strings.ReplaceAll(s, " ", "")
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	rearranged := s[4:] + s[:4]
	var num strings.Builder
	for _, c := range rearranged {
		switch {
		case c >= '0' && c <= '9':
			num.WriteRune(c)
		case c >= 'A' && c <= 'Z':
			num.WriteString(big.NewInt(int64(c - 'A' + 10)).String())
		default:
			return false
		}
	}
	n, ok := new(big.Int).SetString(num.String(), 10)
	return ok && new(big.Int).Mod(n, big.NewInt(97)).Int64() == 1
}

// validSSN applies the SSA's rules: no area 000, 666 or 900–999, no group
// 00, no serial 0000.
func validSSN(s string) bool {
	area, group, serial := s[0:3], s[4:6], s[7:11]
	return area != "000" && area != "666" && area[0] != '9' && group != "00" && serial != "0000"
}

// validDNI checks a Spanish national identity number's control letter.
func validDNI(s string) bool {
	s = strings.ReplaceAll(s, "-", "")
	n := 0
	for _, c := range s[:8] {
		n = n*10 + int(c-'0')
	}
	return "TRWAGMYFPDXBNJZSQVHLCKE"[n%23] == s[8]
}

func init() {
	RegisterScanner(ScannerType{Name: "pii", Summary: "personal data with a checksum or a fixed shape (emails, phones, cards, IBANs, SSNs, IPs) and, with entities, names, addresses, places, organisations, dates, ages and nationalities found by the built-in tagger",
		Params: []string{"entities"}, New: func(c *Check) (Scanner, error) {
			if len(c.Entities) == 0 {
				return PII{}, nil
			}
			p := PII{JoinAddresses: true}
			for i, e := range c.Entities {
				l, ok := tagger.LabelOf(e)
				if !ok {
					return nil, fmt.Errorf("entities[%d]: %q is not PERSON, STREET_ADDRESS, GPE, ORGANIZATION, DATE_TIME, AGE or NRP", i, e)
				}
				p.Entities = append(p.Entities, l)
			}
			m, err := tagger.Builtin()
			if err != nil {
				return nil, fmt.Errorf("entities: the built-in tagger: %w", err)
			}
			p.Tagger = m
			return p, nil
		}})
}
