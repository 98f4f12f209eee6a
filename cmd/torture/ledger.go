package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ledger records every write the service acknowledged with a 2xx, so that
// after a fault the database and the upload directory can be checked
// against it: what was acknowledged must be there exactly, what was
// acknowledged as deleted must be gone.
type ledger struct {
	mu       sync.Mutex
	users    map[string]string // id -> email
	sessions map[string]string // session id -> user id
	files    map[string]apiFile
	deleted  map[string]bool
	// live are acknowledged uploads not yet deleted or being deleted, by owner.
	live map[string][]string
}

func newLedger() *ledger {
	return &ledger{users: map[string]string{}, sessions: map[string]string{}, files: map[string]apiFile{},
		deleted: map[string]bool{}, live: map[string][]string{}}
}

func (l *ledger) addUser(id, email string) {
	l.mu.Lock()
	l.users[id] = email
	l.mu.Unlock()
}

func (l *ledger) addSession(sid, uid string) {
	l.mu.Lock()
	l.sessions[sid] = uid
	l.mu.Unlock()
}

func (l *ledger) addFile(owner string, f apiFile) {
	l.mu.Lock()
	l.files[f.ID] = f
	l.live[owner] = append(l.live[owner], f.ID)
	l.mu.Unlock()
}

// takeFile removes a random live file of owner from the pool (so no two
// workers delete the same one); "" when there is none.
func (l *ledger) takeFile(rng *rand.Rand, owner string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := l.live[owner]
	if len(ids) == 0 {
		return ""
	}
	i := rng.IntN(len(ids))
	id := ids[i]
	ids[i] = ids[len(ids)-1]
	l.live[owner] = ids[:len(ids)-1]
	return id
}

// forget drops a file whose deletion got no answer: it may or may not exist
// now, so it is no longer checked either way.
func (l *ledger) forget(id string) {
	l.mu.Lock()
	delete(l.files, id)
	l.mu.Unlock()
}

func (l *ledger) markDeleted(id string) {
	l.mu.Lock()
	l.deleted[id] = true
	delete(l.files, id)
	l.mu.Unlock()
}

func (l *ledger) counts() (users, sessions, files, deleted int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.users), len(l.sessions), len(l.files), len(l.deleted)
}

// sessionID reads the sid claim of an access token (no verification: the
// token came from the service).
func sessionID(tok string) string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Sid string `json:"sid"`
	}
	json.Unmarshal(b, &c)
	return c.Sid
}

// verifyLedger checks the database and upload directory against l and
// against each other. It returns how many acknowledged writes are not
// reflected (lost) and every other inconsistency found (half-written state).
func verifyLedger(ctx context.Context, engine, dbDSN, uploadDir string, l *ledger) (lost int, problems []string, err error) {
	users, err := queryStrings(ctx, engine, dbDSN, "SELECT id FROM users")
	if err != nil {
		return 0, nil, err
	}
	sessions, err := queryStrings(ctx, engine, dbDSN, "SELECT id FROM sessions")
	if err != nil {
		return 0, nil, err
	}
	rows, err := fileRows(ctx, engine, dbDSN)
	if err != nil {
		return 0, nil, err
	}
	userSet, sessSet := set(users), set(sessions)
	l.mu.Lock()
	defer l.mu.Unlock()
	var lostLines []string
	for id, email := range l.users {
		if !userSet[id] {
			lost++
			lostLines = append(lostLines, "registered user "+id+" ("+email+") missing")
		}
	}
	for sid := range l.sessions {
		if !sessSet[sid] {
			lost++
			lostLines = append(lostLines, "login session "+sid+" missing")
		}
	}
	for id, f := range l.files {
		r, ok := rows[id]
		if !ok {
			lost++
			lostLines = append(lostLines, "uploaded file "+id+" has no row")
			continue
		}
		if r.size != f.Size || r.sha != f.SHA256 {
			lost++
			lostLines = append(lostLines, fmt.Sprintf("file %s row says %d bytes %s, upload acknowledged %d bytes %s", id, r.size, r.sha, f.Size, f.SHA256))
		}
	}
	for id := range l.deleted {
		if _, ok := rows[id]; ok {
			lost++
			lostLines = append(lostLines, "deleted file "+id+" still has a row")
		}
	}
	sort.Strings(lostLines)
	problems = append(problems, capLines(lostLines, 10)...)

	// Every row has its complete file (an acknowledged upload without it is
	// lost too).
	var half []string
	for id, r := range rows {
		b, err := os.ReadFile(filepath.Join(uploadDir, filepath.FromSlash(r.key)))
		msg := ""
		switch {
		case err != nil:
			msg = fmt.Sprintf("file row %s without its content: %v", id, err)
		case int64(len(b)) != r.size || sha256Hex(b) != r.sha:
			msg = fmt.Sprintf("file %s content is %d bytes %s, row says %d bytes %s", id, len(b), sha256Hex(b)[:12], r.size, r.sha[:12])
		default:
			continue
		}
		half = append(half, msg)
		if _, acked := l.files[id]; acked {
			lost++
		}
	}
	// Every stored file has its row; nothing temporary is left.
	keys := map[string]bool{}
	for _, r := range rows {
		keys[r.key] = true
	}
	filepath.WalkDir(uploadDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(uploadDir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case strings.HasSuffix(rel, ".tmp"):
			half = append(half, "temporary upload left behind: "+rel)
		case !keys[rel]:
			half = append(half, "stored file without a row: "+rel)
		}
		return nil
	})
	sort.Strings(half)
	problems = append(problems, capLines(half, 10)...)
	return lost, problems, nil
}

