package file_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"secureapi/internal/audit"
	"secureapi/internal/file"
	"secureapi/internal/file/filetest"
	"secureapi/internal/identity"
	"secureapi/internal/platform/apperr"
	"secureapi/internal/store"
	"secureapi/internal/store/sqlstore"
	"secureapi/internal/testutil/testdb"
	"secureapi/internal/user"
)

type fixture struct {
	t      *testing.T
	ctx    context.Context
	stores store.Stores
	audit  *audit.Service
	dir    string
	svc    *file.Service
	alice  identity.Principal
	bob    identity.Principal
	admin  identity.Principal
}

type options struct {
	maxBytes, quota int64
	tx              func(file.UnitOfWork) file.UnitOfWork
	now             func() time.Time
}

func newFixture(t *testing.T, db store.DB, o options) *fixture {
	t.Helper()
	if o.maxBytes == 0 {
		o.maxBytes = 1 << 20
	}
	if o.quota == 0 {
		o.quota = 4 << 20
	}
	f := &fixture{t: t, ctx: context.Background(), stores: store.New(db), dir: filepath.Join(t.TempDir(), "uploads")}
	f.audit = audit.NewService(f.stores.Audit, slog.New(slog.DiscardHandler), nil)
	f.alice = f.user("alice", user.RoleUser)
	f.bob = f.user("bob", user.RoleUser)
	f.admin = f.user("root", user.RoleAdmin)
	var tx file.UnitOfWork = store.Unit(db, func(tx *sqlstore.Tx) file.Stores { return tx })
	if o.tx != nil {
		tx = o.tx(tx)
	}
	svc, err := file.NewService(file.Deps{
		Store: f.stores.Files, Tx: tx, Audit: f.audit, Dir: f.dir, MaxBytes: o.maxBytes, Quota: o.quota, Now: o.now,
		Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

func (f *fixture) user(name string, role user.Role) identity.Principal {
	f.t.Helper()
	now := time.Now().UTC()
	id := uuid.Must(uuid.NewV7()).String()
	name += "-" + id[len(id)-8:] // fixtures may share a database
	u, err := f.stores.Users.Create(f.ctx, user.User{
		ID: id, Email: name + "@example.com", Username: name,
		PasswordHash: "x", Role: role, IsActive: true, CreatedAt: now, UpdatedAt: now,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return identity.Principal{UserID: u.ID, SessionID: "s-" + name, Role: string(role)}
}

func (f *fixture) upload(p identity.Principal, name string, content []byte) file.File {
	f.t.Helper()
	got, err := f.svc.Upload(f.ctx, p, name, bytes.NewReader(content))
	if err != nil {
		f.t.Fatalf("upload %s: %v", name, err)
	}
	return got
}

// diskFiles lists every regular file under the upload directory.
func (f *fixture) diskFiles() []string {
	f.t.Helper()
	var out []string
	err := filepath.WalkDir(f.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(f.dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

// assertNothingStored checks that neither bytes nor rows were left behind.
func (f *fixture) assertNothingStored(p identity.Principal) {
	f.t.Helper()
	if files := f.diskFiles(); len(files) != 0 {
		f.t.Errorf("files left on disk: %v", files)
	}
	rows, _, err := f.svc.List(f.ctx, p, "", 100)
	if err != nil {
		f.t.Fatal(err)
	}
	if len(rows) != 0 {
		f.t.Errorf("rows left: %v", rows)
	}
}

func (f *fixture) auditActions() []string {
	f.t.Helper()
	evs, _, err := f.audit.List(f.ctx, audit.Filter{Limit: 100})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Action)
	}
	slices.Reverse(out)
	return out
}

func wantKind(t *testing.T, err error, kind apperr.Kind, detail string) {
	t.Helper()
	ae, ok := apperr.As(err)
	if !ok || ae.Kind != kind {
		t.Fatalf("error = %v, want kind %d", err, kind)
	}
	if detail != "" && !strings.Contains(ae.Detail, detail) {
		t.Errorf("detail %q does not contain %q", ae.Detail, detail)
	}
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestUploadStoresFiles(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		f := newFixture(t, db, options{})
		cases := []struct {
			name, ctype string
			content     []byte
		}{
			{"photo.png", "image/png", filetest.NoisePNG(200, 200)},
			{"doc.pdf", "application/pdf", filetest.PDF("hello")},
			{"notes.txt", "text/plain; charset=utf-8", filetest.Text()},
			{"pic.jpeg", "image/jpeg", filetest.JPEG(16, 16)},
			{"anim.gif", "image/gif", filetest.GIF(16, 16)},
			{"tiny.webp", "image/webp", filetest.WebP()},
		}
		for _, c := range cases {
			got := f.upload(f.alice, c.name, c.content)
			if got.Filename != c.name || got.ContentType != c.ctype || got.Size != int64(len(c.content)) ||
				got.SHA256 != sum(c.content) || got.OwnerID != f.alice.UserID {
				t.Errorf("%s: stored %+v", c.name, got)
			}
			if _, err := uuid.Parse(got.ID); err != nil {
				t.Errorf("%s: id %q", c.name, got.ID)
			}
			onDisk, err := os.ReadFile(filepath.Join(f.dir, got.StorageKey))
			if err != nil || !bytes.Equal(onDisk, c.content) {
				t.Errorf("%s: bytes on disk differ (%v)", c.name, err)
			}
			info, err := os.Stat(filepath.Join(f.dir, got.StorageKey))
			if err != nil || info.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v (%v)", c.name, info.Mode(), err)
			}
			if strings.Contains(got.StorageKey, c.name) || strings.Contains(got.StorageKey, got.ID) {
				t.Errorf("storage key %q is derived from the name or id", got.StorageKey)
			}
		}
		for _, p := range f.diskFiles() {
			if strings.HasSuffix(p, ".tmp") {
				t.Errorf("temporary file left: %s", p)
			}
		}
		info, err := os.Stat(f.dir)
		if err != nil || info.Mode().Perm() != 0o700 {
			t.Errorf("upload dir mode %v (%v)", info.Mode(), err)
		}
		if got := f.auditActions(); len(got) != len(cases) || got[0] != file.ActionUploaded {
			t.Errorf("audit = %v", got)
		}
	})
}

func TestUploadSanitizesName(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		f := newFixture(t, db, options{})
		got := f.upload(f.alice, "../../etc/\u202Epasswd.txt", filetest.Text())
		if got.Filename != "passwd.txt" {
			t.Errorf("filename = %q", got.Filename)
		}
		if _, err := os.Stat("/etc/passwd.txt"); err == nil {
			t.Error("a file appeared outside the upload directory")
		}
	})
}

func TestUploadLimits(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		f := newFixture(t, db, options{maxBytes: 1000, quota: 2500})
		exact := bytes.Repeat([]byte("a"), 1000)
		_, err := f.svc.Upload(f.ctx, f.alice, "big.txt", bytes.NewReader(append(exact, 'b')))
		wantKind(t, err, apperr.TooLarge, "The file exceeds the 1000-byte limit.")
		f.assertNothingStored(f.alice)

		f.upload(f.alice, "one.txt", exact)
		f.upload(f.alice, "two.txt", exact)
		_, err = f.svc.Upload(f.ctx, f.alice, "three.txt", bytes.NewReader(exact))
		wantKind(t, err, apperr.TooLarge, "Upload exceeds your storage quota of 2500 bytes.")
		if n := len(f.diskFiles()); n != 2 {
			t.Errorf("%d files on disk, want 2", n)
		}
		// Up to the quota exactly is fine, and the quota is per account.
		f.upload(f.alice, "rest.txt", exact[:500])
		f.upload(f.bob, "bob.txt", exact)
	})
}

