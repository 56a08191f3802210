package dirstore_test

import (
	"testing"

	"github.com/freshrepos/freshrepos/snapshots"
	"github.com/freshrepos/freshrepos/snapshots/dirstore"
	"github.com/freshrepos/freshrepos/snapshots/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) snapshots.Store {
		s, err := dirstore.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
