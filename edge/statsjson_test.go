package edge

import (
	"bytes"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"

	"github.com/freshrepos/freshrepos/filters"

	"github.com/freshrepos/freshrepos/snapshots"
)

// appendStats writes what encoding/json writes, for the statistics of
// many queries and for values chosen to be awkward.
func TestAppendStatsIsEncodingJSON(t *testing.T) {
	// A field added to the statistics must be added to appendStats too.
	for typ, n := range map[reflect.Type]int{
		reflect.TypeFor[filters.Stats]():            6,
		reflect.TypeFor[filters.LanguageStats]():    8,
		reflect.TypeFor[filters.LicenseStats]():     2,
		reflect.TypeFor[filters.TopicCount]():       2,
		reflect.TypeFor[filters.SelectedLanguage](): 9,
	} {
		if typ.NumField() != n {
			t.Errorf("%s has %d fields; appendStats writes %d", typ, typ.NumField(), n)
		}
	}
	check := func(name string, st *filters.Stats) {
		t.Helper()
		want, werr := snapshots.Marshal(st)
		got, gerr := appendStats(nil, st)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("%s: encoding/json: %v; appendStats: %v", name, werr, gerr)
		}
		if werr == nil && !bytes.Equal(append(got, '}'), want) {
			t.Fatalf("%s:\n got %s}\nwant %s", name, got, want)
		}
	}
	ix := filters.NewIndex(synthSnapshot(600, 8, t0).Repositories)
	r := rand.New(rand.NewPCG(1, 9))
	langs := []string{"python", "go", "rust", "javascript", "c%2B%2B", "zig", "nonesuch"}
	for i := range 60 {
		q := "max_stars=" + strconv.Itoa(r.IntN(4))
		if i%3 != 0 {
			q += "&language=" + langs[r.IntN(len(langs))]
		}
		if i%4 == 0 {
			q += "&license=mit"
		}
		parsed, p := filters.Parse(args(t, q))
		if p != nil {
			t.Fatal(string(p.JSON()))
		}
		check(q, ix.Stats(parsed))
	}
	check("everything", ix.Stats(nil))
	check("empty", &filters.Stats{})
	odd := []string{"", `"quoted"\`, "tab\there\nand\r\b\f\x00\x1f\x7f", "<b>&amp;</b>", "ünïcode ☃ 日本", "bad \xff\xfe utf-8", "sep \u2028 \u2029", "emoji 🦀"}
	floats := []float64{0, -0.0, 1, 0.1, 1.0 / 3, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21, 123456789.125, -2.5e-10, math.SmallestNonzeroFloat64, math.MaxFloat64}
	for i, s := range odd {
		f := floats[i%len(floats)]
		g := floats[(i+5)%len(floats)]
		st := &filters.Stats{
			Repositories: i, TotalBytes: int64(i) << 40,
			Languages: map[string]filters.LanguageStats{s: {Name: s, Share: f, AvgForks: g, AvgOpenIssues: -f, AvgSize: g * 3}, "b" + s: {Name: "x"}},
			Licenses:  map[string]filters.LicenseStats{s: {Name: s, Repositories: 3}},
			Topics:    []filters.TopicCount{{Topic: s, Repositories: 1}},
			Selected:  &filters.SelectedLanguage{Name: s, ShareOfBytes: f, AverageBytes: g, MedianBytes: f + g, CoLanguages: map[string]int{s: 1, "z": 2}},
		}
		check("odd "+strconv.Itoa(i), st)
	}
	check("selected, no co-languages", &filters.Stats{Selected: &filters.SelectedLanguage{}, Topics: []filters.TopicCount{}})
	check("not a number", &filters.Stats{Languages: map[string]filters.LanguageStats{"x": {Share: math.NaN()}}})
	check("infinite", &filters.Stats{Selected: &filters.SelectedLanguage{MedianBytes: math.Inf(1)}})
}

// appendJSONString quotes every string as encoding/json does.
func TestAppendJSONString(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	alphabet := []string{"a", "\"", "\\", "\x00", "\n", "\x7f", "é", "\u2028", "\xff", "☃", "<", "&", "\xe2\x80"}
	for range 2000 {
		var s string
		for range r.IntN(12) {
			s += alphabet[r.IntN(len(alphabet))]
		}
		want, err := snapshots.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	}
}