// Concurrent uploads of one account never pass the quota together: the
// final check and the insert run under the owner's lock.
func TestConcurrentUploadsStayWithinQuota(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		f := newFixture(t, db, options{maxBytes: 1000, quota: 3000})
		content := bytes.Repeat([]byte("q"), 1000)
		var wg sync.WaitGroup
		var mu sync.Mutex
		stored, refused := 0, 0
		for i := range 8 {
			wg.Go(func() {
				_, err := f.svc.Upload(f.ctx, f.alice, fmt.Sprintf("f%d.txt", i), bytes.NewReader(content))
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					stored++
				} else if ae, ok := apperr.As(err); ok && ae.Kind == apperr.TooLarge {
					refused++
				} else {
					t.Errorf("upload %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if stored != 3 || refused != 5 {
			t.Fatalf("%d stored, %d refused; want 3 and 5", stored, refused)
		}
		if n := len(f.diskFiles()); n != 3 {
			t.Fatalf("%d files on disk, want 3 (refused uploads leave nothing)", n)
		}
	})
}

// failingReader returns n bytes of content, then err.
type failingReader struct {
	r   io.Reader
	n   int
	err error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, r.err
	}
	p = p[:min(len(p), r.n)]
	n, err := r.r.Read(p)
	r.n -= n
	return n, err
}

