// Package envflag reads the defaults of flags from environment variables.
//
// A variable that is set but does not parse is an error, kept for the
// caller to report at start-up, rather than a silent fall back to the
// default: a deployment that misspells a duration must not start with
// another one. The edge and the publisher read theirs the same way, so
// that their variables, which sit side by side in one deployment, follow
// one rule.
package envflag
