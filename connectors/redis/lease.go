package redis

import (
	"context"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Leaser keeps the review console's claims in Redis, so that consoles
// behind a load balancer never hand one item to two moderators
// (review.Leaser).
type Leaser struct{ c *Client }

// NewLeaser returns a leaser on c.
func NewLeaser(c *Client) *Leaser { return &Leaser{c: c} }

// claim takes a free lease, or renews the caller's own.
var claim = goredis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`)

// release drops the lease only when the caller holds it.
var release = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

func (l *Leaser) key(id string) string { return l.c.Prefix + "lease:" + id }

// Claim implements review.Leaser.
func (l *Leaser) Claim(ctx context.Context, id, who string, ttl time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, l.c.Timeout)
	defer cancel()
	n, err := claim.Run(ctx, l.c, []string{l.key(id)}, who, ttl.Milliseconds()).Int()
	return n == 1, err
}

// Release implements review.Leaser.
func (l *Leaser) Release(ctx context.Context, id, who string) error {
	ctx, cancel := context.WithTimeout(ctx, l.c.Timeout)
	defer cancel()
	return release.Run(ctx, l.c, []string{l.key(id)}, who).Err()
}
