package contract

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The input decoder is written for the message schema instead of going
// through encoding/json's reflection: decoding is the largest cost of a
// record in a pipeline that does little else, and it runs for every record.
// It accepts exactly the JSON that encoding/json accepts (FuzzDecodeMessage
// checks the two against each other), except that field names match
// case-sensitively, as the contract spells them.

const maxDepth = 10000

type decoder struct {
	data  []byte
	src   string // data as one string: unescaped fields are substrings of it
	i     int
	depth int
}

func (d *decoder) errorf(format string, args ...any) error {
	return fmt.Errorf("at byte %d: "+format, append([]any{d.i}, args...)...)
}

func (d *decoder) ws() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) peek() byte {
	if d.i < len(d.data) {
		return d.data[d.i]
	}
	return 0
}

// decodeFast decodes a message object; it is the fast path of decodeObject.
func decodeFast(data []byte, m *Message, keepUnknown bool) error {
	// One copy of the whole value instead of one allocation per field.
	d := &decoder{data: data, src: string(data)}
	d.ws()
	var seen uint32
	if err := d.object(func(key []byte, escaped bool) error {
		// A field given twice is refused: readers disagree on which one
		// counts (encoding/json takes the last, others the first), so a
		// producer could show one text to an auditor and another to Sieve.
		if bit, ok := fieldBits[string(key)]; ok {
			if seen&bit != 0 {
				return d.errorf("duplicate key %q", key)
			}
			seen |= bit
		}
		return d.messageField(m, key, keepUnknown)
	}); err != nil {
		return err
	}
	d.ws()
	if d.i != len(d.data) {
		return d.errorf("invalid character %q after top-level value", d.data[d.i])
	}
	return nil
}

// fieldBits number the message's fields, for the duplicate check.
var fieldBits = map[string]uint32{"v": 1, "id": 2, "text": 4, "title": 8, "author": 16, "tenant": 32, "channel": 64,
	"lang": 128, "ts": 256, "meta": 512, "media": 1024, "context": 2048}

func (d *decoder) messageField(m *Message, key []byte, keepUnknown bool) error {
	var err error
	switch string(key) {
	case "v":
		m.V, err = d.intField("v", m.V)
	case "id":
		m.ID, err = d.stringField("id", m.ID)
	case "text":
		m.Text, err = d.stringField("text", m.Text)
	case "title":
		m.Title, err = d.stringField("title", m.Title)
	case "author":
		m.Author, err = d.stringField("author", m.Author)
	case "tenant":
		m.Tenant, err = d.stringField("tenant", m.Tenant)
	case "channel":
		m.Channel, err = d.stringField("channel", m.Channel)
	case "lang":
		m.Lang, err = d.stringField("lang", m.Lang)
	case "ts":
		m.TS, err = d.stringField("ts", m.TS)
	case "meta":
		start := d.i
		if err = d.skip(); err == nil {
			m.Meta = append(json.RawMessage(nil), d.data[start:d.i]...)
		}
	case "media":
		m.Media, err = d.mediaField(m.Media)
	case "context":
		m.Context, err = d.contextField(m.Context)
	default:
		start := d.i
		if err = d.skip(); err == nil && keepUnknown {
			if m.Extra == nil {
				m.Extra = make(map[string]json.RawMessage)
			}
			m.Extra[string(key)] = append(json.RawMessage(nil), d.data[start:d.i]...)
		}
	}
	return err
}

// object parses {"key": value, ...}; field is called with d at the value
// and must consume it.
func (d *decoder) object(field func(key []byte, escaped bool) error) error {
	if empty, err := d.enter('{', '}', "an object"); empty || err != nil {
		return err
	}
	for {
		d.ws()
		if d.peek() != '"' {
			return d.errorf("expected a string for an object key")
		}
		key, escaped, err := d.str()
		if err != nil {
			return err
		}
		d.ws()
		if d.peek() != ':' {
			return d.errorf("expected ':' after object key")
		}
		d.i++
		d.ws()
		if err := field(key, escaped); err != nil {
			return err
		}
		d.ws()
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			d.depth--
			return nil
		default:
			return d.errorf("expected ',' or '}' after object value")
		}
	}
}

// enter opens a container: it checks the opening byte and the depth, and
// consumes an empty container whole (empty is then true).
func (d *decoder) enter(open, close byte, what string) (empty bool, err error) {
	if d.peek() != open {
		return false, d.errorf("expected %s", what)
	}
	d.depth++
	if d.depth > maxDepth {
		return false, d.errorf("exceeded max depth")
	}
	d.i++
	d.ws()
	if d.peek() == close {
		d.i++
		d.depth--
		return true, nil
	}
	return false, nil
}

