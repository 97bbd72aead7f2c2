package detectors

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"

	"github.com/veraison/go-cose"
)

// verifyManifest checks what can be checked from the file alone: the COSE
// signature over the claim bytes (key from the x5chain leaf), the claim's
// hashes of its assertions, and, for the active manifest, the c2pa.hash.data
// binding of the asset bytes. Trust in the signer is a separate question
// (the certificate subject is reported; trust lists are the caller's).
func verifyManifest(m *Manifest, mb *jumbf, data []byte, active bool) {
	m.Signature = "unverified"
	if len(m.signatureCOSE) == 0 {
		m.SignatureError = "no signature box"
		return
	}
	var msg cose.Sign1Message
	if err := msg.UnmarshalCBOR(m.signatureCOSE); err != nil {
		var u cose.UntaggedSign1Message
		if err2 := u.UnmarshalCBOR(m.signatureCOSE); err2 != nil {
			m.SignatureError = "signature is not COSE_Sign1: " + err.Error()
			return
		}
		msg = cose.Sign1Message(u)
	}
	chain, err := certChain(&msg)
	if err != nil {
		m.SignatureError = err.Error()
		return
	}
	cert := chain[0]
	m.chain = chain
	m.Signer = cert.Subject.String()
	alg, err := msg.Headers.Protected.Algorithm()
	if err != nil {
		m.SignatureError = "signature algorithm: " + err.Error()
		return
	}
	v, err := cose.NewVerifier(alg, publicKey(cert))
	if err != nil {
		m.SignatureError = "signature key: " + err.Error()
		return
	}
	// C2PA signs the claim as a detached payload.
	msg.Payload = m.claimCBOR
	if err := msg.Verify(nil, v); err != nil {
		m.Signature, m.SignatureError = "signed_invalid", "claim signature: "+err.Error()
		return
	}
	if err := checkAssertionHashes(m, mb); err != nil {
		m.Signature, m.SignatureError = "signed_invalid", err.Error()
		return
	}
	m.Signature = "signed_valid"
	if active {
		m.HashBinding, m.HashError = checkDataHash(mb, data)
		if m.HashBinding == "invalid" {
			m.Signature = "signed_invalid"
		}
	}
}

// checkTrust verifies each validly signed manifest's chain against the
// trust anchors.
func (in *Inspector) checkTrust(s *ManifestStore) {
	now := time.Now
	if in.Now != nil {
		now = in.Now
	}
	for i := range s.Manifests {
		m := &s.Manifests[i]
		if m.Signature != "signed_valid" || len(m.chain) == 0 {
			continue
		}
		inter := x509.NewCertPool()
		for _, c := range m.chain[1:] {
			inter.AddCert(c)
		}
		_, err := m.chain[0].Verify(x509.VerifyOptions{
			Roots:         in.Trust,
			Intermediates: inter,
			CurrentTime:   now(),
			// C2PA signers carry their own extended key usages.
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
		})
		if err != nil {
			m.TrustError = err.Error()
			continue
		}
		m.Trusted = true
	}
}

// certChain reads the x5chain header: the signer first, then the
// certificates that lead towards a root.
func certChain(msg *cose.Sign1Message) ([]*x509.Certificate, error) {
	v, ok := msg.Headers.Protected[cose.HeaderLabelX5Chain]
	if !ok {
		v, ok = msg.Headers.Unprotected[cose.HeaderLabelX5Chain]
	}
	if !ok {
		return nil, errors.New("signature has no x5chain")
	}
	var ders [][]byte
	switch t := v.(type) {
	case []byte:
		ders = [][]byte{t}
	case []any:
		for _, e := range t {
			if d, ok := e.([]byte); ok {
				ders = append(ders, d)
			}
		}
	}
	if len(ders) == 0 {
		return nil, errors.New("x5chain has no certificate")
	}
	var chain []*x509.Certificate
	for i, der := range ders {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("x5chain certificate %d: %w", i, err)
		}
		chain = append(chain, c)
	}
	return chain, nil
}

var oidRSAPSS = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}

