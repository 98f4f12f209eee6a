package config

import (
	"slices"
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
	families := map[string]bool{}
	for _, k := range known {
		if first, _, ok := strings.Cut(k, "_"); ok {
			families[first] = true
		}
	}
	var out []Problem
	seen := map[string]bool{}
	for _, name := range names {
		if name == "" || seen[name] || otherSoftware[name] || slices.Contains(known, name) {
			continue
		}
		seen[name] = true
		first, _, hasWord := strings.Cut(name, "_")
		best, dist := closest(name, known)
		near := dist <= 1 || (dist <= 2 && len(name) >= 10)
		if !near && !(hasWord && families[first]) {
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
// that distance is at most maxSuggest; otherwise the distance is only known
// to be larger. Names whose lengths differ by more than maxSuggest are that
// far apart without computing it, which keeps start-up from spending
// milliseconds comparing every environment variable with every setting.
func closest(name string, known []string) (string, int) {
	best, bestDist := "", maxSuggest+1
	for _, k := range known {
		if abs(len(k)-len(name)) > maxSuggest {
			continue
		}
		if d := editDistance(name, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best, bestDist
}

func abs(n int) int { return max(n, -n) }

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and swaps of two neighbours each cost one.
func editDistance(a, b string) int {
	n := len(b) + 1
	rows := make([]int, 3*n)
	prev2, prev, cur := rows[:n], rows[n:2*n], rows[2*n:]
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