// array parses [value, ...]; elem is called with d at each element.
func (d *decoder) array(elem func(i int) error) error {
	if empty, err := d.enter('[', ']', "an array"); empty || err != nil {
		return err
	}
	for n := 0; ; n++ {
		d.ws()
		if err := elem(n); err != nil {
			return err
		}
		d.ws()
		switch d.peek() {
		case ',':
			d.i++
		case ']':
			d.i++
			d.depth--
			return nil
		default:
			return d.errorf("expected ',' or ']' after array element")
		}
	}
}

// typeError consumes the value after reporting that it has the wrong type,
// so that a syntax error later in the input still wins, as in encoding/json.
func (d *decoder) typeError(field, want string) error {
	start := d.i
	if err := d.skip(); err != nil {
		return err
	}
	got := "value"
	switch d.data[start] {
	case '"':
		got = "string"
	case '{':
		got = "object"
	case '[':
		got = "array"
	case 't', 'f':
		got = "bool"
	case 'n':
		got = "null"
	default:
		got = "number"
	}
	return &fieldTypeError{field: field, want: want, got: got}
}

type fieldTypeError struct{ field, want, got string }

func (e *fieldTypeError) Error() string {
	return fmt.Sprintf("field %q: expected %s, got JSON %s", e.field, e.want, e.got)
}

func (d *decoder) null() bool {
	if len(d.data)-d.i >= 4 && string(d.data[d.i:d.i+4]) == "null" {
		d.i += 4
		return true
	}
	return false
}

func (d *decoder) stringField(field, cur string) (string, error) {
	switch d.peek() {
	case '"':
		start := d.i + 1
		s, escaped, err := d.str()
		if err != nil || !escaped {
			return d.src[start : start+len(s)], err
		}
		return string(s), nil
	case 'n':
		if d.null() {
			return cur, nil
		}
	}
	return cur, d.typeError(field, "string")
}

func (d *decoder) intField(field string, cur int) (int, error) {
	c := d.peek()
	if c == 'n' && d.null() {
		return cur, nil
	}
	if c != '-' && (c < '0' || c > '9') {
		return cur, d.typeError(field, "int")
	}
	start := d.i
	if err := d.number(); err != nil {
		return cur, err
	}
	v, err := strconv.ParseInt(string(d.data[start:d.i]), 10, strconv.IntSize)
	if err != nil {
		return cur, &fieldTypeError{field: field, want: "int", got: "number " + string(d.data[start:d.i])}
	}
	return int(v), nil
}

// objectArray reads field as null (keeping cur) or an array of objects
// (null elements stay zero values), giving each object's string fields, by
// their dotted name, to set.
func objectArray[T any](d *decoder, field string, cur []T, set func(v *T, name, key string) error) ([]T, error) {
	switch d.peek() {
	case 'n':
		if d.null() {
			return cur, nil
		}
	case '[':
		out := []T{}
		err := d.array(func(i int) error {
			var v T
			name := field + "[" + strconv.Itoa(i) + "]"
			if d.peek() == 'n' && d.null() {
				out = append(out, v)
				return nil
			}
			if d.peek() != '{' {
				return d.typeError(name, "object")
			}
			err := d.object(func(key []byte, _ bool) error { return set(&v, name, string(key)) })
			out = append(out, v)
			return err
		})
		return out, err
	}
	return cur, d.typeError(field, "array")
}

func (d *decoder) mediaField(cur []Media) ([]Media, error) {
	return objectArray(d, "media", cur, func(md *Media, name, key string) (err error) {
		switch key {
		case "url":
			md.URL, err = d.stringField(name+".url", md.URL)
		case "data":
			md.Data, err = d.stringField(name+".data", md.Data)
		case "mime":
			md.MIME, err = d.stringField(name+".mime", md.MIME)
		default:
			err = d.skip()
		}
		return err
	})
}

func (d *decoder) contextField(cur []Turn) ([]Turn, error) {
	return objectArray(d, "context", cur, func(t *Turn, name, key string) (err error) {
		switch key {
		case "role":
			t.Role, err = d.stringField(name+".role", t.Role)
		case "content":
			t.Content, err = d.stringField(name+".content", t.Content)
		default:
			err = d.skip()
		}
		return err
	})
}

// skip consumes one value of any type, validating it.
func (d *decoder) skip() error {
	switch c := d.peek(); {
	case c == '{':
		return d.object(func([]byte, bool) error { return d.skip() })
	case c == '[':
		return d.array(func(int) error { return d.skip() })
	case c == '"':
		_, _, err := d.str()
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == 0 && d.i >= len(d.data):
		return d.errorf("unexpected end of JSON input")
	default:
		return d.errorf("invalid character %q looking for beginning of value", c)
	}
}

