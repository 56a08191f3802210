package edge

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/freshrepos/freshrepos/snapshots"
)

// decodeRepository decodes what json.Unmarshal decodes, and fails where
// it fails.
func TestDecodeRepositoryIsJSONUnmarshal(t *testing.T) {
	check := func(name string, b []byte) {
		t.Helper()
		var want, got snapshots.Repository
		werr := json.Unmarshal(b, &want)
		gerr := decodeRepository(b, &got)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("%s: json.Unmarshal: %v; decodeRepository: %v", name, werr, gerr)
		}
		if werr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\n got %+v\nwant %+v", name, got, want)
		}
	}
	fast := 0
	for _, snap := range []*snapshots.Snapshot{synthSnapshot(300, 11, t0), makeSnapshot(40, "d", t0)} {
		for i := range snap.Repositories {
			b, err := snapshots.Marshal(&snap.Repositories[i])
			if err != nil {
				t.Fatal(err)
			}
			check(snap.Repositories[i].FullName, b)
			d := repoDecoder{b: b, ok: true}
			var r snapshots.Repository
			if d.decode(&r); d.ok && d.i == len(b) {
				fast++
			}
		}
	}
	if fast < 300 {
		t.Errorf("only %d of 340 repositories took the fast path", fast)
	}
	base, err := snapshots.Marshal(&synthSnapshot(1, 12, t0).Repositories[0])
	if err != nil {
		t.Fatal(err)
	}
	obj := string(base)
	replace := func(old, new string) []byte {
		t.Helper()
		if !strings.Contains(obj, old) {
			t.Fatalf("%q is not in %s", old, obj)
		}
		return []byte(strings.Replace(obj, old, new, 1))
	}
	for name, b := range map[string][]byte{
		"escapes":           replace(`"visibility":"public"`, `"visibility":"pub\"li\\c\u00e9\n"`),
		"unicode":           replace(`"visibility":"public"`, `"visibility":"ünïcode ☃ 日本 🦀"`),
		"invalid utf-8":     replace(`"visibility":"public"`, "\"visibility\":\"pu\xffblic\""),
		"control character": replace(`"visibility":"public"`, "\"visibility\":\"pu\x01blic\""),
		"null languages":    []byte(strings.Replace(strings.Replace(obj, `"languages_status":"ok"`, `"languages_status":"pending"`, 1), obj[strings.Index(obj, `"languages":`):strings.Index(obj, `,"languages_status"`)], `"languages":null`, 1)),
		"empty languages":   []byte(strings.Replace(obj, obj[strings.Index(obj, `"languages":`):strings.Index(obj, `,"languages_status"`)], `"languages":{}`, 1)),
		"null topics":       []byte(strings.Replace(obj, obj[strings.Index(obj, `"topics":`):strings.Index(obj, `,"fork"`)], `"topics":null`, 1)),
		"topics":            []byte(strings.Replace(obj, obj[strings.Index(obj, `"topics":`):strings.Index(obj, `,"fork"`)], `"topics":["a","b\"c"]`, 1)),
		"negative":          replace(`"size":`, `"size":-`),
		"leading zero":      replace(`"size":`, `"size":0`),
		"float":             replace(`,"default_branch"`, `.5,"default_branch"`),
		"huge":              replace(`"size":`, `"size":99999999999999999999`),
		"zone":              []byte(strings.Replace(obj, obj[strings.Index(obj, `"updated_at":`):strings.Index(obj, `,"pushed_at"`)], `"updated_at":"2026-11-27T17:37:44+02:00"`, 1)),
		"fraction":          []byte(strings.Replace(obj, obj[strings.Index(obj, `"updated_at":`):strings.Index(obj, `,"pushed_at"`)], `"updated_at":"2026-11-27T17:37:44.5Z"`, 1)),
		"bad date":          []byte(strings.Replace(obj, obj[strings.Index(obj, `"updated_at":`):strings.Index(obj, `,"pushed_at"`)], `"updated_at":"2026-02-30T17:37:44Z"`, 1)),
		"not a time":        []byte(strings.Replace(obj, obj[strings.Index(obj, `"updated_at":`):strings.Index(obj, `,"pushed_at"`)], `"updated_at":"yesterday"`, 1)),
		"order":             []byte(`{"full_name":"a/b","id":7}`),
		"unknown member":    replace(`"fork":`, `"extra":[1,{"a":2}],"fork":`),
		"spaces":            replace(`,"fork":`, ` , "fork" : `),
		"wrong type":        replace(`"fork":false`, `"fork":"no"`),
		"truncated":         []byte(obj[:len(obj)-5]),
		"trailing":          []byte(obj + "x"),
		"null description":  replace(`"homepage":`, `"homepage":null,"x":`),
		"license object":    []byte(strings.Replace(obj, obj[strings.Index(obj, `"license":`):strings.Index(obj, `,"topics"`)], `"license":{"key":"mit","spdx_id":"MIT","name":"MIT \"License\""}`, 1)),
		"license null":      []byte(strings.Replace(obj, obj[strings.Index(obj, `"license":`):strings.Index(obj, `,"topics"`)], `"license":null`, 1)),
		"empty":             []byte(`{}`),
	} {
		check(name, b)
	}
}

// BenchmarkDecodeRepository decodes the repositories of a synthetic
// snapshot one by one, with the fixed-layout reader and with
// encoding/json.
func BenchmarkDecodeRepository(b *testing.B) {
	snap := synthSnapshot(2000, 13, t0)
	objs := make([][]byte, len(snap.Repositories))
	size := 0
	for i := range snap.Repositories {
		var err error
		if objs[i], err = snapshots.Marshal(&snap.Repositories[i]); err != nil {
			b.Fatal(err)
		}
		size += len(objs[i])
	}
	for _, c := range []struct {
		name   string
		decode func([]byte, *snapshots.Repository) error
	}{{"layout", decodeRepository}, {"encoding-json", func(b []byte, r *snapshots.Repository) error { return json.Unmarshal(b, r) }}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				for _, o := range objs {
					var r snapshots.Repository
					if err := c.decode(o, &r); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
