package shardmap_test

import (
	"fmt"
	"time"

	"github.com/tenantkit/tenantkit/internal/shardmap"
)

type entry struct {
	value string
	exp   time.Time
}

func ExampleEvicting() {
	now := time.Unix(1000, 0)
	m := shardmap.NewEvicting[string, *entry](1000, 32)
	// When the key's shard is full, expired entries go first.
	m.Store("k", &entry{"v", now.Add(time.Minute)}, func(e *entry) bool { return !now.Before(e.exp) })
	if e, ok := m.Load("k"); ok && now.Before(e.exp) {
		fmt.Println(e.value)
	}
	// Output: v
}

func ExampleBounded() {
	m := shardmap.NewBounded[string, *int](2, 16)
	for _, id := range []string{"a", "b", "c"} {
		_, ok := m.LoadOrCreate(id, nil, func() *int { return new(int) })
		fmt.Println(id, ok)
	}
	// Output:
	// a true
	// b true
	// c false
}
