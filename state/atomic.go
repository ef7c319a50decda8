package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"syscall"
)

// encode is indented with sorted map keys and a trailing newline, so diffs stay readable.
func encode(f file) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// renameFile is os.Rename, replaceable so tests can fail a save at its last step even as root.
var renameFile = os.Rename

// writeAtomic replaces path with data so that a reader sees the old or the new content, never
// a part: temporary file in the same directory, fsync, rename, fsync the directory. On any
// failure before the rename the temporary file is removed and path is untouched. The returned
// FileInfo (non-nil once renamed) describes the new file.
func writeAtomic(dir, path string, data []byte) (os.FileInfo, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, tempPattern(filepath.Base(path)))
	if err != nil {
		return nil, err
	}
	renamed := false
	defer func() {
		if !renamed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// Mode first, so the content never sits in a file others could read (whatever the umask).
	if err := tmp.Chmod(0o600); err != nil {
		return nil, err
	}
	if _, err := tmp.Write(data); err != nil {
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		return nil, err
	}
	// Taken from the open file: rename keeps inode and mtime, and no one else can touch it yet.
	info, err := tmp.Stat()
	if err != nil {
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := renameFile(tmp.Name(), path); err != nil {
		return nil, err
	}
	renamed = true
	return info, syncDir(dir)
}

// syncDir makes the rename itself durable; filesystems that cannot sync a directory are let be.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return err
	}
	return nil
}
