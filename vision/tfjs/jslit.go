package tfjs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// parseLiteral reads one JavaScript literal (an object, array, string,
// number, true/false, !0/!1 or null) from s at i, as a minifier writes
// them: unquoted keys, numbers like ".5" and "-0", booleans as !0 and !1.
// It is not a JavaScript parser: it reads data, and anything else (an
// identifier, a call) is an error. It returns the value as encoding/json
// would (map[string]any, []any, string, float64, bool, nil) and the index
// after it.
func parseLiteral(s string, i int) (any, int, error) {
	p := &litParser{s: s, i: i}
	v, err := p.value(0)
	if err != nil {
		return nil, p.i, err
	}
	return v, p.i, nil
}

type litParser struct {
	s string
	i int
}

// maxDepth bounds nesting, so that a hostile file cannot exhaust the stack.
const maxDepth = 256

func (p *litParser) errorf(format string, args ...any) error {
	return fmt.Errorf("javascript literal at byte %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *litParser) space() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *litParser) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, p.errorf("nested deeper than %d", maxDepth)
	}
	p.space()
	if p.i >= len(p.s) {
		return nil, p.errorf("unexpected end")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"' || c == '\'':
		return p.str()
	case c == '!':
		if p.i+1 < len(p.s) && (p.s[p.i+1] == '0' || p.s[p.i+1] == '1') {
			p.i += 2
			return p.s[p.i-1] == '0', nil
		}
		return nil, p.errorf("'!' not followed by 0 or 1")
	case c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		w := p.ident()
		switch w {
		case "true":
			return true, nil
		case "false":
			return false, nil
		case "null", "undefined", "void 0":
			return nil, nil
		case "":
			return nil, p.errorf("unexpected %q", c)
		}
		return nil, p.errorf("%q is not a literal", w)
	}
}

func (p *litParser) ident() string {
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (p.i > start && c >= '0' && c <= '9') {
			p.i++
			continue
		}
		break
	}
	return p.s[start:p.i]
}

func (p *litParser) object(depth int) (any, error) {
	p.i++ // {
	m := map[string]any{}
	for {
		p.space()
		if p.i >= len(p.s) {
			return nil, p.errorf("unterminated object")
		}
		if p.s[p.i] == '}' {
			p.i++
			return m, nil
		}
		var key string
		switch c := p.s[p.i]; {
		case c == '"' || c == '\'':
			k, err := p.str()
			if err != nil {
				return nil, err
			}
			key = k.(string)
		case c >= '0' && c <= '9':
			start := p.i
			for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
				p.i++
			}
			key = p.s[start:p.i]
		default:
			key = p.ident()
			if key == "" {
				return nil, p.errorf("expected a key, have %q", c)
			}
		}
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return nil, p.errorf("expected ':' after key %q", key)
		}
		p.i++
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		m[key] = v
		p.space()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
		}
	}
}

func (p *litParser) array(depth int) (any, error) {
	p.i++ // [
	a := []any{}
	for {
		p.space()
		if p.i >= len(p.s) {
			return nil, p.errorf("unterminated array")
		}
		if p.s[p.i] == ']' {
			p.i++
			return a, nil
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		p.space()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
		}
	}
}

func (p *litParser) str() (any, error) {
	q := p.s[p.i]
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == q:
			p.i++
			return b.String(), nil
		case c == '\\':
			if p.i+1 >= len(p.s) {
				return nil, p.errorf("unterminated escape")
			}
			e := p.s[p.i+1]
			p.i += 2
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'v':
				b.WriteByte('\v')
			case '0':
				b.WriteByte(0)
			case 'u':
				if p.i+4 > len(p.s) {
					return nil, p.errorf("short \\u escape")
				}
				r, err := strconv.ParseUint(p.s[p.i:p.i+4], 16, 32)
				if err != nil {
					return nil, p.errorf("bad \\u escape")
				}
				b.WriteRune(rune(r))
				p.i += 4
			case 'x':
				if p.i+2 > len(p.s) {
					return nil, p.errorf("short \\x escape")
				}
				r, err := strconv.ParseUint(p.s[p.i:p.i+2], 16, 8)
				if err != nil {
					return nil, p.errorf("bad \\x escape")
				}
				b.WriteRune(rune(r))
				p.i += 2
			default:
				b.WriteByte(e)
			}
		default:
			// Long strings (base64 weights) have no escapes: copy runs.
			j := p.i
			for j < len(p.s) && p.s[j] != q && p.s[j] != '\\' {
				j++
			}
			b.WriteString(p.s[p.i:j])
			p.i = j
		}
	}
	return nil, p.errorf("unterminated string")
}

func (p *litParser) number() (any, error) {
	start := p.i
	if p.s[p.i] == '-' || p.s[p.i] == '+' {
		p.i++
	}
	for p.i < len(p.s) {
		c := p.s[p.i]
		if (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' ||
			((c == '-' || c == '+') && (p.s[p.i-1] == 'e' || p.s[p.i-1] == 'E')) {
			p.i++
			continue
		}
		break
	}
	f, err := strconv.ParseFloat(p.s[start:p.i], 64)
	if err != nil {
		return nil, p.errorf("bad number %q", p.s[start:p.i])
	}
	return f, nil
}

// errNoExports: a .min.js file that does not assign a literal to
// module.exports is not one of the bundles this package reads.
var errNoExports = errors.New("no `exports=` literal found")

// exportedLiteral finds the literal a browserify bundle assigns to
// module.exports (`a.exports={...}` or `h.exports="..."`), the way nsfwjs
// ships a model's topology and its weight shards.
func exportedLiteral(js string) (any, error) {
	for from := 0; ; {
		k := strings.Index(js[from:], "exports=")
		if k < 0 {
			return nil, errNoExports
		}
		at := from + k + len("exports=")
		from = at
		if at < len(js) && (js[at] == '{' || js[at] == '"' || js[at] == '\'' || js[at] == '[') {
			v, _, err := parseLiteral(js, at)
			return v, err
		}
	}
}