func (d *decoder) literal(lit string) error {
	if len(d.data)-d.i >= len(lit) && string(d.data[d.i:d.i+len(lit)]) == lit {
		d.i += len(lit)
		return nil
	}
	return d.errorf("invalid literal, expected %s", lit)
}

// number consumes a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *decoder) number() error {
	if d.peek() == '-' {
		d.i++
	}
	switch c := d.peek(); {
	case c == '0':
		d.i++
	case c >= '1' && c <= '9':
		for d.i < len(d.data) && d.data[d.i] >= '0' && d.data[d.i] <= '9' {
			d.i++
		}
	default:
		return d.errorf("invalid number")
	}
	if d.peek() == '.' {
		d.i++
		if c := d.peek(); c < '0' || c > '9' {
			return d.errorf("invalid number: digit expected after decimal point")
		}
		for d.i < len(d.data) && d.data[d.i] >= '0' && d.data[d.i] <= '9' {
			d.i++
		}
	}
	if c := d.peek(); c == 'e' || c == 'E' {
		d.i++
		if c := d.peek(); c == '+' || c == '-' {
			d.i++
		}
		if c := d.peek(); c < '0' || c > '9' {
			return d.errorf("invalid number: digit expected in exponent")
		}
		for d.i < len(d.data) && d.data[d.i] >= '0' && d.data[d.i] <= '9' {
			d.i++
		}
	}
	return nil
}

// plain marks the bytes a string can hold without a second look: printable
// ASCII other than the quote and the backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plain8 reports whether all eight bytes of x are plain: none below 0x20,
// none a quote or backslash, none at or above 0x80 (a word-at-a-time test).
func plain8(x uint64) bool {
	control := (x - ones*0x20) & ^x & highs
	quote := ((x ^ ones*'"') - ones) & ^(x ^ ones*'"') & highs
	backslash := ((x ^ ones*'\\') - ones) & ^(x ^ ones*'\\') & highs
	return (control | quote | backslash | x&highs) == 0
}

// str consumes a string and returns its unescaped bytes. Without escapes
// the result aliases the input; callers copy it (string conversion).
func (d *decoder) str() ([]byte, bool, error) {
	d.i++ // opening quote
	start := d.i
	for d.i < len(d.data) {
		// Eight bytes at a time while none needs a second look.
		for d.i+8 <= len(d.data) && plain8(binary.LittleEndian.Uint64(d.data[d.i:])) {
			d.i += 8
		}
		for d.i < len(d.data) && plain[d.data[d.i]] {
			d.i++
		}
		if d.i >= len(d.data) {
			break
		}
		c := d.data[d.i]
		switch {
		case c == '"':
			s := d.data[start:d.i]
			d.i++
			return s, false, nil
		case c == '\\':
			return d.strEscaped(start)
		case c < 0x20:
			return nil, false, d.errorf("invalid control character in string")
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(d.data[d.i:])
			if r == utf8.RuneError && size == 1 {
				return nil, false, errInvalidUTF8
			}
			d.i += size
			continue
		}
		d.i++
	}
	return nil, false, d.errorf("unexpected end of JSON input in string")
}

// errInvalidUTF8 is a string holding bytes that are not UTF-8.
var errInvalidUTF8 = errors.New("invalid UTF-8 in string")

func (d *decoder) strEscaped(start int) ([]byte, bool, error) {
	out := append(make([]byte, 0, d.i-start+16), d.data[start:d.i]...)
	for d.i < len(d.data) {
		c := d.data[d.i]
		switch {
		case c == '"':
			d.i++
			return out, true, nil
		case c < 0x20:
			return nil, false, d.errorf("invalid control character in string")
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(d.data[d.i:])
			if r == utf8.RuneError && size == 1 {
				return nil, false, errInvalidUTF8
			}
			out = append(out, d.data[d.i:d.i+size]...)
			d.i += size
			continue
		case c != '\\':
			out = append(out, c)
			d.i++
			continue
		}
		d.i++
		if d.i >= len(d.data) {
			break
		}
		e := d.data[d.i]
		d.i++
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return nil, false, d.errorf("invalid \\u escape in string")
			}
			if utf16.IsSurrogate(r) {
				// A valid pair makes one rune; anything else is U+FFFD, as
				// encoding/json does.
				save := d.i
				if d.i+1 < len(d.data) && d.data[d.i] == '\\' && d.data[d.i+1] == 'u' {
					d.i += 2
					if r2, ok := d.hex4(); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							out = utf8.AppendRune(out, dec)
							continue
						}
					}
					d.i = save
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, false, d.errorf("invalid escape character %q in string", e)
		}
	}
	return nil, false, d.errorf("unexpected end of JSON input in string")
}

func (d *decoder) hex4() (rune, bool) {
	if len(d.data)-d.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.i : d.i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	d.i += 4
	return r, true
}
