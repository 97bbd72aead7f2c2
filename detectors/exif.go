package detectors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"unicode/utf16"
)

type exifFields struct {
	Software    string
	UserComment string
}

const (
	tagSoftware    = 0x0131
	tagExifIFD     = 0x8769
	tagUserComment = 0x9286
	maxIFDEntries  = 4096
)

// readEXIF reads the two tags generators use from a TIFF-structured EXIF
// block: IFD0 Software and the Exif sub-IFD's UserComment.
func readEXIF(b []byte) (exifFields, error) {
	var out exifFields
	if len(b) < 8 {
		return out, errors.New("exif too short")
	}
	var bo binary.ByteOrder
	switch string(b[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return out, errors.New("exif byte order mark missing")
	}
	ifd0 := bo.Uint32(b[4:])
	var exifIFD uint32
	walk := func(off uint32, visit func(tag, typ uint16, count uint32, val []byte)) error {
		if uint64(off)+2 > uint64(len(b)) {
			return errors.New("ifd offset out of range")
		}
		n := int(bo.Uint16(b[off:]))
		if n > maxIFDEntries {
			return errors.New("ifd has too many entries")
		}
		for i := 0; i < n; i++ {
			e := uint64(off) + 2 + uint64(i)*12
			if e+12 > uint64(len(b)) {
				return errors.New("ifd entry out of range")
			}
			ent := b[e : e+12]
			tag, typ, count := bo.Uint16(ent), bo.Uint16(ent[2:]), bo.Uint32(ent[4:])
			size := uint64(count) * uint64(typeSize(typ))
			var val []byte
			if size <= 4 {
				val = ent[8 : 8+size]
			} else {
				vo := uint64(bo.Uint32(ent[8:]))
				if vo+size > uint64(len(b)) {
					continue
				}
				val = b[vo : vo+size]
			}
			visit(tag, typ, count, val)
		}
		return nil
	}
	err := walk(ifd0, func(tag, typ uint16, count uint32, val []byte) {
		switch tag {
		case tagSoftware:
			out.Software = strings.TrimRight(string(val), "\x00 ")
		case tagExifIFD:
			if len(val) == 4 {
				exifIFD = bo.Uint32(val)
			}
		}
	})
	if err != nil {
		return out, err
	}
	if exifIFD != 0 && exifIFD != ifd0 {
		_ = walk(exifIFD, func(tag, typ uint16, count uint32, val []byte) {
			if tag == tagUserComment {
				out.UserComment = decodeUserComment(val, bo)
			}
		})
	}
	return out, nil
}

func typeSize(t uint16) int {
	switch t {
	case 1, 2, 6, 7: // BYTE, ASCII, SBYTE, UNDEFINED
		return 1
	case 3, 8: // SHORT, SSHORT
		return 2
	case 4, 9, 11: // LONG, SLONG, FLOAT
		return 4
	case 5, 10, 12: // RATIONAL, SRATIONAL, DOUBLE
		return 8
	}
	return 1
}

// decodeUserComment honours the 8-byte character code that starts an EXIF
// UserComment (EXIF 2.32 §4.6.5). "UNICODE" means UTF-16 in the file's byte
// order by the standard, but writers disagree, so the order is taken from
// where the zero bytes fall when the text is mostly ASCII.
func decodeUserComment(v []byte, bo binary.ByteOrder) string {
	if len(v) < 8 {
		return ""
	}
	code, text := v[:8], v[8:]
	switch {
	case bytes.HasPrefix(code, []byte("UNICODE")):
		if len(text)%2 == 1 {
			text = text[:len(text)-1]
		}
		evenZero, oddZero := 0, 0
		for i := 0; i+1 < len(text); i += 2 {
			if text[i] == 0 {
				evenZero++
			}
			if text[i+1] == 0 {
				oddZero++
			}
		}
		var order binary.ByteOrder = bo
		if evenZero > oddZero {
			order = binary.BigEndian
		} else if oddZero > evenZero {
			order = binary.LittleEndian
		}
		u := make([]uint16, len(text)/2)
		for i := range u {
			u[i] = order.Uint16(text[2*i:])
		}
		return strings.TrimRight(string(utf16.Decode(u)), "\x00 ")
	default: // ASCII, JIS and undefined: keep valid text as is
		return strings.TrimRight(latin1(text), "\x00 ")
	}
}