func capLines(lines []string, n int) []string {
	if len(lines) <= n {
		return lines
	}
	return append(lines[:n:n], fmt.Sprintf("... and %d more", len(lines)-n))
}

func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

type fileRow struct {
	size int64
	sha  string
	key  string
}

func fileRows(ctx context.Context, engine, dbDSN string) (map[string]fileRow, error) {
	ids, err := queryStrings(ctx, engine, dbDSN, "SELECT id || '|' || CAST(size AS TEXT) || '|' || sha256 || '|' || storage_key FROM files")
	if err != nil {
		return nil, err
	}
	out := map[string]fileRow{}
	for _, line := range ids {
		p := strings.Split(line, "|")
		if len(p) != 4 {
			return nil, errors.New("unexpected files row: " + line)
		}
		var size int64
		fmt.Sscan(p[1], &size)
		out[p[0]] = fileRow{size: size, sha: p[2], key: p[3]}
	}
	return out, nil
}

// ageUploads moves every file's modification time past the upload sweep's
// grace period (file.SweepGrace, 15 minutes), as if the instance had stayed
// down that long, so the sweep at the next start judges every leftover.
func ageUploads(dir string) error {
	old := time.Now().Add(-16 * time.Minute)
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		return os.Chtimes(p, old, old)
	})
}

// waitSwept waits until the upload directory holds neither temporary files
// nor files without a row (the sweep runs in the background at start).
func waitSwept(ctx context.Context, engine, dbDSN, dir string, timeout time.Duration) []string {
	deadline := time.Now().Add(timeout)
	for {
		var left []string
		rows, err := fileRows(ctx, engine, dbDSN)
		if err != nil {
			return []string{err.Error()}
		}
		keys := map[string]bool{}
		for _, r := range rows {
			keys[r.key] = true
		}
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			rel, _ := filepath.Rel(dir, p)
			if rel = filepath.ToSlash(rel); strings.HasSuffix(rel, ".tmp") || !keys[rel] {
				left = append(left, rel)
			}
			return nil
		})
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		select {
		case <-ctx.Done():
			return left
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// account is a registered, logged-in user of the load.
type account struct {
	id, email, token string
}

// makeAccounts registers and logs in n users.
func makeAccounts(ctx context.Context, c *apiClient, prefix string, n int, l *ledger) ([]account, error) {
	var out []account
	for i := range n {
		email := fmt.Sprintf("%s-%d@torture.example", prefix, i)
		u, r, err := c.register(ctx, email, fmt.Sprintf("%s%d", prefix, i), nil)
		if err != nil || r.status != 201 {
			return nil, fmt.Errorf("register %s: %v %s", email, err, statusOf(r))
		}
		tok, r, err := c.login(ctx, email)
		if err != nil || r.status != 200 {
			return nil, fmt.Errorf("login %s: %v %s", email, err, statusOf(r))
		}
		if l != nil {
			l.addUser(u.ID, email)
			l.addSession(sessionID(tok), u.ID)
		}
		out = append(out, account{id: u.ID, email: email, token: tok})
	}
	return out, nil
}

// mixOp is one request of the write mix: register, login, upload or delete.
// It records acknowledged writes in l and returns the answer (nil and an
// error when there was none).
func mixOp(ctx context.Context, c *apiClient, rng *rand.Rand, seq *atomic.Int64, prefix string, accts []account, l *ledger) (string, *response, error) {
	n := seq.Add(1)
	a := accts[rng.IntN(len(accts))]
	switch p := rng.IntN(100); {
	case p < 20:
		email := fmt.Sprintf("%s-r%d@torture.example", prefix, n)
		u, r, err := c.register(ctx, email, fmt.Sprintf("%sr%d", prefix, n), nil)
		if err == nil && r.status == 201 {
			l.addUser(u.ID, email)
		}
		return "register", r, err
	case p < 40:
		tok, r, err := c.login(ctx, a.email)
		if err == nil && r.status == 200 {
			l.addSession(sessionID(tok), a.id)
		}
		return "login", r, err
	case p < 80:
		content := textContent(fmt.Sprintf("%s-%d-%d", prefix, n, rng.Uint64()), 200+rng.IntN(16<<10))
		f, r, err := c.upload(ctx, a.token, fmt.Sprintf("f%d.txt", n), content)
		if err == nil && r.status == 201 {
			if f.SHA256 != sha256Hex(content) || f.Size != int64(len(content)) {
				return "upload", r, fmt.Errorf("upload acknowledged %d bytes %s for %d bytes %s", f.Size, f.SHA256, len(content), sha256Hex(content))
			}
			l.addFile(a.id, f)
		}
		return "upload", r, err
	default:
		id := l.takeFile(rng, a.id)
		if id == "" {
			r, err := c.doJSON(ctx, "GET", "/api/v1/files?limit=5", a.token, nil, nil)
			return "list", r, err
		}
		r, err := c.do(ctx, "DELETE", "/api/v1/files/"+id, http.Header{"Authorization": {"Bearer " + a.token}}, nil)
		switch {
		case err == nil && r.status == 204:
			l.markDeleted(id)
		case err == nil && r.status == 404:
			// An acknowledged upload is gone: left in the ledger, the
			// check reports it as lost.
		default:
			// Unknown outcome: the file may or may not be gone now.
			l.forget(id)
		}
		return "delete", r, err
	}
}
