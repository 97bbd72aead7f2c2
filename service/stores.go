package service

import (
	"fmt"

	"github.com/sieve-stream/sieve/cache"
	"github.com/sieve-stream/sieve/connectors/redis"
	"github.com/sieve-stream/sieve/internal/registry"
	"github.com/sieve-stream/sieve/internal/resilience"
	"github.com/sieve-stream/sieve/signals"
)

// A storeKind is where the verdict cache and the campaign signals keep
// what replicas share; cache.store and signals.store name one. Each
// registers itself (registerStore in an init): adding a store is one file
// here, beside the store's own package.
type storeKind struct {
	name    string
	summary string
	// cache and signals return the stores and the breaker that guards
	// them; a nil store means in-process state only.
	cache   func(b *builder) (cache.Store, *resilience.Breaker, error)
	signals func(b *builder) (signals.Store, *resilience.Breaker, error)
}

var storeKinds = registry.New[storeKind]("store")

func registerStore(k storeKind) { storeKinds.Register(k.name, k) }

// StoreKind names a registered store, for the docs.
type StoreKind struct{ Name, Summary string }

// StoreKinds lists the registered stores by name.
func StoreKinds() []StoreKind {
	var out []StoreKind
	for _, k := range storeKinds.All() {
		out = append(out, StoreKind{k.name, k.summary})
	}
	return out
}

// lookupStore finds the named store; "" is redis when the redis section is
// set, else memory.
func lookupStore(b *builder, field, name string) (storeKind, error) {
	if name == "" {
		name = "memory"
		if b.rc != nil {
			name = "redis"
		}
	}
	k, ok := storeKinds.Lookup(name)
	if !ok {
		return k, fmt.Errorf("%s: %q is not %s", field, name, storeKinds.Choices())
	}
	return k, nil
}

func init() {
	registerStore(storeKind{name: "memory", summary: "this process only: an LRU of verdicts, in-process clusters and author counts",
		cache:   func(*builder) (cache.Store, *resilience.Breaker, error) { return nil, nil, nil },
		signals: func(*builder) (signals.Store, *resilience.Breaker, error) { return nil, nil, nil },
	})
	registerStore(storeKind{name: "redis", summary: "shared by every replica through the redis section's client, behind one breaker (sieve_redis_up)",
		cache: func(b *builder) (cache.Store, *resilience.Breaker, error) {
			if b.rc == nil {
				return nil, nil, fmt.Errorf("cache.store: redis needs redis.addrs")
			}
			return b.rc, b.rc.Breaker(), nil
		},
		signals: func(b *builder) (signals.Store, *resilience.Breaker, error) {
			if b.rc == nil {
				return nil, nil, fmt.Errorf("signals.store: redis needs redis.addrs")
			}
			return redis.NewSignals(b.rc), b.rc.Breaker(), nil
		},
	})
}
