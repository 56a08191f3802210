// Package fakegithub stands in for the GitHub REST API wherever GitHub cannot be reached: tests,
// demos and benchmarks point go-github at it and see the same JSON, headers, pagination, rate
// limits and failures as on api.github.com for the few endpoints freshrepos uses
// (search/repositories, repositories, repos/{owner}/{repo}, its languages, rate_limit).
//
// Its data is either a deterministic synthetic stream of newly created public repositories or a
// replay of recorded GitHub responses.
package fakegithub
