package review

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sieve-stream/sieve/connectors/redis"
	"github.com/sieve-stream/sieve/internal/redistest"
)

func item(t testing.TB, id string, score, campaign float64, age time.Duration) *Item {
	t.Helper()
	it, err := ParseItem([]byte(fmt.Sprintf(`{"v":1,"id":%q,"labels":{"spam":%v},"flags":["spam"],"decision":"flag","signals":{"campaign_size":%v},"message":{"text":"text of %s"}}`,
		id, score, campaign, id)), map[string]float64{"spam": 0.5})
	if err != nil {
		t.Fatal(err)
	}
	it.Received = time.Unix(1000, 0).Add(-age)
	return it
}

// The queue hands out the most uncertain item first, then the largest
// campaign, then the oldest.
func TestQueueOrder(t *testing.T) {
	q := NewQueue(NewMemoryLeaser(), time.Minute)
	for _, it := range []*Item{
		item(t, "sure", 0.99, 0, time.Hour),
		item(t, "near-old", 0.55, 0, time.Hour),
		item(t, "near-new", 0.55, 0, time.Minute),
		item(t, "near-campaign", 0.55, 40, 0),
		item(t, "nearest", 0.51, 0, 0),
	} {
		q.Add(it)
	}
	var got []string
	for i := range 5 {
		it, _, err := q.Next(context.Background(), fmt.Sprint("r", i))
		if err != nil || it == nil {
			t.Fatalf("claim %d: %v %v", i, it, err)
		}
		got = append(got, it.ID)
	}
	want := []string{"nearest", "near-campaign", "near-old", "near-new", "sure"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

// Two reviewers never hold one item; a reviewer asking again keeps hers;
// an expired lease returns the item to the queue; a decided item is gone.
func TestQueueLeases(t *testing.T) {
	ml := NewMemoryLeaser()
	now := time.Unix(5000, 0)
	ml.now = func() time.Time { return now }
	q := NewQueue(ml, time.Minute)
	q.Add(item(t, "x", 0.5, 0, 0))
	ctx := context.Background()
	a, claimA, _ := q.Next(ctx, "alice")
	b, _, _ := q.Next(ctx, "bob")
	if a == nil || b != nil {
		t.Fatalf("alice got %v, bob got %v: want alice x, bob nothing", a, b)
	}
	if again, claim, _ := q.Next(ctx, "alice"); again != a || claim != claimA {
		t.Fatalf("alice asked again and got %v (claim %q), want her own x (%q)", again, claim, claimA)
	}
	now = now.Add(2 * time.Minute)
	b, claimB, _ := q.Next(ctx, "bob")
	if b == nil || b.ID != "x" || claimB == claimA {
		t.Fatalf("after alice's lease expired bob got %v with claim %q", b, claimB)
	}
	if q.Holds(ctx, "x", "alice", claimA) {
		t.Fatal("alice still holds x after bob claimed it")
	}
	if !q.Holds(ctx, "x", "bob", claimB) {
		t.Fatal("bob does not hold x")
	}
	q.MarkDecided(ctx, "x")
	q.Add(item(t, "x", 0.5, 0, 0)) // read again from the topic
	if it, _, _ := q.Next(ctx, "carol"); it != nil {
		t.Fatalf("a decided item came back: %v", it.ID)
	}
}

// Two consoles sharing Redis never hand one item to two moderators.
func TestRedisLeasesAcrossConsoles(t *testing.T) {
	srv := redistest.Start(t, false)
	rc, err := redis.New(redis.Config{Addrs: []string{srv.Addr}, Prefix: t.Name() + ":"})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	q1, q2 := NewQueue(redis.NewLeaser(rc), time.Minute), NewQueue(redis.NewLeaser(rc), time.Minute)
	for i := range 4 {
		q1.Add(item(t, fmt.Sprint("m", i), 0.5+float64(i)/100, 0, 0))
		q2.Add(item(t, fmt.Sprint("m", i), 0.5+float64(i)/100, 0, 0))
	}
	ctx := context.Background()
	seen := map[string]string{}
	for i := range 4 {
		for _, c := range []struct {
			q   *Queue
			who string
		}{{q1, fmt.Sprint("a", i)}, {q2, fmt.Sprint("b", i)}} {
			it, _, err := c.q.Next(ctx, c.who)
			if err != nil {
				t.Fatal(err)
			}
			if it == nil {
				continue
			}
			if other, dup := seen[it.ID]; dup {
				t.Fatalf("%s and %s both hold %s", other, c.who, it.ID)
			}
			seen[it.ID] = c.who
		}
	}
	if len(seen) != 4 {
		t.Fatalf("%d of 4 items handed out: %v", len(seen), seen)
	}

	// The same moderator logged in at both consoles holds two claims, and
	// one item is never both of them.
	q3, q4 := NewQueue(redis.NewLeaser(rc), time.Minute), NewQueue(redis.NewLeaser(rc), time.Minute)
	q3.Add(item(t, "solo", 0.5, 0, 0))
	q4.Add(item(t, "solo", 0.5, 0, 0))
	a, _, _ := q3.Next(ctx, "alice")
	b, _, _ := q4.Next(ctx, "alice")
	if a == nil || b != nil {
		t.Fatalf("alice's two consoles got %v and %v: want the item at one only", a, b)
	}
}

// BenchmarkClaimAndDecide: with 10,000 items queued, one claim plus one
// decision through the console's handlers (the writer is in memory).
func BenchmarkClaimAndDecide(b *testing.B) {
	benchClaimAndDecide(b)
}
