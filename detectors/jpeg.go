package detectors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

var (
	exifHeader = []byte("Exif\x00\x00")
	xmpHeader  = []byte("http://ns.adobe.com/xap/1.0/\x00")
)

// readJPEG walks the marker segments up to the start of scan; metadata never
// follows it.
func readJPEG(data []byte, lim Limits, r *Report) error {
	p := data[2:]
	type part struct {
		seq  uint32
		body []byte
	}
	jumbf := map[uint16][]part{}
	var jumbfOrder []uint16
	total := 0
	for n := 0; ; n++ {
		if n >= lim.MaxChunks {
			return fmt.Errorf("more than %d segments", lim.MaxChunks)
		}
		// Markers may be preceded by fill bytes 0xFF.
		for len(p) > 1 && p[0] == 0xFF && p[1] == 0xFF {
			p = p[1:]
		}
		if len(p) < 2 || p[0] != 0xFF {
			break
		}
		marker := p[1]
		p = p[2:]
		if marker == 0xD9 || marker == 0xDA { // EOI, SOS
			break
		}
		if marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7) { // no length
			continue
		}
		if len(p) < 2 {
			return errors.New("truncated segment length")
		}
		size := int(binary.BigEndian.Uint16(p))
		if size < 2 || size > len(p) {
			return fmt.Errorf("segment 0x%02X length %d runs past the end", marker, size)
		}
		body := p[2:size]
		p = p[size:]
		switch marker {
		case 0xE1: // APP1
			switch {
			case bytes.HasPrefix(body, exifHeader):
				r.exif = body[len(exifHeader):]
			case bytes.HasPrefix(body, xmpHeader):
				r.xmp = body[len(xmpHeader):]
			}
		case 0xEB: // APP11: JPEG XT boxes, where C2PA keeps its JUMBF
			// CI "JP", En (box instance), Z (sequence), then the box.
			// Every segment after the first repeats the 8-byte box header
			// (LBox, TBox), which reassembly drops.
			if len(body) < 8 || body[0] != 'J' || body[1] != 'P' {
				continue
			}
			en := binary.BigEndian.Uint16(body[2:])
			seq := binary.BigEndian.Uint32(body[4:])
			payload := body[8:]
			if _, seen := jumbf[en]; !seen {
				jumbfOrder = append(jumbfOrder, en)
			}
			total += len(payload)
			if total > lim.MaxMetadataBytes {
				return fmt.Errorf("APP11 segments exceed %d bytes", lim.MaxMetadataBytes)
			}
			jumbf[en] = append(jumbf[en], part{seq, payload})
		}
	}
	for _, en := range jumbfOrder {
		parts := jumbf[en]
		sort.SliceStable(parts, func(i, j int) bool { return parts[i].seq < parts[j].seq })
		var buf []byte
		for i, pt := range parts {
			b := pt.body
			if i > 0 {
				if len(b) < 8 {
					continue
				}
				b = b[8:]
			}
			buf = append(buf, b...)
		}
		if isManifestStore(buf) {
			r.jumb = buf
			break
		}
	}
	return nil
}
