// Package filters answers the /repos and /stats queries of one snapshot:
// it parses a query string into a Query with a canonical form, and an Index
// built once per snapshot selects, orders and summarises the repositories
// that match it. It does no I/O, so the edge can call it on every uncached
// request and tests can check it against a plain reference.
//
// Matching rules, each chosen so that a query means one thing:
//
//   - Comma lists (language, primary_language, license, owner, topic,
//     fields) match any of their items; repeating the parameter adds items.
//     Items are trimmed of spaces, empty items are dropped, and a value with
//     no items left is an error. Every other parameter may be given once.
//   - "Case-insensitive" means compared after strings.ToLower.
//   - language matches a repository whose languages map has the key;
//     a repository whose languages are null (pending or unavailable)
//     matches no language. primary_language matches GitHub's language field.
//   - license matches the key or SPDX id, or a family: the key starts with
//     the value and a hyphen (gpl matches gpl-3.0, not lgpl-3.0). The item
//     none matches repositories without a license.
//   - name is a substring of full_name; q a substring of full_name,
//     description or any topic. Their values are not trimmed.
//   - min_* and max_* bounds are inclusive. *_after is inclusive (>=) and
//     *_before exclusive (<), so created_after=D&created_before=D+1 is the
//     day D. A date YYYY-MM-DD is midnight UTC; times follow RFC 3339 as Go
//     parses it (upper-case T and Z), from year 0000 to 9999 in UTC.
//   - Counts and offset are integers from 0 to 2147483647; a zero minimum
//     is no bound. limit is 0..1000 (0 counts without listing); without it
//     every match is listed.
//   - sort orders by its key then by id, so the order is total; order
//     reverses both. The default order is desc, except for name (asc).
//
// Values must be valid UTF-8 without control characters.
package filters
