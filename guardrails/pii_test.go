package guardrails

import (
	"testing"
	"unicode/utf8"
)

func TestPIIScanner(t *testing.T) {
	tests := []struct {
		text  string
		found map[string]string // span text -> label; nil: nothing
	}{
		{"mail me at jane.doe+news@example.co.uk today", map[string]string{"jane.doe+news@example.co.uk": LabelEmail}},
		{"not an email: user@localhost or @handle", nil},
		{"Card: 4111 1111 1111 1111, exp 12/29", map[string]string{"4111 1111 1111 1111": LabelCard}},
		{"visa 4111-1111-1111-1111", map[string]string{"4111-1111-1111-1111": LabelCard}},
		{"amex 378282246310005 on file", map[string]string{"378282246310005": LabelCard}},
		// A 16-digit order number that fails Luhn is not a card.
		{"order 4111111111111112 shipped", nil},
		{"IBAN GB82 WEST 1234 5698 7654 32 please", map[string]string{"GB82 WEST 1234 5698 7654 32": LabelIBAN}},
		{"IBAN DE89370400440532013000", map[string]string{"DE89370400440532013000": LabelIBAN}},
		{"bad IBAN GB00WEST12345698765432", nil},
		{"server at 192.168.10.4 and 2001:db8::1", map[string]string{"192.168.10.4": LabelIP, "2001:db8::1": LabelIP}},
		{"version 1.2.3.4000 is out", nil},
		{"SSN 123-45-6789", map[string]string{"123-45-6789": LabelSSN}},
		{"DNI 12345678Z", map[string]string{"12345678Z": LabelDNI}},
		{"ref 12345678A is not a DNI", nil},
		{"SSN-like 666-12-3456 and 900-12-3456 are never issued", nil},
		{"call +1-415-555-0199 or (415) 555-0100 x123", map[string]string{"+1-415-555-0199": LabelPhone, "(415) 555-0100 x123": LabelPhone}},
		{"UK mobile 07700 900 123", map[string]string{"07700 900 123": LabelPhone}},
		{"Swiss +41 (0)44 668 18 00", map[string]string{"+41 (0)44 668 18 00": LabelPhone}},
		{"phone: 555 1234", map[string]string{"555 1234": LabelPhone}},
		// House numbers and dates are not phones.
		{"we live at 9816 214 Pavlou Drandaki", nil},
		{"born 1984-04-27 15:04:05", nil},
		{"invoice 2024-0001 total 1299", nil},
	}
	for _, tt := range tests {
		spans := PII{}.Scan(tt.text)
		got := map[string]string{}
		for _, s := range spans {
			got[tt.text[s.Start:s.End]] = s.Label
		}
		if len(got) != len(tt.found) {
			t.Errorf("%q: found %v, want %v", tt.text, got, tt.found)
			continue
		}
		for k, v := range tt.found {
			if got[k] != v {
				t.Errorf("%q: found %v, want %v", tt.text, got, tt.found)
			}
		}
	}
}

func TestMask(t *testing.T) {
	text := "write to a@b.io or call +44 20 7946 0958"
	got := Mask(text, PII{}.Scan(text))
	if want := "write to <EMAIL_ADDRESS> or call <PHONE_NUMBER>"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestChecksums(t *testing.T) {
	for _, c := range []struct {
		s  string
		ok bool
	}{{"4539 1488 0343 6467", true}, {"4539 1488 0343 6468", false}, {"79927398713", true}} {
		if luhn(c.s) != c.ok {
			t.Errorf("luhn(%s) = %v", c.s, !c.ok)
		}
	}
	if !validIBAN("GB82WEST12345698765432") || validIBAN("GB82WEST12345698765433") {
		t.Error("IBAN mod-97 wrong")
	}
}

func FuzzPII(f *testing.F) {
	for _, s := range []string{"call +1-415-555-0199", "4111 1111 1111 1111", "GB82 WEST 1234 5698 7654 32", "a@b.co", "::1", "\xff1234567"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		prev := 0
		for _, sp := range (PII{}).Scan(s) {
			if sp.Start < prev || sp.End <= sp.Start || sp.End > len(s) {
				t.Fatalf("bad span %+v in %q", sp, s)
			}
			prev = sp.End
		}
		if utf8.ValidString(s) {
			_ = Mask(s, PII{}.Scan(s))
		}
	})
}

func TestReversibleMasking(t *testing.T) {
	v := NewVault()
	text := "Mail a@b.io or c@d.io, again a@b.io, or call +44 20 7946 0958"
	masked := v.Mask(text, PII{}.Scan(text))
	want := "Mail <EMAIL_ADDRESS_1> or <EMAIL_ADDRESS_2>, again <EMAIL_ADDRESS_1>, or call <PHONE_NUMBER_1>"
	if masked != want {
		t.Fatalf("masked %q", masked)
	}
	reply := "I wrote to <EMAIL_ADDRESS_2> and will ring <PHONE_NUMBER_1>."
	if got := v.Restore(reply); got != "I wrote to c@d.io and will ring +44 20 7946 0958." {
		t.Fatalf("restored %q", got)
	}
}
