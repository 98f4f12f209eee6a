package file_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// FuzzUpload streams arbitrary content under an arbitrary name through the
// whole upload path (sniffing, markup and archive checks, quota, storage).
// Accepted: the stored bytes, size and SHA-256 are exactly the content, the
// type is an allowed one, nothing executable or browser-renderable got in,
// and the display name is the sanitized one. Refused: a client error, and
// nothing at all is left in the upload directory.
func FuzzUpload(f *testing.F) {
	for _, s := range []struct {
		content []byte
		name    string
	}{
		{filetest.Text(), "notes.txt"},
		{filetest.PNG(4, 4), "a.png"},
		{filetest.PDF("x"), "doc.pdf"},
		{filetest.HTML(), "page.txt"},
		{filetest.PE(), "setup.png"},
		{filetest.GIFAR(), "pic.gif"},
		{[]byte("plain text with a <ScRiPt> tag"), "x.txt"},
		{nil, "empty.txt"},
		{[]byte("\xef\xbb\xbfbom text"), "../../x.md"},
	} {
		f.Add(s.content, s.name)
	}
	ctx := context.Background()
	db := testdb.Open(f, "sqlite")
	stores := store.New(db)
	now := time.Now().UTC()
	id := uuid.Must(uuid.NewV7()).String()
	if _, err := stores.Users.Create(ctx, user.User{ID: id, Email: "fuzz@example.com", Username: "fuzz",
		PasswordHash: "x", Role: user.RoleUser, IsActive: true, CreatedAt: now, UpdatedAt: now}); err != nil {
		f.Fatal(err)
	}
	owner := identity.Principal{UserID: id, SessionID: "s", Role: string(user.RoleUser)}
	// Each stored file is fsynced; on a memory file system, when there is
	// one, that costs nothing and the fuzzer explores instead of waiting.
	base := f.TempDir()
	if shm, err := os.MkdirTemp("/dev/shm", "fuzz-upload-"); err == nil {
		base = shm
		f.Cleanup(func() { os.RemoveAll(shm) })
	}
	dir := filepath.Join(base, "uploads")
	svc, err := file.NewService(file.Deps{
		Store: stores.Files, Tx: store.Unit(db, func(tx *sqlstore.Tx) file.Stores { return tx }),
		Audit: audit.NewService(stores.Audit, slog.New(slog.DiscardHandler), nil),
		Dir:   dir, MaxBytes: 256 << 10, Quota: 1 << 30, Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, content []byte, name string) {
		got, err := svc.Upload(ctx, owner, name, bytes.NewReader(content))
		if err != nil {
			ae, ok := apperr.As(err)
			if !ok || ae.Kind == apperr.Unavailable {
				t.Fatalf("Upload(%q, %d bytes) failed with a non-client error: %v", name, len(content), err)
			}
			if left := filesIn(t, dir); len(left) > 0 {
				t.Fatalf("refused upload (%v) left %v behind", err, left)
			}
			return
		}
		defer func() {
			if err := svc.Delete(ctx, owner, got.ID); err != nil {
				t.Fatalf("delete: %v", err)
			}
		}()
		sum := sha256.Sum256(content)
		if got.Size != int64(len(content)) || got.SHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("stored %d bytes %s for %d bytes %x", got.Size, got.SHA256, len(content), sum)
		}
		mt, _, err := mime.ParseMediaType(got.ContentType)
		if err != nil || !slices.Contains(file.DefaultAllowed, mt) {
			t.Fatalf("content type %q is not an allowed one", got.ContentType)
		}
		for _, magic := range []string{"MZ", "\x7fELF"} {
			if bytes.HasPrefix(content, []byte(magic)) {
				t.Fatalf("executable content (%q) accepted as %s", magic, got.ContentType)
			}
		}
		head := bytes.ToLower(content[:min(len(content), 64<<10)])
		for _, marker := range []string{"<script", "<html", "<svg", "<iframe"} {
			if bytes.Contains(head, []byte(marker)) {
				t.Fatalf("content with %q in its first 64 KiB accepted as %s", marker, got.ContentType)
			}
		}
		// The display name is the sanitized one; a name without an extension
		// gets the sniffed type's canonical extension appended.
		if want := file.SanitizeName(name); got.Filename != want {
			ext, appended := strings.CutPrefix(got.Filename, want+".")
			dot := strings.LastIndexByte(want, '.')
			hadExt := dot > 0 && dot < len(want)-1 // a leading dot (".profile") starts none
			if !appended || ext == "" || strings.ContainsAny(ext, "./\\") || hadExt {
				t.Fatalf("display name %q, want SanitizeName(%q) = %q (plus an extension when it has none)", got.Filename, name, want)
			}
		}
		_, rc, err := svc.Open(ctx, owner, got.ID)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		back, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(back, content) {
			t.Fatalf("read back %d bytes (err %v), stored %d", len(back), err, len(content))
		}
	})
}

func filesIn(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}