// publicKey returns the certificate's key. Go's x509 leaves keys whose
// SubjectPublicKeyInfo says id-RSASSA-PSS unparsed; C2PA signers use them
// for PS256, and the key inside is a plain PKCS #1 RSA key.
func publicKey(cert *x509.Certificate) any {
	if cert.PublicKey != nil {
		return cert.PublicKey
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(cert.RawSubjectPublicKeyInfo, &spki); err != nil || !spki.Algorithm.Algorithm.Equal(oidRSAPSS) {
		return nil
	}
	k, err := x509.ParsePKCS1PublicKey(spki.PublicKey.RightAlign())
	if err != nil {
		return nil
	}
	return k
}

type hashedURI struct {
	URL  string `cbor:"url"`
	Hash []byte `cbor:"hash"`
	Alg  string `cbor:"alg"`
}

func newHash(alg string) (hash.Hash, error) {
	switch alg {
	case "", "sha256":
		return sha256.New(), nil
	case "sha384":
		return sha512.New384(), nil
	case "sha512":
		return sha512.New(), nil
	}
	return nil, fmt.Errorf("hash algorithm %q not supported", alg)
}

// checkAssertionHashes compares each hashed assertion reference in the
// claim with the hash of that assertion's JUMBF superbox payload.
func checkAssertionHashes(m *Manifest, mb *jumbf) error {
	var c struct {
		Alg        string      `cbor:"alg"`
		Assertions []hashedURI `cbor:"assertions"`
		Created    []hashedURI `cbor:"created_assertions"`
		Gathered   []hashedURI `cbor:"gathered_assertions"`
	}
	if err := cborDec.Unmarshal(m.claimCBOR, &c); err != nil {
		return fmt.Errorf("claim: %w", err)
	}
	as := mb.child("c2pa.assertions")
	for _, ref := range append(append(c.Assertions, c.Created...), c.Gathered...) {
		label := ref.URL[strings.LastIndexByte(ref.URL, '/')+1:]
		var box *jumbf
		if as != nil {
			box = as.child(label)
		}
		if box == nil {
			return fmt.Errorf("assertion %s is referenced but missing", label)
		}
		alg := ref.Alg
		if alg == "" {
			alg = c.Alg
		}
		h, err := newHash(alg)
		if err != nil {
			return err
		}
		h.Write(box.raw[box.hdr:])
		if !bytes.Equal(h.Sum(nil), ref.Hash) {
			return fmt.Errorf("assertion %s does not match its hash in the claim", label)
		}
	}
	return nil
}

// checkDataHash recomputes c2pa.hash.data over the asset minus its
// exclusions (the manifest store itself).
func checkDataHash(mb *jumbf, data []byte) (string, string) {
	as := mb.child("c2pa.assertions")
	var box *jumbf
	if as != nil {
		for i := range as.children {
			if strings.HasPrefix(as.children[i].label, "c2pa.hash.data") {
				box = &as.children[i]
				break
			}
		}
	}
	if box == nil {
		return "absent", ""
	}
	var dh struct {
		Exclusions []struct {
			Start  uint64 `cbor:"start"`
			Length uint64 `cbor:"length"`
		} `cbor:"exclusions"`
		Alg  string `cbor:"alg"`
		Hash []byte `cbor:"hash"`
	}
	if err := cborDec.Unmarshal(box.content("cbor"), &dh); err != nil {
		return "invalid", "c2pa.hash.data: " + err.Error()
	}
	h, err := newHash(dh.Alg)
	if err != nil {
		return "invalid", err.Error()
	}
	pos := uint64(0)
	for _, ex := range dh.Exclusions {
		if ex.Start < pos || ex.Start > uint64(len(data)) || ex.Length > uint64(len(data))-ex.Start {
			return "invalid", "c2pa.hash.data exclusions out of order or range"
		}
		h.Write(data[pos:ex.Start])
		pos = ex.Start + ex.Length
	}
	h.Write(data[pos:])
	if !bytes.Equal(h.Sum(nil), dh.Hash) {
		return "invalid", "asset bytes do not match c2pa.hash.data"
	}
	return "valid", ""
}
