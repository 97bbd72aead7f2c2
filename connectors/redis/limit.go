package redis

import (
	"context"
	"fmt"
	"math"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/sieve-stream/sieve/proxy"
)

// tokenBucket refills a bucket to now and takes one token, atomically, so
// every proxy replica draws from the same bucket. KEYS[1] the bucket;
// ARGV rate (tokens/s), burst, now (ms). Returns {allowed, wait ms}.
var tokenBucket = goredis.NewScript(`
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
tokens = math.min(burst, tokens + (now - ts) / 1000 * rate)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {allowed, wait}
`)

// Limiter is a proxy.Limiter whose token buckets live in Redis, shared by
// every replica.
type Limiter struct{ c *Client }

// NewLimiter returns the shared limiter.
func NewLimiter(c *Client) *Limiter { return &Limiter{c: c} }

// Allow implements proxy.Limiter.
func (l *Limiter) Allow(ctx context.Context, k proxy.Key) (bool, time.Duration, error) {
	if k.RPS <= 0 {
		return true, 0, nil
	}
	burst := float64(k.Burst)
	if burst <= 0 {
		burst = math.Max(1, k.RPS)
	}
	ctx, cancel := context.WithTimeout(ctx, l.c.Timeout)
	defer cancel()
	res, err := tokenBucket.Run(ctx, l.c, []string{l.c.Prefix + "rl:" + k.ID}, k.RPS, burst, time.Now().UnixMilli()).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("redis rate limit: %w", err)
	}
	return res[0] == 1, time.Duration(res[1]) * time.Millisecond, nil
}
