package ops

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestHandler(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "ops_test_total", Help: "a test counter"})
	reg.MustRegister(c)
	c.Add(3)
	srv := httptest.NewServer(Handler(reg))
	defer srv.Close()

	for _, tc := range []struct {
		path, contains string
		status         int
	}{
		{"/metrics", "ops_test_total 3", 200},
		{"/debug/pprof/", "goroutine", 200},
		{"/debug/pprof/cmdline", "ops.test", 200},
		{"/debug/pprof/goroutine?debug=1", "goroutine profile", 200},
		{"/repos", "", 404},
	} {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.contains) {
			t.Errorf("GET %s: %d, want %d with %q; body starts %.200q", tc.path, resp.StatusCode, tc.status, tc.contains, body)
		}
	}
}
