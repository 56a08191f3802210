// Package edge serves the newest snapshot from memory to clients and CDNs.
//
// That is its one job. A Server follows a snapshots.Store, builds
// everything a request could need when a snapshot arrives — per-repository
// JSON, the filters index, the unfiltered /repos and /stats bodies in every
// encoding, their ETags — and swaps it in atomically, so that serving a
// cached answer is a map lookup and a few header copies with no
// allocation. A request reads the current snapshot once and answers from
// it alone: it can never see two snapshots at once.
//
// What a CDN needs to do its part comes with every answer: a strong ETag
// that every edge node derives the same way, Last-Modified, Cache-Control
// that expires when the next snapshot is expected (and never, for a named
// version), Vary: Accept-Encoding, and 304s for conditional requests.
//
// Querying (parameters, matching, statistics) belongs to package filters;
// what a snapshot is and where it is stored belongs to package snapshots.
package edge
