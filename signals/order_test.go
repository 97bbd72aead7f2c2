package signals_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sieve-stream/sieve/connectors/jsonl"
	"github.com/sieve-stream/sieve/pipeline"
	"github.com/sieve-stream/sieve/signals"
)

// driftingCampaign is n copies of one post, each changing one word more
// than the copy before: neighbours are near-duplicates, the first and the
// last share almost nothing, so only offset order chains them into one
// cluster.
func driftingCampaign(n int) []string {
	base := strings.Fields("claim your exclusive reward today only members of our loyalty club receive a free voucher worth two hundred pounds when they confirm their delivery address before midnight tonight")
	swap := strings.Fields("grab their special prize now just customers in this rewards group get one bonus coupon valued three thousand dollars if you verify the shipping details ahead of noon tomorrow")
	out := make([]string, n)
	for k := range n {
		w := slicesClone(base)
		for j := 0; j < k/2 && j < len(w); j++ {
			w[j] = swap[j]
		}
		out[k] = strings.Join(w, " ")
	}
	return out
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

// randomLine is unrelated filler: random letters, so it clusters with
// nothing.
func randomLine(r *rand.Rand) string {
	var b strings.Builder
	for w := range 8 + r.IntN(8) {
		if w > 0 {
			b.WriteByte(' ')
		}
		for range 3 + r.IntN(6) {
			b.WriteByte(byte('a' + r.IntN(26)))
		}
	}
	return b.String()
}

// Many small batches run concurrently, each held a random moment before the
// signals stage so that they reach it out of order; a drifting campaign
// spread among filler must still be one cluster, and its last copy must see
// all 40. Without ordered stages, copies that ran early start a second
// cluster (issue 19).
func TestCampaignOneClusterUnderConcurrency(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 40))
	campaign := driftingCampaign(40)
	var in bytes.Buffer
	line := func(text, author string) {
		b, _ := json.Marshal(map[string]any{"v": 1, "text": text, "author": author})
		in.Write(append(b, '\n'))
	}
	for range 500 {
		line(randomLine(r), fmt.Sprint("u-", r.IntN(1000)))
	}
	campaignLine := map[int64]int{} // offset → copy
	for k, text := range campaign {
		line(text, fmt.Sprint("new-", k))
		campaignLine[int64(bytes.Count(in.Bytes(), []byte("\n")))] = k
		for range 1 + r.IntN(20) {
			line(randomLine(r), fmt.Sprint("u-", r.IntN(1000)))
		}
	}

	var jmu sync.Mutex
	jr := rand.New(rand.NewPCG(7, 7))
	jitter := pipeline.StageFunc{StageName: "jitter", Fn: func(context.Context, []*pipeline.Item) error {
		jmu.Lock()
		d := time.Duration(jr.IntN(300)) * time.Microsecond
		jmu.Unlock()
		time.Sleep(d)
		return nil
	}}
	type seen struct {
		cluster string
		size    float64
	}
	var mu sync.Mutex
	got := map[int]seen{}
	record := pipeline.StageFunc{StageName: "record", Fn: func(_ context.Context, items []*pipeline.Item) error {
		mu.Lock()
		defer mu.Unlock()
		for _, it := range items {
			k, ok := campaignLine[it.Record.Offset]
			if !ok {
				continue
			}
			s := seen{size: it.Signals[signals.CampaignSize]}
			for _, f := range it.Findings {
				s.cluster, _, _ = strings.Cut(strings.TrimPrefix(f.Detail, "cluster "), ":")
			}
			got[k] = s
		}
		return nil
	}}
	stages := []pipeline.Stage{jitter, signals.New(signals.Options{}), record}
	e := pipeline.New(jsonl.NewSource("posts", &in), jsonl.NewSink(io.Discard), pipeline.Options{
		Stages: stages, Workers: 8, Batch: pipeline.BatchOptions{MaxItems: 3}})
	if err := e.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(campaign) {
		t.Fatalf("%d campaign copies recorded, want %d", len(got), len(campaign))
	}
	clusters := map[string]int{}
	for k := 1; k < len(campaign); k++ { // the first copy alone is no cluster yet
		clusters[got[k].cluster]++
	}
	if len(clusters) != 1 {
		t.Errorf("the campaign split into %d clusters: %v", len(clusters), clusters)
	}
	for k := range campaign {
		if got[k].size != float64(k+1) {
			t.Errorf("copy %d saw a cluster of %v, want %d", k+1, got[k].size, k+1)
		}
	}
}
