package shardmap

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

// The shard's size does not depend on K and V (a map is one pointer); the
// users' packages check their own instantiations too.
func TestShardIsOneCacheLine(t *testing.T) {
	for name, got := range map[string]uintptr{
		"string->*int":      SizeofShard[string, *int](),
		"struct->*[64]byte": SizeofShard[struct{ a, b, c string }, *[64]byte](),
		"[100]byte->[9]int": SizeofShard[[100]byte, [9]int](),
		"int->struct{}":     SizeofShard[int, struct{}](),
	} {
		if got != LineSize {
			t.Errorf("shard of %s is %d bytes, want %d", name, got, LineSize)
		}
	}
}

func TestShardCountIsAPowerOfTwo(t *testing.T) {
	for n, want := range map[int]int{0: 1, 1: 1, 3: 2, 16: 16, 31: 16, 32: 32} {
		if got := NewEvicting[int, int](100, n).Shards.Len(); got != want {
			t.Errorf("%d shards asked: %d, want %d", n, got, want)
		}
	}
}

func TestEvictingDropsStaleValuesFirst(t *testing.T) {
	m := NewEvicting[int, int](4, 1)
	never := func(int) bool { return false }
	for i := range 4 {
		m.Store(i, i, never)
	}
	m.Store(1, 10, never) // a known key evicts nothing
	if m.Len() != 4 {
		t.Fatalf("len %d after replacing a key", m.Len())
	}
	m.Store(4, 4, func(v int) bool { return v < 2 })
	if _, ok := m.Load(0); ok {
		t.Error("stale 0 kept")
	}
	for _, k := range []int{1, 2, 3, 4} {
		if _, ok := m.Load(k); !ok {
			t.Errorf("%d evicted", k)
		}
	}
	m.Store(5, 5, never) // full, nothing stale: one at random
	if m.Len() != 4 {
		t.Fatalf("len %d, want the bound 4", m.Len())
	}
	if v, ok := m.Load(5); !ok || v != 5 {
		t.Fatalf("Load(5) = %d, %v", v, ok)
	}
}

func TestEvictingHoldsItsBound(t *testing.T) {
	m := NewEvicting[string, int](100, 8) // 13 a shard
	for i := range 10_000 {
		m.Store(strconv.Itoa(i), i, func(int) bool { return false })
	}
	if n := m.Len(); n > 8*13 {
		t.Fatalf("%d entries, bound %d", n, 8*13)
	}
}

func TestEvictingDeletes(t *testing.T) {
	m := NewEvicting[int, int](100, 4)
	for i := range 10 {
		m.Store(i, i, nil)
	}
	m.CompareAndDelete(1, 2) // not its value
	if _, ok := m.Load(1); !ok {
		t.Fatal("CompareAndDelete deleted another value")
	}
	m.CompareAndDelete(1, 1)
	if _, ok := m.Load(1); ok {
		t.Fatal("CompareAndDelete kept its value")
	}
	m.DeleteFunc(func(k, _ int) bool { return k%2 == 0 })
	if m.Len() != 4 {
		t.Fatalf("len %d after DeleteFunc, want 4", m.Len())
	}
}

func TestBoundedAdmitsUntilFullAndNeverEvicts(t *testing.T) {
	m := NewBounded[string, *int](3, 4)
	mk := func() *int { return new(int) }
	for _, k := range []string{"a", "b", "c"} {
		if _, ok := m.LoadOrCreate(k, nil, mk); !ok {
			t.Fatalf("%s refused", k)
		}
	}
	if _, ok := m.LoadOrCreate("d", nil, mk); ok {
		t.Fatal("d admitted past the bound")
	}
	if _, ok := m.Load("d"); ok || m.Len() != 3 {
		t.Fatalf("d stored, len %d", m.Len())
	}
	a, _ := m.Load("a")
	if v, ok := m.LoadOrCreate("a", nil, mk); !ok || v != a {
		t.Fatal("an admitted key got a new value")
	}
	// A stale value is replaced in place: the count is unchanged.
	if v, ok := m.LoadOrCreate("a", func(v *int) bool { return v != a }, mk); !ok || v == a || m.Len() != 3 {
		t.Fatalf("stale value not replaced: %v, len %d", ok, m.Len())
	}
	seen := map[string]bool{}
	m.Range(func(k string, _ *int) { seen[k] = true })
	if len(seen) != 3 || !seen["a"] || !seen["b"] || !seen["c"] {
		t.Fatalf("Range saw %v", seen)
	}
}

func TestBoundedConcurrentAdmissionsStayUnderTheBound(t *testing.T) {
	m := NewBounded[string, int](50, 16)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				m.LoadOrCreate(strconv.Itoa(g*1000+i), nil, func() int { return i })
			}
		}()
	}
	wg.Wait()
	n := 0
	m.Range(func(string, int) { n++ })
	if n != 50 || m.Len() != 50 {
		t.Fatalf("%d entries, Len %d, want 50", n, m.Len())
	}
}

func TestLoadAllocatesNothing(t *testing.T) {
	e := NewEvicting[string, *int](10, 4)
	b := NewBounded[string, *int](10, 4)
	e.Store("k", new(int), nil)
	b.LoadOrCreate("k", nil, func() *int { return new(int) })
	valid := func(*int) bool { return true }
	if n := testing.AllocsPerRun(100, func() {
		e.Load("k")
		b.LoadOrCreate("k", valid, nil)
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

type lineShard struct {
	_  [(LineSize - (unsafe.Sizeof(sync.Mutex{})+unsafe.Sizeof(0))%LineSize) % LineSize]byte
	mu sync.Mutex
	n  int
}

func TestMakeShardsInitsEveryShardAndPlacesKeys(t *testing.T) {
	s := MakeShards[string](6, func(i int, sh *lineShard) { sh.n = i + 1 })
	if s.Len() != 4 {
		t.Fatalf("%d shards, want 4", s.Len())
	}
	for i := range s.Len() {
		if s.At(i).n != i+1 {
			t.Fatalf("shard %d not initialised", i)
		}
	}
	for i := range 100 {
		k := strconv.Itoa(i)
		if s.Of(k) != s.At(s.Index(k)) || s.Of(k) != s.Of(strings.Clone(k)) {
			t.Fatalf("key %s placed inconsistently", k)
		}
	}
}

func TestMakeShardsRefusesAShardOffTheLine(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a 24-byte shard was accepted")
		}
	}()
	MakeShards[string, struct{ a, b, c int64 }](4, nil)
}

func TestOfAllocatesNothing(t *testing.T) {
	s := MakeShards[string, lineShard](16, nil)
	b := []byte("tenant-42")
	if n := testing.AllocsPerRun(100, func() {
		sh := s.Of(string(b))
		sh.mu.Lock()
		sh.n++
		sh.mu.Unlock()
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
