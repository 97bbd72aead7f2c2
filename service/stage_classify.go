package service

import (
	"github.com/sieve-stream/sieve/cache"
	"github.com/sieve-stream/sieve/pipeline"
)

// The classifiers, behind the verdict cache.
func init() {
	registerStage(stageKind{name: "classify", order: 20, build: func(b *builder) (pipeline.Stage, error) {
		var st pipeline.Stage = b.cls
		if b.o.WrapClassify != nil {
			st = b.o.WrapClassify(st)
		}
		if !b.cfg.Cache.Enabled {
			return st, nil
		}
		co := cache.Options{Version: modelSetVersion(b.cls, b.cfg), LRUSize: b.cfg.Cache.LRUSize, TTL: b.cfg.Cache.TTL,
			Metrics: cache.NewMetrics(b.o.Registry), Logger: b.o.Logger}
		k, err := lookupStore(b, "cache.store", b.cfg.Cache.Store)
		if err != nil {
			return nil, err
		}
		if co.Store, co.Breaker, err = k.cache(b); err != nil {
			return nil, err
		}
		return cache.New(st, co), nil
	}})
}
