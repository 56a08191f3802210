package publisher

import (
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/freshrepos/freshrepos/snapshots"
)

// toSnapshot maps GitHub's repository object to the published one. Its
// languages are filled in later.
func toSnapshot(r *github.Repository) snapshots.Repository {
	out := snapshots.Repository{
		ID:              r.GetID(),
		FullName:        r.GetFullName(),
		Owner:           r.GetOwner().GetLogin(),
		Repository:      r.GetName(),
		Description:     r.Description,
		HTMLURL:         r.GetHTMLURL(),
		Homepage:        r.Homepage,
		CreatedAt:       r.GetCreatedAt().Time,
		UpdatedAt:       r.GetUpdatedAt().Time,
		PushedAt:        r.GetPushedAt().Time,
		Language:        r.Language,
		LanguagesStatus: snapshots.LanguagesPending,
		Topics:          r.Topics,
		Fork:            r.GetFork(),
		Archived:        r.GetArchived(),
		IsTemplate:      r.GetIsTemplate(),
		AllowForking:    r.GetAllowForking(),
		Visibility:      r.GetVisibility(),
		HasIssues:       r.GetHasIssues(),
		HasProjects:     r.GetHasProjects(),
		HasDownloads:    r.GetHasDownloads(),
		HasWiki:         r.GetHasWiki(),
		HasPages:        r.GetHasPages(),
		HasDiscussions:  r.GetHasDiscussions(),
		OpenIssuesCount: r.GetOpenIssuesCount(),
		StargazersCount: r.GetStargazersCount(),
		WatchersCount:   r.GetWatchersCount(),
		ForksCount:      r.GetForksCount(),
		Size:            r.GetSize(),
		DefaultBranch:   r.GetDefaultBranch(),
	}
	if out.Owner == "" || out.Repository == "" {
		if o, n, ok := strings.Cut(out.FullName, "/"); ok {
			out.Owner, out.Repository = o, n
		}
	}
	if out.Visibility == "" && !r.GetPrivate() {
		out.Visibility = "public"
	}
	if out.PushedAt.IsZero() {
		out.PushedAt = out.CreatedAt
	}
	if out.UpdatedAt.IsZero() {
		out.UpdatedAt = out.CreatedAt
	}
	if l := r.GetLicense(); l != nil && l.GetKey() != "" {
		out.License = &snapshots.License{Key: l.GetKey(), SPDXID: l.GetSPDXID(), Name: l.GetName()}
	}
	return out
}
