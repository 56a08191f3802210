package edge

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sync/singleflight"
)

// entryOverhead approximates what an entry costs besides its key and body:
// the entry, its map slot and its queue slot.
const entryOverhead = 160

// cache holds values by (slot, key), bounded by the bytes it
// holds. A slot is a kind of answer (route and encoding), so that a hit
// looks up the raw query bytes as they came, without building a key.
//
// Eviction is second chance (CLOCK): a hit only sets a flag, so that hits
// share a read lock and never write to shared state beyond that flag, and
// an entry survives one eviction pass for every time it was used.
//
// Concurrent misses for one key are collapsed with flight.
type cache[T any] struct {
	mu    sync.RWMutex
	maps  []map[string]*entry[T]
	queue []*entry[T] // insertion order; the head is the next eviction candidate
	used  int64
	limit int64

	flight singleflight.Group
}

type entry[T any] struct {
	slot int
	key  string
	val  *T
	cost int64
	used atomic.Bool
}

func newCache[T any](slots int, limit int64) *cache[T] {
	c := &cache[T]{maps: make([]map[string]*entry[T], slots), limit: limit}
	for i := range c.maps {
		c.maps[i] = map[string]*entry[T]{}
	}
	return c
}

// get returns the value cached under key, or nil. It does not allocate.
func (c *cache[T]) get(slot int, key []byte) *T {
	c.mu.RLock()
	e := c.maps[slot][string(key)]
	c.mu.RUnlock()
	return e.hit()
}

// getString is get for a key that is already a string.
func (c *cache[T]) getString(slot int, key string) *T {
	c.mu.RLock()
	e := c.maps[slot][key]
	c.mu.RUnlock()
	return e.hit()
}

func (e *entry[T]) hit() *T {
	if e == nil {
		return nil
	}
	if !e.used.Load() {
		e.used.Store(true)
	}
	return e.val
}

// put caches val under key, charging it size bytes besides the entry
// itself. A value referred to by several keys is charged to each, which
// can only overstate what the cache holds; a value held elsewhere for as
// long as the cache lives (a precomputed answer) may be charged 0.
func (c *cache[T]) put(slot int, key string, val *T, size int) {
	cost := int64(entryOverhead + len(key) + size)
	c.mu.Lock()
	defer c.mu.Unlock()
	if cost > c.limit {
		return
	}
	if _, ok := c.maps[slot][key]; ok {
		return
	}
	c.evict(c.limit - cost)
	e := &entry[T]{slot: slot, key: key, val: val, cost: cost}
	c.maps[slot][key] = e
	c.queue = append(c.queue, e)
	c.used += cost
}

// recharge adds delta to what the entry under key is charged, when there
// is one: its value grew after it was cached.
func (c *cache[T]) recharge(slot int, key string, delta int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.maps[slot][key]
	if !ok {
		return
	}
	e.cost += delta
	c.used += delta
	c.evict(c.limit)
}

// evict drops entries until at most target bytes are used. Each pass over
// the queue clears the flags it passes, so it ends within two passes.
func (c *cache[T]) evict(target int64) {
	for c.used > target && len(c.queue) > 0 {
		e := c.queue[0]
		c.queue[0] = nil
		c.queue = c.queue[1:]
		if e.used.Load() {
			e.used.Store(false)
			c.queue = append(c.queue, e)
			continue
		}
		delete(c.maps[e.slot], e.key)
		c.used -= e.cost
	}
}

// setLimit changes the bound, evicting down to it.
func (c *cache[T]) setLimit(limit int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.limit = limit
	c.evict(limit)
}

// size returns the bytes charged and the number of entries.
func (c *cache[T]) size() (used int64, entries int) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.used, len(c.queue)
}
