package file

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A stored file is durable only when its data, its name and every directory
// on the way to it are on stable storage: commit syncs the file, its
// directory after the rename, and each shard directory's parent the first
// time this process uses that shard.
func TestCommitSyncsThePathToTheFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "uploads")
	key := func(shard, rest string) string { return shard[0:2] + "/" + shard[2:4] + "/" + shard + rest }
	tests := []struct {
		name  string
		fresh bool // a new disk, as after a restart
		key   string
		want  []string
	}{
		{"a new shard syncs up to the root", false, key("abcd", strings.Repeat("0", 28)), []string{"ab/cd", ".", "ab"}},
		{"the same shard again syncs its directory only", false, key("abcd", strings.Repeat("1", 28)), []string{"ab/cd"}},
		{"a new inner shard syncs its parent", false, key("abef", strings.Repeat("2", 28)), []string{"ab/ef", "ab"}},
		{"after a restart an existing shard is synced once more", true, key("abcd", strings.Repeat("3", 28)), []string{"ab/cd", ".", "ab"}},
	}
	var d disk
	var calls []string
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if i == 0 || tc.fresh {
				var err error
				if d, err = newDisk(dir); err != nil {
					t.Fatal(err)
				}
				d.syncDir = func(root *os.Root, name string) error {
					calls = append(calls, name)
					return syncDir(root, name)
				}
			}
			if !validKey(tc.key) {
				t.Fatalf("test key %q is not a valid key", tc.key)
			}
			calls = nil
			root, err := d.root()
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			f, err := d.createTemp(root, tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteString("content"); err != nil {
				t.Fatal(err)
			}
			if err := d.commit(root, f, tc.key); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(calls, tc.want) {
				t.Errorf("synced directories %q, want %q", calls, tc.want)
			}
			if b, err := os.ReadFile(filepath.Join(dir, tc.key)); err != nil || string(b) != "content" {
				t.Errorf("stored file = %q, %v", b, err)
			}
			if _, err := os.Stat(filepath.Join(dir, tc.key+tmpSuffix)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("temporary file left behind: %v", err)
			}
		})
	}
}

// A directory that cannot be synced fails the commit, so the upload is
// refused instead of acknowledged without being durable.
func TestCommitFailsWhenADirectoryCannotBeSynced(t *testing.T) {
	d, err := newDisk(filepath.Join(t.TempDir(), "uploads"))
	if err != nil {
		t.Fatal(err)
	}
	broken := errors.New("sync failed")
	d.syncDir = func(*os.Root, string) error { return broken }
	root, err := d.root()
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	key := "01/23/0123" + strings.Repeat("f", 28)
	f, err := d.createTemp(root, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.commit(root, f, key); !errors.Is(err, broken) {
		t.Fatalf("commit = %v, want the sync error", err)
	}
	// The shard was not recorded as synced: the next upload tries again.
	if _, inner := shardIndexes(key); d.synced.has(inner) {
		t.Fatal("a shard whose sync failed is recorded as synced")
	}
}
