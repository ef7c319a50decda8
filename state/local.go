package state

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// dirBackend keeps state files and locks in a local directory: files replaced by rename, locks
// held with flock (lock.go).
type dirBackend struct{ dir string }

// Dir is the local directory backend, tapctl's default (--state-dir).
func Dir(dir string) Backend { return dirBackend{dir: dir} }

func (d dirBackend) path(env string) string { return filepath.Join(d.dir, stateFileName(env)) }

func (d dirBackend) Where(env string) string { return d.path(env) }

func (d dirBackend) read(_ context.Context, env string) ([]byte, string, error) {
	path := d.path(env)
	raw, info, err := readRegular(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, "", errNoState
	case errors.Is(err, ErrSymlink):
		return nil, "", err
	case err != nil:
		return nil, "", fmt.Errorf("reading state file %s: %w", path, err)
	}
	return raw, fileVersion(info), nil
}

func (d dirBackend) write(env string, raw []byte, version string) (string, error) {
	path := d.path(env)
	if err := checkDisk(path, version); err != nil {
		return "", err
	}
	info, err := writeAtomic(d.dir, path, raw)
	written := ""
	if info != nil { // renamed into place, even if the directory sync then failed
		written = fileVersion(info)
	}
	if err != nil {
		return written, fmt.Errorf("saving state file %s: %w", path, err)
	}
	return written, nil
}

func (d dirBackend) remove(env, version string) error {
	path := d.path(env)
	if err := checkDisk(path, version); err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing state file %s: %w", path, err)
	}
	return nil
}

// fileVersion tells one state file from any that replaced it: the rename gives a new file a new
// inode; size and modification time catch a rewrite in place.
func fileVersion(info os.FileInfo) string {
	var dev, ino uint64
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		dev, ino = uint64(st.Dev), st.Ino
	}
	return fmt.Sprintf("%d:%d:%d:%d", dev, ino, info.Size(), info.ModTime().UnixNano())
}

// readRegular returns the file's bytes and the stat of the same open file. O_NONBLOCK: a FIFO
// left at the path must not hang tapctl; it is refused as not a regular file. A symbolic link
// is refused without being followed (ErrSymlink).
func readRegular(path string) ([]byte, os.FileInfo, error) {
	f, err := openNoFollow("state file", path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, nil, errors.New("not a regular file")
	}
	raw, err := io.ReadAll(f)
	return raw, info, err
}

// checkDisk refuses to replace a file someone else wrote since we read it (an edit by hand,
// a second tapctl that ignored the lock). A file deleted meanwhile may be written again.
func checkDisk(path, version string) error {
	// Lstat: a link planted at the path is refused, neither followed nor replaced.
	cur, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking state file %s: %w", path, err)
	}
	if cur.Mode()&os.ModeSymlink != 0 {
		return symlinkError("state file", path)
	}
	if version != "" && fileVersion(cur) == version {
		return nil
	}
	return fmt.Errorf("%w: %s was written by something else since this tapctl read it; check it and run again; tapctl will not overwrite it",
		ErrChanged, path)
}
