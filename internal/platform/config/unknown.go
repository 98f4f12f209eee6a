package config

import (
	"strings"
)

// otherSoftware are variables of other programs that share a prefix with
// ours; they are never reported as look-alikes.
var otherSoftware = map[string]bool{
	"HTTP_PROXY": true, "HTTPS_PROXY": true, "NO_PROXY": true, "ALL_PROXY": true,
	"SSL_CERT_FILE": true, "SSL_CERT_DIR": true,
}

// LookAlikes reports, as warnings, the names that the configuration does not
// read but that look like its variables: a misspelt LOG_LEVL or ACCES_TOKEN_TTL
// would otherwise be ignored without a word and the default used instead.
// A name looks like ours when it shares the first word of one of our
// variables (LOG_ in LOG_LEVEL) or is a few edits away from one. source says
// where the names come from ("the environment", ".env").
func LookAlikes(names []string, source string) []Problem {
	known := Vars()
	isKnown := make(map[string]bool, len(known))
	families := map[string]bool{}
	for _, k := range known {
		isKnown[k] = true
		if first, _, ok := strings.Cut(k, "_"); ok {
			families[first] = true
		}
	}
	var out []Problem
	var scratch []int // editDistance's rows, reused
	seen := map[string]bool{}
	for _, name := range names {
		if name == "" || seen[name] || otherSoftware[name] || isKnown[name] {
			continue
		}
		seen[name] = true
		first, _, hasWord := strings.Cut(name, "_")
		family := hasWord && families[first]
		// A name outside our families counts only within 2 edits, so
		// the distance is worked out no further than that.
		limit := 2
		if family {
			limit = maxSuggest
		}
		best, dist := closest(name, known, limit, &scratch)
		near := dist <= 1 || (dist <= 2 && len(name) >= 10)
		if !near && !family {
			continue
		}
		msg := "is set in " + source + " but is not a setting of this service, so it has no effect"
		if dist <= maxSuggest {
			msg += "; did you mean " + best + "?"
		}
		out = append(out, Problem{Var: name, Message: msg})
	}
	return out
}

// maxSuggest is the largest edit distance that LookAlikes acts on.
const maxSuggest = 3

// closest returns the known name with the smallest edit distance to name, if
// that distance is at most limit; otherwise the distance is only known to
// be larger. Names whose lengths differ by more than limit are that far
// apart without computing it, and a comparison stops as soon as it cannot
// end within limit: start-up compares every environment variable with
// every setting, and would otherwise spend milliseconds on it.
func closest(name string, known []string, limit int, scratch *[]int) (string, int) {
	best, bestDist := "", limit+1
	for _, k := range known {
		if abs(len(k)-len(name)) >= bestDist {
			continue
		}
		if d := editDistance(name, k, bestDist-1, scratch); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best, bestDist
}

func abs(n int) int { return max(n, -n) }

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of two neighbours each cost one. Past
// limit it stops and returns limit+1. scratch holds the rows from one call
// to the next (nil: one is made).
func editDistance(a, b string, limit int, scratch *[]int) int {
	n := len(b) + 1
	if scratch == nil {
		scratch = new([]int)
	}
	if cap(*scratch) < 3*n {
		*scratch = make([]int, 3*n)
	}
	rows := (*scratch)[:3*n]
	prev2, prev, cur := rows[:n], rows[n:2*n], rows[2*n:]
	for j := range prev {
		prev[j] = j
	}
	prevMin := 0
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		curMin := i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			curMin = min(curMin, cur[j])
		}
		// Every later entry is at least the smallest of the two rows
		// before it: once both are past limit, so is the distance.
		if curMin > limit && prevMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
		prevMin = curMin
	}
	return min(prev[len(b)], limit+1)
}
