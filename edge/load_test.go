package edge

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/freshrepos/freshrepos/snapshots"
)

// loadSnapshot reads what snapshots.Load reads, and keeps each
// repository's bytes as repos.json has them.
func TestLoadSnapshotAgreesWithSnapshotsLoad(t *testing.T) {
	st := newStore(t)
	for _, snap := range []*snapshots.Snapshot{makeSnapshot(0, "e", t0), makeSnapshot(37, "a", t0.Add(1)), synthSnapshot(500, 4, t0.Add(2))} {
		m := publish(t, st, snap)
		want := snap
		if len(snap.Repositories) > 0 {
			// (snapshots.Load refuses a repos.json under zstd's smallest
			// window, 1 KiB, as too large: "window size exceeded".)
			var err error
			if want, err = snapshots.Load(context.Background(), st, &m); err != nil {
				t.Fatal(err)
			}
		}
		got, err := loadSnapshot(context.Background(), st, &m)
		if err != nil {
			t.Fatal(err)
		}
		if got.version != m.Version || !got.generatedAt.Equal(want.GeneratedAt) || len(got.repos) != len(want.Repositories) {
			t.Fatalf("%s: loaded %s %v with %d repositories", m.Version, got.version, got.generatedAt, len(got.repos))
		}
		if len(want.Repositories) > 0 && !reflect.DeepEqual(got.repos, want.Repositories) {
			t.Fatalf("%s: repositories differ", m.Version)
		}
		for i := range got.repos {
			obj, err := snapshots.Marshal(&want.Repositories[i])
			if err != nil {
				t.Fatal(err)
			}
			if g := got.body[got.off[i] : got.off[i+1]-1]; !bytes.Equal(g, obj) {
				t.Fatalf("%s: repository %d is %.80s, want %.80s", m.Version, i, g, obj)
			}
		}
	}
}

func TestReadDocument(t *testing.T) {
	const repo = `{"id":1,"full_name":"a/b \"{[\\\"","owner":"a","repository":"b","created_at":"2026-11-27T16:00:00Z","updated_at":"2026-11-27T16:00:00Z","pushed_at":"2026-11-27T16:00:00Z","topics":["x]}"]}`
	head := `{"schema_version":1,"version":"v","generated_at":"2026-11-27T16:00:00Z","source":{"api":"a"},`
	for _, c := range []struct {
		name, doc string
		n         int
		err       string
	}{
		{"compact", head + `"repositories":[` + repo + `,` + repo + `]}`, 2, ""},
		{"spaced", " \n" + head + ` "extra" : [1, {"a": "}"}] , "repositories" : [ ` + repo + " ,\n\t" + repo + " ] }\n", 2, ""},
		{"empty", head + `"repositories":[]}`, 0, ""},
		{"null", head + `"repositories":null}`, 0, ""},
		{"absent", head[:len(head)-1] + `}`, 0, ""},
		{"trailing data", head + `"repositories":[]} {}`, 0, "trailing data"},
		{"schema", strings.Replace(head, `"schema_version":1`, `"schema_version":2`, 1) + `"repositories":[]}`, 0, "schema_version 2"},
		{"not an object", head + `"repositories":[1]}`, 0, "want an object"},
		{"bad repository", head + `"repositories":[{"id":"x"}]}`, 0, "repository 0"},
		{"unterminated", head + `"repositories":[` + repo, 0, "malformed"},
		{"missing comma", head + `"repositories":[` + repo + repo + `]}`, 0, "want ','"},
	} {
		l, err := readDocument([]byte(c.doc))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want one saying %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if len(l.repos) != c.n || l.version != "v" {
			t.Errorf("%s: %d repositories of %q", c.name, len(l.repos), l.version)
			continue
		}
		for i := range c.n {
			if g := l.body[l.off[i] : l.off[i+1]-1]; string(g) != repo {
				t.Errorf("%s: object %d is %s", c.name, i, g)
			}
			if l.repos[i].FullName != `a/b "{[\"` || l.repos[i].Topics[0] != "x]}" {
				t.Errorf("%s: repository %d decoded as %+v", c.name, i, l.repos[i])
			}
		}
		if want := string(reposHead) + strings.Repeat(","+repo, c.n); string(l.body) != strings.Replace(want, ",", "", 1) && c.n > 0 || c.n == 0 && string(l.body) != string(reposHead) {
			t.Errorf("%s: body %s", c.name, l.body)
		}
	}
}