func TestUploadFailuresLeaveNothing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		big := filetest.NoisePNG(200, 200)
		t.Run("client abort", func(t *testing.T) {
			f := newFixture(t, db, options{})
			r := &failingReader{r: bytes.NewReader(big), n: len(big) / 2, err: io.ErrUnexpectedEOF}
			_, err := f.svc.Upload(f.ctx, f.alice, "a.png", r)
			if !errors.Is(err, file.ErrUploadAborted) {
				t.Fatalf("err = %v", err)
			}
			f.assertNothingStored(f.alice)
		})
		t.Run("context cancelled", func(t *testing.T) {
			f := newFixture(t, db, options{})
			ctx, cancel := context.WithCancel(f.ctx)
			defer cancel()
			r := &cancelingReader{r: bytes.NewReader(big), cancel: cancel}
			_, err := f.svc.Upload(ctx, f.alice, "a.png", r)
			if !errors.Is(err, file.ErrUploadAborted) {
				t.Fatalf("err = %v", err)
			}
			f.assertNothingStored(f.alice)
		})
		t.Run("refused content", func(t *testing.T) {
			f := newFixture(t, db, options{})
			for name, content := range map[string][]byte{"a.png": filetest.HTML(), "b.png": filetest.ELF(), "c.exe": filetest.PE(), "d.gif": filetest.GIFAR(), "e.jpg": big} {
				_, err := f.svc.Upload(f.ctx, f.alice, name, bytes.NewReader(content))
				wantKind(t, err, apperr.Unsupported, "")
			}
			f.assertNothingStored(f.alice)
		})
		t.Run("database error", func(t *testing.T) {
			f := newFixture(t, db, options{tx: func(file.UnitOfWork) file.UnitOfWork { return failingUnit{} }})
			_, err := f.svc.Upload(f.ctx, f.alice, "a.png", bytes.NewReader(big))
			if err == nil || !strings.Contains(err.Error(), "disk full") {
				t.Fatalf("err = %v", err)
			}
			f.assertNothingStored(f.alice)
			if got := f.auditActions(); len(got) != 0 {
				t.Errorf("audit = %v", got)
			}
		})
	})
}

// cancelingReader cancels the upload's context once it has returned data.
type cancelingReader struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (r *cancelingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p[:min(len(p), 8<<10)])
	r.cancel()
	return n, err
}

// failingUnit fails every unit of work, as a database that refuses the insert would.
type failingUnit struct{}

func (failingUnit) InTx(context.Context, func(file.Stores) error) error {
	return errors.New("disk full")
}

func TestVisibility(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		f := newFixture(t, db, options{})
		content := filetest.PDF("secret")
		doc := f.upload(f.alice, "secret.pdf", content)
		missing := uuid.Must(uuid.NewV7()).String()

		for _, id := range []string{doc.ID, missing} {
			if _, err := f.svc.Get(f.ctx, f.bob, id); !errors.Is(err, file.ErrNotFound) {
				t.Errorf("bob Get %s: %v", id, err)
			}
			if _, _, err := f.svc.Open(f.ctx, f.bob, id); !errors.Is(err, file.ErrNotFound) {
				t.Errorf("bob Open %s: %v", id, err)
			}
			if err := f.svc.Delete(f.ctx, f.bob, id); !errors.Is(err, file.ErrNotFound) {
				t.Errorf("bob Delete %s: %v", id, err)
			}
		}
		if _, err := f.svc.Get(f.ctx, identity.Principal{}, doc.ID); !errors.Is(err, file.ErrNotFound) {
			t.Errorf("anonymous Get: %v", err)
		}
		if rows, _, _ := f.svc.List(f.ctx, f.bob, "", 10); len(rows) != 0 {
			t.Errorf("bob lists %v", rows)
		}

		for _, p := range []identity.Principal{f.alice, f.admin} {
			got, rc, err := f.svc.Open(f.ctx, p, doc.ID)
			if err != nil {
				t.Fatalf("Open as %s: %v", p.Role, err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			if got.ID != doc.ID || !bytes.Equal(b, content) {
				t.Errorf("Open as %s: wrong content", p.Role)
			}
		}
		want := []string{file.ActionUploaded, file.ActionDownloaded, file.ActionDownloaded}
		if got := f.auditActions(); !slices.Equal(got, want) {
			t.Errorf("audit = %v, want %v", got, want)
		}

		if err := f.svc.Delete(f.ctx, f.admin, doc.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Get(f.ctx, f.alice, doc.ID); !errors.Is(err, file.ErrNotFound) {
			t.Errorf("Get after delete: %v", err)
		}
		if files := f.diskFiles(); len(files) != 0 {
			t.Errorf("files left after delete: %v", files)
		}
		if got := f.auditActions(); got[len(got)-1] != file.ActionDeleted {
			t.Errorf("audit = %v", got)
		}
	})
}

func TestList(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		f := newFixture(t, db, options{})
		var ids []string
		for range 5 {
			ids = append(ids, f.upload(f.alice, "n.txt", filetest.Text()).ID)
		}
		f.upload(f.bob, "other.txt", filetest.Text())
		slices.Reverse(ids) // newest first

		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			page, next, err := f.svc.List(f.ctx, f.alice, cursor, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range page {
				got = append(got, p.ID)
			}
			if next == "" {
				break
			}
			if pages > 5 {
				t.Fatal("paging does not end")
			}
			cursor = next
		}
		if !slices.Equal(got, ids) {
			t.Errorf("pages = %v, want %v", got, ids)
		}
		_, _, err := f.svc.List(f.ctx, f.alice, "not-a-cursor", 2)
		wantKind(t, err, apperr.Invalid, "")
		// An upper-case cursor means the same id.
		page, _, err := f.svc.List(f.ctx, f.alice, strings.ToUpper(ids[1]), 10)
		if err != nil || len(page) != 3 {
			t.Errorf("upper-case cursor: %d rows, %v", len(page), err)
		}
	})
}

