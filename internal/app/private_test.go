package app_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"secureapi/internal/api/apitest"
	"secureapi/internal/identity"
)

// Everything the service writes under DATA_DIR (the SQLite database and its
// -wal and -shm files, the development signing key, outbox mails, uploads)
// is readable by the service's user only: files 0600, folders 0700.
func TestDataDirIsPrivate(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data") // created by the app
	e := apitest.New(t, "sqlite", map[string]string{"DATA_DIR": dataDir})
	a := e.NewAccount(t, "privy", false)
	e.DrainMail(t)
	if _, err := e.App.Files.Upload(context.Background(), identity.Principal{UserID: a.ID}, "hello.txt", strings.NewReader("hello, world\n")); err != nil {
		t.Fatal(err)
	}
	if err := e.App.Close(); err != nil { // checkpoints and closes the database
		t.Fatal(err)
	}

	seen := map[string]bool{}
	err := filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dataDir, p)
		want := os.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", rel, st.Mode().Perm(), want)
		}
		seen[strings.SplitN(filepath.ToSlash(rel), "/", 2)[0]] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".", "app.db", "jwt-signing.key", "outbox", "uploads"} {
		if !seen[want] {
			t.Errorf("nothing checked under %s: %v", want, seen)
		}
	}
}

// SQLite's -wal and -shm files, which exist while the database is open,
// get the database file's mode.
func TestSQLiteSideFilesArePrivate(t *testing.T) {
	dataDir := t.TempDir()
	e := apitest.New(t, "sqlite", map[string]string{"DATA_DIR": dataDir})
	e.NewAccount(t, "walrus", false)
	for _, name := range []string{"app.db", "app.db-wal", "app.db-shm"} {
		st, err := os.Stat(filepath.Join(dataDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", name, st.Mode().Perm())
		}
	}
}
