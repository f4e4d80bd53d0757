package account

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// tenantCache keeps tenants in memory for a short time, so a sign-in reads no tenant
// item: tenants change rarely, and a change made by another function instance applies
// within the TTL. Changes made through this instance apply at once.
type tenantCache struct {
	tenants Tenants
	ttl     time.Duration
	now     func() time.Time

	mu      sync.Mutex
	entries map[string]cachedTenant
}

type cachedTenant struct {
	t       Tenant
	expires time.Time
}

func newTenantCache(t Tenants, ttl time.Duration, now func() time.Time) *tenantCache {
	return &tenantCache{tenants: t, ttl: ttl, now: now, entries: map[string]cachedTenant{}}
}

// get returns tenant id, from memory while fresh at now.
func (c *tenantCache) get(ctx context.Context, id string, now time.Time) (Tenant, error) {
	if c.ttl > 0 {
		c.mu.Lock()
		e, ok := c.entries[id]
		c.mu.Unlock()
		if ok && now.Before(e.expires) {
			return e.t, nil
		}
	}
	t, err := c.tenants.GetTenant(ctx, id)
	if err != nil {
		return Tenant{}, fmt.Errorf("tenant %s: %w", id, err)
	}
	c.put(t, now)
	return t, nil
}

func (c *tenantCache) put(t Tenant, now time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) > 1000 { // many tenants: start over rather than grow without bound
		clear(c.entries)
	}
	c.entries[t.ID] = cachedTenant{t: t, expires: now.Add(c.ttl)}
}

// tenant returns a tenant through the cache.
func (tc *tenantCache) tenant(ctx context.Context, id string) (Tenant, error) {
	return tc.get(ctx, id, tc.now())
}

// settingsOf returns the effective settings of a tenant.
func (tc *tenantCache) settingsOf(ctx context.Context, tenantID string) (Settings, error) {
	t, err := tc.tenant(ctx, tenantID)
	if err != nil {
		return Settings{}, err
	}
	return t.Settings.Effective(), nil
}
