package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/freshrepos/freshrepos/edge"
	"github.com/freshrepos/freshrepos/snapshots"
	"github.com/freshrepos/freshrepos/snapshots/dirstore"
)

// chromiumPath is Debian's chromium, which scripts/install-chromium.sh
// installs (make test runs it).
const chromiumPath = "/usr/bin/chromium"

// The page in headless Chromium, over an edge serving a directory store:
// it loads with no console error, a filter narrows the table and goes
// into the URL, the charts are drawn, a bad value gets the API's message
// next to its control, a new snapshot shows up without a reload, and a
// phone-width screen needs no horizontal scrolling. With
// UPDATE_SCREENSHOT=1 it writes docs/screenshot.png.
func TestPageInBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if testing.Short() {
			t.Skipf("%s is missing: run scripts/install-chromium.sh (make test does)", chromiumPath)
		}
		t.Fatalf("%s is missing: run make test, which installs Debian's chromium with scripts/install-chromium.sh (as root), or apt-get install chromium; go test -short skips this test", chromiumPath)
	}
	now := time.Now().UTC().Truncate(time.Second)
	origin := now.Add(-27 * 90 * time.Second)
	snapA := makeSnapshot(origin, now.Add(-3*time.Minute), 24)
	snapB := makeSnapshot(origin, now, 27) // three newer repositories on top
	st, err := dirstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ma := publish(t, st, snapA)
	srv, url := startEdge(t, st)

	ctx := newBrowser(t)
	console := collectConsole(ctx)
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v\nconsole: %s", what, err, console)
		}
	}
	// waitJS waits until the JavaScript expression is true.
	waitJS := func(what, expr string) {
		t.Helper()
		_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
		if err != nil {
			page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({url: location.href, history: history.length,
				rows: document.querySelectorAll('#repos tbody tr[data-id]').length, snapshot: document.querySelector('#snapshot-text')?.textContent,
				summary: document.querySelector('#summary')?.textContent, errors: [...document.querySelectorAll('.error:not([hidden])')].map(e => e.id + ': ' + e.textContent)})`))
			t.Fatalf("%s: %v\npage: %s\nconsole: %s", what, err, page, console)
		}
	}
	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
	rows := `document.querySelectorAll('#repos tbody tr[data-id]').length`

	run("load the page", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(url+"/?poll=0.25"))
	waitJS("the whole snapshot in the table", fmt.Sprintf("%s === %d", rows, len(snapA.Repositories)))
	waitJS("the snapshot version", fmt.Sprintf("document.querySelector('#snapshot-version')?.textContent === %q", ma.Version))
	if got := eval(`document.querySelector('#repos tbody tr a').href`); got != snapA.Repositories[0].HTMLURL {
		t.Errorf("first repository links to %s, want %s", got, snapA.Repositories[0].HTMLURL)
	}
	waitJS("the charts", `document.querySelectorAll('#chart-bytes rect.bar').length > 0 && document.querySelectorAll('#chart-repos rect.bar').length > 0`)
	if n := eval(`String(document.querySelectorAll('#chart-bytes rect.bar').length)`); n != strconv.Itoa(min(10, len(languagesOf(snapA)))) {
		t.Errorf("%s bars by bytes, want %d", n, min(10, len(languagesOf(snapA))))
	}
	// Every control has a label.
	if unlabelled := eval(`[...document.querySelectorAll('input, select')].filter(e => !e.labels || !e.labels.length).map(e => e.name).join(',')`); unlabelled != "" {
		t.Errorf("controls without a label: %s", unlabelled)
	}
	// A mark that a reload would wipe.
	run("mark the document", chromedp.Evaluate[chromedp.Void](`window.__sameDocument = true`))

	// A filter narrows the table and goes into the URL; one language also
	// gets its selected statistics.
	rustA := count(snapA, "rust")
	run("type a language", chromedp.SendKeys(chromedp.ID("f-language"), "rust"))
	waitJS("the table narrowed to Rust", fmt.Sprintf("%s === %d && location.search.includes('language=rust')", rows, rustA))
	waitJS("Rust's selected statistics", `!document.querySelector('#selected').hidden && document.querySelector('#selected-title').textContent.startsWith('Rust')`)
	if got := eval(`[...document.querySelectorAll('#chart-repos a[data-language]')].map(a => a.dataset.language).join(',')`); !strings.HasPrefix(got, "rust") {
		t.Errorf("bars by repositories under language=rust: %s", got)
	}

	// A value the API refuses: its message shows next to the control.
	run("open more filters", chromedp.Click(chromedp.CSS("#more summary")))
	run("type a negative bound", chromedp.SendKeys(chromedp.ID("f-min_stars"), "-1"))
	waitJS("the problem next to min_stars", `(() => {
		const e = document.querySelector('#err-min_stars');
		return !e.hidden && e.textContent.includes('must not be negative') &&
			document.querySelector('#f-min_stars').getAttribute('aria-invalid') === 'true' &&
			location.search.includes('min_stars=-1');
	})()`)
	run("clear the bound", chromedp.Evaluate[chromedp.Void](`(() => {
		const e = document.querySelector('#f-min_stars');
		e.value = '';
		e.dispatchEvent(new Event('change', {bubbles: true}));
	})()`))
	waitJS("the problem gone", fmt.Sprintf("document.querySelector('#err-min_stars').hidden && %s === %d && !location.search.includes('min_stars')", rows, rustA))

	// A new snapshot shows up without a reload.
	mb := publish(t, st, snapB)
	srv.Notify()
	waitJS("the new snapshot", fmt.Sprintf("document.querySelector('#snapshot-version')?.textContent === %q && %s === %d && window.__sameDocument === true",
		mb.Version, rows, count(snapB, "rust")))

	// Back in history (past the entry that typing min_stars made, which
	// clearing it replaced): the language filter goes, the table is whole.
	run("go back", chromedp.Evaluate[chromedp.Void](`history.go(-2)`))
	waitJS("the unfiltered table", fmt.Sprintf("%s === %d && !location.search.includes('language') && document.querySelector('#f-language').value === ''", rows, len(snapB.Repositories)))

	// The keyboard: the skip link comes before the first control and
	// takes focus to the table; Enter on a chart's bar filters by its
	// language.
	run("shift-tab from the first control", chromedp.Focus(chromedp.ID("f-q")), chromedp.KeyEvent("\t", chromedp.KeyModifiers(chromedp.ModifierShift)))
	waitJS("the skip link focused", `document.activeElement?.classList.contains('skip')`)
	run("enter on the skip link", chromedp.KeyEvent("\r"))
	waitJS("the table focused", `document.activeElement?.id === 'results'`)
	run("enter on a bar", chromedp.Evaluate[chromedp.Void](`document.querySelector('#chart-repos a[data-language="go"]').focus()`), chromedp.KeyEvent("\r"))
	waitJS("the table narrowed to Go", fmt.Sprintf("%s === %d && location.search.includes('language=go') && document.querySelector('#f-language').value === 'go'",
		rows, count(snapB, "go")))

	// A phone: no horizontal scrolling, every repository a card.
	run("a phone-width screen", chromedp.EmulateViewport(375, 800, chromedp.EmulateMobile))
	waitJS("the page fits", `document.documentElement.scrollWidth <= 375 && window.innerWidth === 375 && getComputedStyle(document.querySelector('#repos tbody tr')).display === 'block'`)
	waitJS("the charts redrawn at their width", `(() => {
		const svg = document.querySelector('#chart-bytes');
		return Math.abs(svg.viewBox.baseVal.width - svg.parentElement.clientWidth) < 2 && svg.querySelector('rect.bar');
	})()`)
	phone, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	writeShot(t, filepath.Join(t.TempDir(), "phone.png"), phone)

	run("a desktop screen", chromedp.EmulateViewport(1280, 900))
	run("fewer rows for the picture", chromedp.Navigate(url+"/?limit=12&poll=0.25"))
	waitJS("the table", rows+" === 12")
	waitJS("the charts", `document.querySelectorAll('#chart-bytes rect.bar').length > 0`)
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "screenshot.png")
	if os.Getenv("UPDATE_SCREENSHOT") == "1" {
		out = filepath.Join("..", "..", "docs", "screenshot.png")
	}
	writeShot(t, out, shot)

	for _, m := range console.errors() {
		t.Errorf("console: %s", m)
	}
}

func writeShot(t *testing.T, path string, png []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(png))
}

// newBrowser starts headless Chromium with a fresh profile; it stops when
// the test ends, before the profile's directory is removed.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	profile := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTime()
		cancelTab()
		cancelAlloc() // waits for the browser to exit
	})
	// Start the browser now, so that its start is not charged to the
	// first action.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	return ctx
}

// consoleLog keeps what the page said on its console: errors, warnings
// and uncaught exceptions.
type consoleLog struct {
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

func collectConsole(ctx context.Context) *consoleLog {
	c := &consoleLog{}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			c.mu.Lock()
			c.msgs = append(c.msgs, m)
			c.mu.Unlock()
		}
	}()
	return c
}

// errors are the console errors and exceptions, but for the network log's
// line about the 400 the test asked for on purpose.
func (c *consoleLog) errors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.msgs {
		if m.Type != chromedp.ConsoleError && m.Type != chromedp.ConsoleException {
			continue
		}
		if m.Source == "network" && strings.Contains(m.Text, "status of 400") && strings.Contains(m.URL, "min_stars=-1") {
			continue
		}
		out = append(out, fmt.Sprintf("%s (%s %s:%d)", m, m.Source, m.URL, m.Line))
	}
	return out
}

func (c *consoleLog) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, m := range c.msgs {
		fmt.Fprintf(&b, "\n  %s (%s %s:%d)", m, m.Source, m.URL, m.Line)
	}
	return b.String()
}

// startEdge serves st on 127.0.0.1:0 until the test ends, and returns
// once it serves a snapshot. The edge polls the store only when told
// (Notify), so that the test says when a new snapshot appears.
func startEdge(t *testing.T, st snapshots.Store) (*edge.Server, string) {
	t.Helper()
	srv, err := edge.New(edge.Config{
		PollInterval: time.Hour,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		Registry:     prometheus.NewRegistry(),
	}, st)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	url := "http://" + ln.Addr().String()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return srv, url
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the edge served no snapshot")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func publish(t *testing.T, st snapshots.Store, s *snapshots.Snapshot) snapshots.Manifest {
	t.Helper()
	m, ok, err := snapshots.Publish(context.Background(), st, s)
	if err != nil || !ok {
		t.Fatalf("publish: %v (published %v)", err, ok)
	}
	return m
}

// makeSnapshot builds n repositories generated at at, the oldest created
// at origin and each other a minute and a half after the one before. A
// repository depends only on its position counted from the oldest, so
// that a larger n adds newer repositories on top of the same ones.
func makeSnapshot(origin, at time.Time, n int) *snapshots.Snapshot {
	owners := []string{"octo-labs", "ada-l", "nimbus-dev", "kestrel", "quillworks", "tinyforge", "mira-k"}
	words := []string{"aurora", "pocket", "lumen", "gridwalk", "tern", "saltbox", "ferrous", "glint", "orbit", "pylon",
		"cask", "drift", "ember", "fjord", "harbor", "isle", "juniper", "kiln", "larch", "moss", "nook", "opal", "quartz", "rune",
		"sable", "thistle", "umber"}
	suffixes := []string{"cli", "db", "ui", "kit", "api", "bot", "lab", "sync"}
	stacks := [][]struct {
		name  string
		bytes int64
	}{
		{{"Go", 48210}, {"Shell", 1204}, {"Makefile", 310}},
		{{"Rust", 91344}, {"Shell", 820}},
		{{"Python", 30210}, {"Jupyter Notebook", 120400}, {"Shell", 200}},
		{{"TypeScript", 64020}, {"JavaScript", 8120}, {"CSS", 4210}, {"HTML", 1890}},
		{{"JavaScript", 12011}, {"HTML", 4020}, {"CSS", 2001}},
		{{"C++", 210330}, {"C", 40220}, {"CMake", 3100}},
		{{"Rust", 18200}, {"TypeScript", 9200}, {"Dockerfile", 410}},
		{{"Java", 80400}, {"Kotlin", 20300}},
		{{"Go", 12040}, {"Dockerfile", 520}, {"HCL", 2300}},
		{{"Python", 5210}},
		{{"Swift", 40120}, {"Ruby", 900}},
		{{"Zig", 20400}},
	}
	licenses := []*snapshots.License{
		{Key: "mit", SPDXID: "MIT", Name: "MIT License"},
		{Key: "apache-2.0", SPDXID: "Apache-2.0", Name: "Apache License 2.0"},
		nil,
		{Key: "gpl-3.0", SPDXID: "GPL-3.0", Name: "GNU General Public License v3.0"},
		{Key: "bsd-3-clause", SPDXID: "BSD-3-Clause", Name: "BSD 3-Clause \"New\" or \"Revised\" License"},
	}
	descriptions := []string{"A small, fast command-line tool", "Notes and experiments", "Self-hosted dashboard for tiny teams",
		"Bindings and examples ☃", "Yet another <static> site generator & more", ""}
	s := &snapshots.Snapshot{GeneratedAt: at, Source: snapshots.Source{API: "https://api.github.com/", Strategy: "search"}}
	for k := n - 1; k >= 0; k-- {
		owner := owners[k%len(owners)]
		name := words[k%len(words)] + "-" + suffixes[(k/3)%len(suffixes)]
		r := snapshots.Repository{
			ID: int64(900000 + k), FullName: owner + "/" + name, Owner: owner, Repository: name,
			HTMLURL:   "https://github.com/" + owner + "/" + name,
			CreatedAt: origin.Add(time.Duration(k) * 90 * time.Second), UpdatedAt: origin.Add(time.Duration(k) * 95 * time.Second),
			PushedAt:   origin.Add(time.Duration(k) * 95 * time.Second),
			Visibility: "public", AllowForking: k%4 != 0, HasIssues: true, DefaultBranch: "main",
			StargazersCount: (k * 7) % 23, ForksCount: k % 5, OpenIssuesCount: k % 4, Size: 40 + 13*k,
			Fork: k%9 == 4, Archived: k == 5,
			License: licenses[k%len(licenses)], LanguagesStatus: snapshots.LanguagesOK,
		}
		if d := descriptions[k%len(descriptions)]; d != "" {
			r.Description = &d
		}
		if k%11 == 7 {
			r.LanguagesStatus = snapshots.LanguagesPending
		} else {
			stack := stacks[k%len(stacks)]
			r.Languages = map[string]snapshots.Language{}
			for j, l := range stack {
				r.Languages[snapshots.LanguageKey(l.name)] = snapshots.Language{Name: l.name, Bytes: l.bytes + int64(97*k*(j+1))}
			}
			r.Language = &stack[0].name
		}
		s.Repositories = append(s.Repositories, r)
	}
	return s
}

// count is how many repositories of s have language key among theirs.
func count(s *snapshots.Snapshot, key string) int {
	n := 0
	for _, r := range s.Repositories {
		if _, ok := r.Languages[key]; ok {
			n++
		}
	}
	return n
}

func languagesOf(s *snapshots.Snapshot) map[string]bool {
	m := map[string]bool{}
	for _, r := range s.Repositories {
		for k := range r.Languages {
			m[k] = true
		}
	}
	return m
}
