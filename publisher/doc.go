// Package publisher keeps a store's latest.json fresh: each run asks GitHub
// for the newest public repositories, fetches their languages in parallel
// within GitHub's rate limits, and publishes one snapshot through package
// snapshots. Spending GitHub's budget well is most of its job: repositories
// that did not change cost nothing, unchanged languages cost a free 304, and
// what the budget cannot cover is published as pending and asked first next
// time. Its fake GitHub lives in publisher/fakegithub.
package publisher
