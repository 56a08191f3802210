// Package snapshots owns what a published snapshot is: the document, its
// versioned names, its precompressed encodings, and the Store it lives in.
//
// A snapshot is written once and never changed; latest.json is the only
// object ever overwritten, and it is written last, so a reader that follows
// latest.json never sees a version that is not complete. Everything an edge
// needs to serve — and every edge derives the same ETags from — comes from
// the bytes this package writes, which is why encoding is deterministic.
package snapshots
