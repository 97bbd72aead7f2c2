package signals

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/sieve-stream/sieve/internal/datasetstest"

	"github.com/sieve-stream/sieve/internal/textnorm"
)

// clusterAll runs texts through an in-process store in order, with the
// stage's defaults, and returns each text's cluster ("" when too short).
func clusterAll(t testing.TB, norms []string, bandsOf func(string) []uint64) []string {
	m := NewMemory()
	out := make([]string, len(norms))
	for i, n := range norms {
		if len(n) < 20 {
			continue
		}
		c, err := m.Join(context.Background(), []Observation{{Bands: bandsOf(n)}}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = c[0].ID
	}
	return out
}

// The register-minimum signature and the allocation-free band keys are the
// classic ones, value for value, on 50,000 real posts, so every cluster
// assignment is today's.
func TestSignatureIsTheClassicMinHash(t *testing.T) {
	if testing.Short() {
		t.Skip("signs 50,000 posts twice; skipped with -short")
	}
	posts := datasetstest.Texts(t, 50_000, "moderation", "davidson_hate_offensive", "review_category", "paradetox", "sms_spam", "review_sentiment")
	if len(posts) < 50_000 {
		t.Fatalf("%d posts in the shared datasets, want 50000", len(posts))
	}
	norms := make([]string, len(posts))
	for i, p := range posts {
		norms[i] = textnorm.Normalize(p)
	}
	const bands, rows = 20, 5
	var sig [bands * rows]uint64
	for i, n := range norms {
		want := refSignature(n, bands*rows)
		signature(n, sig[:])
		if !slices.Equal(sig[:], want) {
			t.Fatalf("post %d (%.60q): the signature differs from the classic one", i, n)
		}
		if got, want := bandKeys(nil, sig[:], bands, rows), refBandKeys(want, bands, rows); !slices.Equal(got, want) {
			t.Fatalf("post %d: band keys differ", i)
		}
	}
	old := clusterAll(t, norms, func(n string) []uint64 { return refBandKeys(refSignature(n, bands*rows), bands, rows) })
	cur := clusterAll(t, norms, func(n string) []uint64 {
		signature(n, sig[:])
		return bandKeys(nil, sig[:], bands, rows)
	})
	clustered := 0
	for i := range old {
		if old[i] != cur[i] {
			t.Fatalf("post %d: cluster %s, classic %s", i, cur[i], old[i])
		}
		if old[i] != "" {
			clustered++
		}
	}
	t.Logf("%d posts signed and clustered as before", clustered)
}

func BenchmarkSignature(b *testing.B) {
	text := textnorm.Normalize("Congratulations! You have won a £1000 prize. Call 09061701461 now to claim, T&Cs apply, 18+ only")
	b.Run("register-minima", func(b *testing.B) {
		var sig [100]uint64
		for b.Loop() {
			signature(text, sig[:])
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/text")
	})
	b.Run("classic", func(b *testing.B) {
		for b.Loop() {
			refSignature(text, 100)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/text")
	})
}
