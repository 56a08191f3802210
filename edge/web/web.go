// Package web is the page the edge serves at / to browse the newest
// repositories and their language statistics: plain HTML, CSS and
// JavaScript, embedded in the binary, that ask the edge's own API
// (/repos, /stats, /snapshots/latest) and nothing else. There is no
// framework and no build step.
//
// The page keeps its filters in its URL, one query parameter for each of
// the API's, so that a view can be shared; it shows the API's problem
// messages next to the control at fault, and revalidates
// /snapshots/latest with its ETag to follow new snapshots without a
// reload. A page-only parameter, poll, sets that interval in seconds
// (default 30).
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"path"
)

//go:embed static
var static embed.FS

// File is one file of the page, ready to serve.
type File struct {
	Path         string // the URL path it is served at
	ContentType  string
	CacheControl string
	Body         []byte
}

// Cache-Control of the page, which names its assets by content (a ?v=
// digest), and of the assets.
const (
	pageCacheControl  = "no-cache"
	assetCacheControl = "public, max-age=3600, stale-while-revalidate=86400"
)

var assets = []struct{ name, contentType string }{
	{"app.css", "text/css; charset=utf-8"},
	{"app.js", "text/javascript; charset=utf-8"},
}

// Files returns the page and its assets. In index.html, each {{name}} of
// an asset is replaced by a digest of its bytes, so that a new build's
// page asks for new assets.
func Files() []File {
	index := read("index.html")
	out := make([]File, 0, len(assets)+1)
	for _, a := range assets {
		body := read(a.name)
		sum := sha256.Sum256(body)
		index = bytes.ReplaceAll(index, []byte("{{"+a.name+"}}"), []byte(hex.EncodeToString(sum[:6])))
		out = append(out, File{Path: "/assets/" + a.name, ContentType: a.contentType, CacheControl: assetCacheControl, Body: body})
	}
	return append([]File{{Path: "/", ContentType: "text/html; charset=utf-8", CacheControl: pageCacheControl, Body: index}}, out...)
}

func read(name string) []byte {
	b, err := static.ReadFile(path.Join("static", name))
	if err != nil {
		panic(err) // embedded: cannot fail
	}
	return b
}
