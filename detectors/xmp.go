package detectors

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
)

type xmpFields struct {
	DigitalSourceType string
	Provenance        string
	CreatorTool       string
}

const (
	nsIptcExt = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
	nsDCTerms = "http://purl.org/dc/terms/"
	nsXMP     = "http://ns.adobe.com/xap/1.0/"
)

// readXMP reads the three properties that matter here. XMP may write a
// simple property as an attribute of rdf:Description or as an element, so
// both are read; namespaces are matched by URI, not by prefix. A malformed
// packet yields whatever was read before the error.
func readXMP(b []byte) xmpFields {
	var out xmpFields
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = false
	set := func(space, local, val string) {
		val = strings.TrimSpace(val)
		if val == "" {
			return
		}
		switch {
		case space == nsIptcExt && local == "DigitalSourceType":
			out.DigitalSourceType = val
		case space == nsDCTerms && local == "provenance":
			out.Provenance = val
		case space == nsXMP && local == "CreatorTool":
			out.CreatorTool = val
		}
	}
	var open *xml.Name
	for tokens := 0; tokens < 200000; tokens++ {
		tok, err := d.Token()
		if err == io.EOF || err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			for _, a := range t.Attr {
				set(a.Name.Space, a.Name.Local, a.Value)
			}
			n := t.Name
			open = &n
		case xml.CharData:
			if open != nil {
				set(open.Space, open.Local, string(t))
			}
		case xml.EndElement:
			open = nil
		}
	}
	return out
}
