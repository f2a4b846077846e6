package room

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// The chunked list stays sorted through any order of joins and leaves,
// and a snapshot taken at any point stays as it was.
func TestPresenceListKeepsOrderAndSnapshots(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	p := newPresence(time.Now)
	var want []string // sorted, as compareNames orders
	type snap struct {
		at    *Presence
		names []string
	}
	var snaps []snap
	for step := range 20000 {
		name := fmt.Sprintf("n%d", rng.IntN(3000))
		if rng.IntN(10) < 2 {
			name = "N" + name[1:] // a capital sorts beside its lower case
		}
		i, found := slices.BinarySearchFunc(want, name, compareNames)
		// Arrivals outnumber departures until 2,000 are online, then
		// departures do, so chunks split and then merge.
		leaving := found && (step > 12000 || rng.IntN(4) == 0)
		switch {
		case leaving:
			p.remove(name, false)
			want = slices.Delete(want, i, i+1)
		case !found:
			p.add(name)
			want = slices.Insert(want, i, name)
		}
		if step%997 == 0 {
			snaps = append(snaps, snap{p.online(), slices.Clone(want)})
		}
	}
	check := func(what string, got *Presence, want []string) {
		t.Helper()
		if got.Len() != len(want) {
			t.Fatalf("%s: %d names, want %d", what, got.Len(), len(want))
		}
		for i, w := range want {
			if g := got.At(i); g != w {
				t.Fatalf("%s: name %d is %q, want %q", what, i, g, w)
			}
			if !got.Has(w) {
				t.Fatalf("%s: Has(%q) is false", what, w)
			}
		}
		if got.Has("nobody") {
			t.Fatalf("%s: Has(nobody)", what)
		}
	}
	check("now", p.online(), want)
	for i, s := range snaps {
		check(fmt.Sprintf("snapshot %d", i), s.at, s.names)
	}
	if len(p.names.chunks) > 2*p.names.n/(chunkMax/4)+2 {
		t.Errorf("%d names in %d chunks: small chunks were not merged", p.names.n, len(p.names.chunks))
	}
	for _, c := range p.names.chunks {
		if len(c) == 0 || len(c) > chunkMax {
			t.Fatalf("a chunk of %d names", len(c))
		}
	}
}

// A snapshot costs a copy of the chunks' headers, not of every name: a
// crowd arriving asks for one per arrival.
func BenchmarkJoinAndSnapshot(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			p := newPresence(time.Now)
			for i := range n {
				p.add(fmt.Sprintf("m%05d", i))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				name := fmt.Sprintf("new%d", i)
				p.add(name)
				p.online()
				p.remove(name, false)
			}
		})
	}
}
