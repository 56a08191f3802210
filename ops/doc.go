// Package ops is what an operator reads and the public must not: Prometheus
// metrics and Go's profiles, served on an address of their own.
//
// The publisher and the edge both serve it, so that one address layout
// (/metrics, /debug/pprof/) holds for every process.
package ops
