package detectors

import (
	"bytes"
	"crypto/x509"
	"strings"
	"testing"
	"time"
)

func TestSignaturesVerify(t *testing.T) {
	for _, f := range []string{"c2pa/C.jpg", "c2pa/CA.jpg", "c2pa/ocsp.jpg"} {
		r, err := Inspect(fixture(t, f), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range r.C2PA.Manifests {
			if m.Signature != "signed_valid" || m.Signer == "" {
				t.Errorf("%s manifest %d: signature %q (%s), signer %q", f, i, m.Signature, m.SignatureError, m.Signer)
			}
		}
		if a := r.C2PA.Active(); a.HashBinding != "valid" {
			t.Errorf("%s: hash binding %q (%s)", f, a.HashBinding, a.HashError)
		}
	}
}

func TestTamperingFailsTheRightCheck(t *testing.T) {
	orig := fixture(t, "c2pa/C.jpg")

	// One byte of the compressed image data, well after the manifest store
	// and before the EOI marker.
	img := bytes.Clone(orig)
	img[len(img)-100] ^= 0x01
	r, err := Inspect(img, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	a := r.C2PA.Active()
	if a.HashBinding != "invalid" || a.Signature != "signed_invalid" {
		t.Errorf("image byte flipped: hash binding %q, signature %q", a.HashBinding, a.Signature)
	}

	// One byte of the claim generator inside the signed claim: the store
	// still parses, the signature must not verify. The asset hash excludes
	// the store, so the binding itself still holds.
	claim := bytes.Clone(orig)
	i := bytes.Index(claim, []byte("make_test_images/0.33.1"))
	if i < 0 {
		t.Fatal("claim generator not found in the file")
	}
	claim[i] = 'n'
	r, err = Inspect(claim, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	a = r.C2PA.Active()
	if a.Signature != "signed_invalid" || a.ClaimGenerator != "nake_test_images/0.33.1 c2pa-rs/0.33.1" {
		t.Errorf("claim byte flipped: signature %q (%s), generator %q", a.Signature, a.SignatureError, a.ClaimGenerator)
	}
	if got := strings.Join(signals(r.Findings(0)), ","); !strings.Contains(got, "c2pa_signature_invalid") {
		t.Errorf("claim byte flipped: findings %s", got)
	}
	if a.HashBinding != "" {
		t.Errorf("binding checked although the signature failed: %q", a.HashBinding)
	}
}

func TestTrustList(t *testing.T) {
	adobeFile := fixture(t, "c2pa/ocsp.jpg")
	r, err := Inspect(adobeFile, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	m := r.C2PA.Active()
	if m.Trusted || len(m.chain) < 2 {
		t.Fatalf("no trust list: trusted %v, chain %d", m.Trusted, len(m.chain))
	}
	// Adobe's issuing CA as the only anchor: the Adobe-signed active
	// manifest is trusted. The C2PA test file's chain is not.
	at := func() time.Time { return m.chain[0].NotBefore.Add(24 * time.Hour) }
	adobe := x509.NewCertPool()
	adobe.AddCert(m.chain[len(m.chain)-1])
	r, err = (&Inspector{Trust: adobe, Now: at}).Inspect(adobeFile)
	if err != nil {
		t.Fatal(err)
	}
	if a := r.C2PA.Active(); !a.Trusted {
		t.Errorf("Adobe anchor: not trusted: %s", a.TrustError)
	}
	if got := strings.Join(signals(r.Findings(0)), ","); !strings.Contains(got, "c2pa_trusted_signer") {
		t.Errorf("findings %s", got)
	}

	r, err = (&Inspector{Trust: adobe, Now: at}).Inspect(fixture(t, "c2pa/C.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if a := r.C2PA.Active(); a.Trusted || a.TrustError == "" {
		t.Errorf("test-signed file under the Adobe anchor: trusted %v (%q)", a.Trusted, a.TrustError)
	}
}
