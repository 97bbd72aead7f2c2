// Package override applies moderators' decisions to later identical texts:
// once a person has blocked or allowed a text in `sieve review`, the
// pipeline decides the same text (after normalisation) the same way,
// whatever the models say.
package override

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/sieve-stream/sieve/contract"
	"github.com/sieve-stream/sieve/internal/resilience"
	"github.com/sieve-stream/sieve/internal/textnorm"
	"github.com/sieve-stream/sieve/pipeline"
)

// Key names a text for overrides: the SHA-256 of its normalised form
// (textnorm), so that case, spacing and look-alike letters do not escape a
// moderator's decision. 32 hex digits.
func Key(text string) string { return keyOfNormalized(textnorm.Normalize(text)) }

func keyOfNormalized(norm string) string {
	sum := sha256.Sum256([]byte(norm))
	return hex.EncodeToString(sum[:16])
}

// Override is a moderator's decision on a text.
type Override struct {
	Decision contract.Decision `json:"decision"`
	Reviewer string            `json:"reviewer"`
	// Rewrite is the moderator's rewrite, used for a rewrite decision.
	Rewrite *string `json:"rewrite,omitempty"`
}

// Store keeps overrides by key; GetMulti returns nil for a key it does
// not have. The Redis client implements it (replicas share overrides), and
// so does Memory.
type Store interface {
	GetMulti(ctx context.Context, keys []string) ([][]byte, error)
	SetMulti(ctx context.Context, keys []string, vals [][]byte, ttl time.Duration) error
}

// Memory is an in-process Store.
type Memory struct {
	mu sync.RWMutex
	m  map[string][]byte
}

// NewMemory returns an empty store.
func NewMemory() *Memory { return &Memory{m: map[string][]byte{}} }

// GetMulti implements Store.
func (s *Memory) GetMulti(_ context.Context, keys []string) ([][]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i] = s.m[k]
	}
	return out, nil
}

// SetMulti implements Store; overrides do not expire.
func (s *Memory) SetMulti(_ context.Context, keys []string, vals [][]byte, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, k := range keys {
		s.m[k] = vals[i]
	}
	return nil
}

// Stage applies overrides. It runs after the policy: a moderator's
// decision replaces the pipeline's, also when it is milder (an allow), as
// a person's answer outranks the models'.
type Stage struct {
	Store Store
	// Breaker, when set, guards Store (the Redis client's shared breaker):
	// while it is open the batch goes on without overrides.
	Breaker *resilience.Breaker
}

// storeKey is the key an override of text key is kept under.
func storeKey(key string) string { return "override:" + key }

// Name implements pipeline.Stage.
func (s *Stage) Name() string { return "override" }

// Process implements pipeline.Stage. A store that fails leaves the
// pipeline's decisions as they are: overrides must never stop the flow.
func (s *Stage) Process(ctx context.Context, items []*pipeline.Item) error {
	keys := make([]string, 0, len(items))
	who := make([]*pipeline.Item, 0, len(items))
	for _, it := range items {
		// A message with media is more than its text, and an empty text
		// names nothing: neither takes a decision made on another message.
		if it.Err != nil || it.Msg == nil || len(it.Msg.Media) > 0 {
			continue
		}
		if it.Normalized == "" {
			it.Normalized = textnorm.Normalize(it.Text())
		}
		if it.Normalized == "" {
			continue
		}
		keys = append(keys, storeKey(keyOfNormalized(it.Normalized)))
		who = append(who, it)
	}
	if len(keys) == 0 {
		return nil
	}
	if s.Breaker != nil && !s.Breaker.Allow() {
		return nil
	}
	vals, err := s.Store.GetMulti(ctx, keys)
	if s.Breaker != nil {
		s.Breaker.Done(err == nil)
	}
	if err != nil {
		return nil
	}
	for i, v := range vals {
		if v == nil {
			continue
		}
		var o Override
		if json.Unmarshal(v, &o) != nil || !o.Decision.Valid() {
			continue
		}
		it := who[i]
		it.Decision = o.Decision
		if o.Decision == contract.DecisionRewrite && o.Rewrite != nil {
			r := *o.Rewrite
			it.Rewrite = &r
		}
		it.Findings = append(it.Findings, contract.Finding{Detector: "review", Signal: "moderator_decision",
			Detail: fmt.Sprintf("%s by %s on an identical text", o.Decision, o.Reviewer)})
	}
	return nil
}
