package file

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"strings"
	"sync/atomic"
)

// Storage layout. Every file lives at Dir/ab/cd/<32 hex digits>, where the
// hex digits are 128 random bits (never derived from the display name or the
// file id) and ab, cd are its first four digits, so no folder grows past
// 65536 entries per level. An upload in progress is the same path with
// tmpSuffix. Every access goes through an os.Root opened on Dir, so a
// tampered storage key cannot reach outside it.
const tmpSuffix = ".tmp"

var keyRE = regexp.MustCompile(`^([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{32})$`)

// validKey reports whether key has the layout above with matching shards.
func validKey(key string) bool {
	m := keyRE.FindStringSubmatch(key)
	return m != nil && strings.HasPrefix(m[3], m[1]+m[2])
}

func newKey() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	h := hex.EncodeToString(b)
	return h[0:2] + "/" + h[2:4] + "/" + h, nil
}

// disk stores file bytes under one directory.
type disk struct {
	dir string
	// synced marks the shard directories whose own entry (in their parent)
	// this process has synced, so that each costs one directory sync per
	// process instead of one per upload.
	synced *shardSet
	// syncDir syncs a directory under the root; tests record the calls.
	syncDir func(root *os.Root, name string) error
}

func newDisk(dir string) (disk, error) {
	if dir == "" {
		return disk{}, errors.New("file: upload directory is empty")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return disk{}, fmt.Errorf("file: create upload directory: %w", err)
	}
	return disk{dir: dir, synced: new(shardSet), syncDir: syncDir}, nil
}

func syncDir(root *os.Root, name string) error {
	dir, err := root.Open(name)
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}

// shardSet is a set of shard directories: "ab" (256 of them) and "ab/cd"
// (65536), one bit each.
type shardSet struct {
	bits [(256 + 256*256) / 64]atomic.Uint64
}

func (s *shardSet) has(i int) bool { return s.bits[i/64].Load()&(1<<(i%64)) != 0 }
func (s *shardSet) add(i int)      { s.bits[i/64].Or(1 << (i % 64)) }

// shardIndexes returns the shardSet indexes of a valid key's "ab" and
// "ab/cd" directories.
func shardIndexes(key string) (outer, inner int) {
	b, _ := hex.DecodeString(key[0:2] + key[3:5])
	return int(b[0]), 256 + int(b[0])*256 + int(b[1])
}

func (d disk) root() (*os.Root, error) { return os.OpenRoot(d.dir) }

// createTemp creates key's temporary file, exclusively and readable by the
// service's user only. The shard directories are made only when missing,
// which saves MkdirAll's walk once a shard exists.
func (d disk) createTemp(root *os.Root, key string) (*os.File, error) {
	const flags, perm = os.O_WRONLY | os.O_CREATE | os.O_EXCL, 0o600
	f, err := root.OpenFile(key+tmpSuffix, flags, perm)
	if !errors.Is(err, fs.ErrNotExist) {
		return f, err
	}
	if err := root.MkdirAll(path.Dir(key), 0o700); err != nil {
		return nil, err
	}
	return root.OpenFile(key+tmpSuffix, flags, perm)
}

// commit makes key's temporary file (already written) durable under its
// final name: data first, then the rename, then the directory entry, so a
// crash leaves either a temporary file (swept) or the complete file.
//
// The entry is only as durable as the path to it: a shard directory made
// for this upload, or by a concurrent one that may not have synced it yet,
// needs its own entry synced too, in its parent up to the storage root.
// That happens once per shard and process.
func (d disk) commit(root *os.Root, f *os.File, key string) error {
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := root.Rename(key+tmpSuffix, key); err != nil {
		return err
	}
	if err := d.syncDir(root, path.Dir(key)); err != nil {
		return err
	}
	outer, inner := shardIndexes(key)
	if d.synced.has(inner) {
		return nil
	}
	if !d.synced.has(outer) {
		if err := d.syncDir(root, "."); err != nil { // holds "ab"
			return err
		}
		d.synced.add(outer)
	}
	if err := d.syncDir(root, key[0:2]); err != nil { // holds "cd"
		return err
	}
	d.synced.add(inner)
	return nil
}

// remove deletes name (a key, or a key with tmpSuffix); a missing file is
// not an error.
func (d disk) remove(root *os.Root, name string) error {
	if err := root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// removeKey deletes key's file with its own root.
func (d disk) removeKey(key string) error {
	if !validKey(key) {
		return fmt.Errorf("file: invalid storage key %q", key)
	}
	root, err := d.root()
	if err != nil {
		return err
	}
	defer root.Close()
	return d.remove(root, key)
}

// open opens key's file for reading.
func (d disk) open(key string) (*os.File, error) {
	if !validKey(key) {
		return nil, fmt.Errorf("file: invalid storage key %q", key)
	}
	root, err := d.root()
	if err != nil {
		return nil, err
	}
	// A file opened through a Root stays usable after the Root is closed.
	defer root.Close()
	return root.Open(key)
}

// exists reports whether key's file is present.
func (d disk) exists(root *os.Root, key string) (bool, error) {
	_, err := root.Stat(key)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
