package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			io.WriteString(w, `{"status":"ok"}`)
		case "/slow":
			time.Sleep(300 * time.Millisecond)
		default:
			http.Error(w, "not ready", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{srv.URL + "/ok"}, 0},
		{[]string{srv.URL + "/ok", srv.URL + "/ok"}, 0},
		{[]string{srv.URL + "/readyz"}, 1},
		{[]string{srv.URL + "/ok", srv.URL + "/readyz"}, 1},
		{[]string{"-timeout", "50ms", srv.URL + "/slow"}, 1},
		{[]string{"http://127.0.0.1:1/"}, 1}, // nothing listens on port 1
		{[]string{"::not a url"}, 1},
		{nil, 2},
		{[]string{"-bogus"}, 2},
	} {
		var stderr strings.Builder
		if got := run(tc.args, &stderr); got != tc.want {
			t.Errorf("run(%q) = %d, want %d (stderr %q)", tc.args, got, tc.want, stderr.String())
		}
	}
}
