package detectors

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// readPNG walks the chunk list. It does not check CRCs: a damaged chunk is
// still evidence, and the pixels are not decoded here.
func readPNG(data []byte, lim Limits, r *Report) error {
	p := data[len(pngMagic):]
	for n := 0; len(p) > 0; n++ {
		if n >= lim.MaxChunks {
			return fmt.Errorf("more than %d chunks", lim.MaxChunks)
		}
		if len(p) < 12 {
			return errors.New("truncated chunk header")
		}
		size := binary.BigEndian.Uint32(p)
		if uint64(size) > uint64(len(p)-12) {
			return fmt.Errorf("chunk %q length %d runs past the end", p[4:8], size)
		}
		typ := string(p[4:8])
		body := p[8 : 8+size]
		p = p[12+size:]
		switch typ {
		case "tEXt":
			k, v, ok := bytes.Cut(body, []byte{0})
			if ok {
				r.text[string(k)] = latin1(v)
			}
		case "zTXt":
			k, rest, ok := bytes.Cut(body, []byte{0})
			if ok && len(rest) > 0 && rest[0] == 0 {
				if v, err := inflate(rest[1:], lim.MaxMetadataBytes); err == nil {
					r.text[string(k)] = latin1(v)
				}
			}
		case "iTXt":
			k, v, ok := readITXt(body, lim.MaxMetadataBytes)
			if !ok {
				continue
			}
			if k == "XML:com.adobe.xmp" {
				r.xmp = []byte(v)
			} else {
				r.text[k] = v
			}
		case "eXIf":
			r.exif = body
		case "caBX":
			// C2PA puts the whole manifest store, a JUMBF superbox, in one
			// caBX chunk.
			r.jumb = body
		case "IEND":
			return nil
		}
	}
	return nil
}

// readITXt decodes keyword, compression flag, method, language tag,
// translated keyword and text (PNG spec 11.3.4.5).
func readITXt(body []byte, max int) (string, string, bool) {
	k, rest, ok := bytes.Cut(body, []byte{0})
	if !ok || len(rest) < 2 {
		return "", "", false
	}
	compressed, method := rest[0], rest[1]
	rest = rest[2:]
	if _, rest, ok = bytes.Cut(rest, []byte{0}); !ok { // language tag
		return "", "", false
	}
	if _, rest, ok = bytes.Cut(rest, []byte{0}); !ok { // translated keyword
		return "", "", false
	}
	if compressed == 1 {
		if method != 0 {
			return "", "", false
		}
		v, err := inflate(rest, max)
		if err != nil {
			return "", "", false
		}
		rest = v
	}
	return string(k), string(rest), true
}

// inflate decompresses zlib data but stops at max bytes, so a small chunk
// that inflates to gigabytes costs max bytes and an error.
func inflate(b []byte, max int) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, int64(max)+1))
	if err != nil {
		return nil, err
	}
	if len(out) > max {
		return nil, fmt.Errorf("text chunk inflates past %d bytes", max)
	}
	return out, nil
}

// latin1 converts tEXt's ISO 8859-1 to UTF-8. Generators often write UTF-8
// into tEXt anyway; bytes that already form valid UTF-8 are kept as they are.
func latin1(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}
