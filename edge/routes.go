package edge

import (
	"bytes"

	"github.com/freshrepos/freshrepos/edge/web"
)

// route is what a path asks for; it labels metrics.
type route uint8

const (
	routeUnknown route = iota
	routePing
	routeHealthz
	routeReadyz
	routeRepos
	routeStats
	routeLatest
	routeDownload
	routeOpenAPI
	routeWeb // the page at / and its assets
	numRoutes
)

var routeNames = [numRoutes]string{"unknown", "ping", "healthz", "readyz", "repos", "stats", "snapshots_latest", "snapshots_download", "openapi", "web"}

// routePatterns are the paths served, as the OpenAPI document spells
// them; a test checks that the document describes each.
var routePatterns = []string{
	"/ping", "/healthz", "/readyz", "/repos", "/stats", "/snapshots/latest",
	"/snapshots/{version}/repos.json", "/snapshots/{version}/repos.json.gz", "/snapshots/{version}/repos.json.zst",
	"/openapi.json", "/", "/assets/app.css", "/assets/app.js",
}

// download is a file of a version: /snapshots/{version}/{name}.
type download struct {
	version []byte // a valid version name
	// enc is the file's encoding; negotiated says the path is repos.json,
	// which is answered in whichever encoding the client prefers.
	enc        encoding
	negotiated bool
}

const snapshotsPrefix = "/snapshots/"

// matchRoute routes a path, which fasthttp has already normalized. A
// download's version is checked against the version pattern here, so no
// other string ever reaches the store.
func matchRoute(path []byte) (route, download) {
	switch string(path) {
	case "/ping":
		return routePing, download{}
	case "/healthz":
		return routeHealthz, download{}
	case "/readyz":
		return routeReadyz, download{}
	case "/repos":
		return routeRepos, download{}
	case "/stats":
		return routeStats, download{}
	case "/snapshots/latest":
		return routeLatest, download{}
	case "/openapi.json":
		return routeOpenAPI, download{}
	}
	if webFiles[string(path)] != nil {
		return routeWeb, download{}
	}
	if !bytes.HasPrefix(path, []byte(snapshotsPrefix)) {
		return routeUnknown, download{}
	}
	version, name, ok := bytes.Cut(path[len(snapshotsPrefix):], []byte("/"))
	if !ok || !validVersion(version) {
		return routeUnknown, download{}
	}
	d := download{version: version}
	switch string(name) {
	case "repos.json":
		d.negotiated = true
	case "repos.json.gz":
		d.enc = encGzip
	case "repos.json.zst":
		d.enc = encZstd
	default:
		return routeUnknown, download{}
	}
	return routeDownload, d
}

// webFile is a file of the page (package web) in every encoding.
type webFile struct {
	res                       resource
	contentType, cacheControl []byte
}

// webFiles are the page's files by path, compressed once.
var webFiles = func() map[string]*webFile {
	m := make(map[string]*webFile)
	for _, f := range web.Files() {
		m[f.Path] = &webFile{newResource(f.Body, "web", f.Path+"\x00"+string(f.Body), effortBest), []byte(f.ContentType), []byte(f.CacheControl)}
	}
	return m
}()

// validVersion is snapshots.ValidVersion for bytes, checked by hand so
// that it allocates nothing: 8 digits, T, 6 digits, Z, -, 12 lower-case
// hex digits. A test keeps the two in agreement.
func validVersion(v []byte) bool {
	const layout = "dddddddd" + "T" + "dddddd" + "Z-" + "xxxxxxxxxxxx"
	if len(v) != len(layout) {
		return false
	}
	for i, c := range v {
		switch layout[i] {
		case 'd':
			if c < '0' || c > '9' {
				return false
			}
		case 'x':
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		default:
			if c != layout[i] {
				return false
			}
		}
	}
	return true
}
