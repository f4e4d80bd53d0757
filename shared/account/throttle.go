package account

import (
	"context"
	"sync"
	"time"
)

// throttles are the per-minute limits counted in this instance's memory.
type throttles struct {
	local              *minuteCounter
	loginPerIPMinute   int
	loginPerAcctMinute int
	now                func() time.Time
}

// throttle counts one request against key in the current minute, in this instance's
// memory: per-minute limits on sign-in, forgot, reset and unlock cost no database write.
// Each function instance counts on its own, so across a fleet the limit is per instance;
// the edge (WAF rate rules) is where a deployment-wide per-IP limit belongs. What must
// hold across instances (lockout, reset emails an hour) is counted in the store.
func (th *throttles) throttle(_ context.Context, key string, perMinute int) error {
	if perMinute < 0 {
		return nil
	}
	now := th.now().UTC()
	end := now.Truncate(time.Minute).Add(time.Minute)
	if n := th.local.hit(key, end); n > perMinute {
		return &Error{Code: CodeRateLimited, RetryAfter: end.Sub(now)}
	}
	return nil
}

// minuteCounter is a fixed-window counter in memory. The window's counts are dropped
// when the next window starts, so it holds at most one minute of keys.
type minuteCounter struct {
	mu     sync.Mutex
	end    time.Time
	counts map[string]int
}

// maxCounterKeys bounds the memory of one window; keys beyond it are not counted (a flood
// of distinct keys is the edge's job).
const maxCounterKeys = 100_000

func (c *minuteCounter) hit(key string, end time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !end.Equal(c.end) {
		c.end, c.counts = end, map[string]int{}
	}
	if _, ok := c.counts[key]; !ok && len(c.counts) >= maxCounterKeys {
		return 0
	}
	c.counts[key]++
	return c.counts[key]
}

// throttleLogin counts a password given for loginID from ip (a sign-in, a service check)
// against the sign-in's per-IP and per-account limits a minute. It returns the login ID's
// key and whether the login ID is an address at all: only an address is counted per
// account, and looked up.
func (th *throttles) throttleLogin(ctx context.Context, ip, loginID string) (key string, wellFormed bool, err error) {
	if err := th.throttle(ctx, "login-ip#"+ip, th.loginPerIPMinute); err != nil {
		return "", false, err
	}
	key = Key(loginID)
	if _, wellFormed = ParseLoginID(loginID); wellFormed {
		if err := th.throttle(ctx, "login-acct#"+key, th.loginPerAcctMinute); err != nil {
			return "", false, err
		}
	}
	return key, wellFormed, nil
}