func TestRemoveStored(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		f := newFixture(t, db, options{})
		f.upload(f.alice, "a.txt", filetest.Text())
		f.upload(f.alice, "b.png", filetest.PNG(4, 4))
		kept := f.upload(f.bob, "c.txt", filetest.Text())
		keys, err := f.stores.Files.StorageKeysByOwner(f.ctx, f.alice.UserID)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.RemoveStored(f.ctx, keys); err != nil {
			t.Fatal(err)
		}
		if got := f.diskFiles(); !slices.Equal(got, []string{kept.StorageKey}) {
			t.Errorf("disk = %v, want only %s", got, kept.StorageKey)
		}
	})
}

func TestSweep(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db store.DB) {
		f := newFixture(t, db, options{})
		kept := f.upload(f.alice, "kept.txt", filetest.Text())
		lost := f.upload(f.alice, "lost.txt", filetest.Text())
		if err := os.Remove(filepath.Join(f.dir, lost.StorageKey)); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-time.Hour)
		write := func(rel string, mtime time.Time) {
			p := filepath.Join(f.dir, rel)
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, mtime, mtime); err != nil {
				t.Fatal(err)
			}
		}
		const (
			staleTmp    = "ab/cd/abcd0000000000000000000000000001.tmp"
			orphan      = "ab/cd/abcd0000000000000000000000000002"
			freshTmp    = "ab/cd/abcd0000000000000000000000000003.tmp"
			freshOrphan = "12/34/12340000000000000000000000000004"
			foreign     = "api.db"
			badShard    = "ab/ef/abcd0000000000000000000000000005"
			otherDir    = "keys/secret.pem"
		)
		write(staleTmp, old)
		write(orphan, old)
		write(freshTmp, time.Now())
		write(freshOrphan, time.Now())
		write(foreign, old)
		write(badShard, old)
		write(otherDir, old)

		rep, err := f.svc.Sweep(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.RemovedOrphans != 2 || !slices.Equal(rep.MissingFiles, []string{lost.ID}) {
			t.Errorf("report = %+v, want 2 removed and missing %s", rep, lost.ID)
		}
		want := []string{kept.StorageKey, freshTmp, freshOrphan, foreign, badShard, otherDir}
		slices.Sort(want)
		if got := f.diskFiles(); !slices.Equal(got, want) {
			t.Errorf("disk after sweep = %v, want %v", got, want)
		}
	})
}

func TestNewServiceRefusesScriptableTypes(t *testing.T) {
	db := testdb.Open(t, "sqlite")
	st := store.New(db)
	_, err := file.NewService(file.Deps{
		Store: st.Files, Tx: store.Unit(db, func(tx *sqlstore.Tx) file.Stores { return tx }), Audit: audit.NewService(st.Audit, slog.New(slog.DiscardHandler), nil),
		Dir: t.TempDir(), MaxBytes: 10, Quota: 10, Allowed: []string{"image/png", "image/svg+xml"},
	})
	if err == nil || !strings.Contains(err.Error(), "image/svg+xml") {
		t.Errorf("err = %v", err)
	}
}
