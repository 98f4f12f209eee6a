package file

import (
	"context"
	"errors"
	"io/fs"
	"regexp"
	"strings"
	"time"
)

// SweepGrace is how long a file must have been left untouched before Sweep
// removes it. An upload in progress writes to its temporary file all the
// time, and a committed file gets its row within milliseconds, so neither is
// ever this old: several instances sharing one upload directory (or a sweep
// while serving) cannot remove each other's uploads.
const SweepGrace = 15 * time.Minute

const sweepBatch = 500

var shardDirRE = regexp.MustCompile(`^[0-9a-f]{2}(/[0-9a-f]{2})?$`)

// Report is what Sweep found.
type Report struct {
	// RemovedOrphans counts the leftover temporary files and the files
	// without a row that were removed.
	RemovedOrphans int
	// MissingFiles are the ids of rows whose file is not on disk.
	MissingFiles []string
}

// Sweep repairs what a crash or a failed removal can leave behind: it removes
// temporary files and files without a row (both only once older than
// SweepGrace), and reports rows whose file is missing. Entries that do not
// have the storage layout's names are never touched, so a misconfigured
// upload directory (say, the data directory with the database in it) loses
// nothing.
func (s *Service) Sweep(ctx context.Context) (Report, error) {
	var rep Report
	root, err := s.disk.root()
	if err != nil {
		return rep, err
	}
	defer root.Close()
	cutoff := s.now().Add(-SweepGrace)

	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && !shardDirRE.MatchString(p) {
				s.log.WarnContext(ctx, "unexpected folder in the upload directory left alone", "path", p)
				return fs.SkipDir
			}
			return nil
		}
		key, isTmp := strings.CutSuffix(p, tmpSuffix)
		if !validKey(key) || !d.Type().IsRegular() {
			s.log.WarnContext(ctx, "unexpected entry in the upload directory left alone", "path", p)
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if info.ModTime().After(cutoff) {
			return nil
		}
		if !isTmp {
			known, err := s.store.StorageKeyExists(ctx, key)
			if err != nil || known {
				return err
			}
		}
		if err := s.disk.remove(root, p); err != nil {
			return err
		}
		rep.RemovedOrphans++
		return nil
	})
	if err != nil {
		return rep, err
	}

	after := ""
	for {
		batch, err := s.store.After(ctx, after, sweepBatch)
		if err != nil {
			return rep, err
		}
		for _, f := range batch {
			ok := false
			if validKey(f.StorageKey) {
				if ok, err = s.disk.exists(root, f.StorageKey); err != nil {
					return rep, err
				}
			}
			if !ok {
				rep.MissingFiles = append(rep.MissingFiles, f.ID)
			}
		}
		if len(batch) < sweepBatch {
			break
		}
		after = batch[len(batch)-1].ID
	}
	if rep.RemovedOrphans > 0 || len(rep.MissingFiles) > 0 {
		s.log.WarnContext(ctx, "upload directory swept", "removed_orphans", rep.RemovedOrphans,
			"missing_files", len(rep.MissingFiles), "missing_ids", rep.MissingFiles[:min(len(rep.MissingFiles), 20)])
	}
	return rep, nil
}
