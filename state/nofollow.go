package state

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrSymlink: a symbolic link stands where tapctl keeps a file of its own. Following it would
// let whoever planted it choose which file tapctl reads, locks or replaces.
var ErrSymlink = errors.New("is a symbolic link")

// openNoFollow opens path without following a symbolic link at its last component; a link
// there is refused with ErrSymlink, named by what (e.g. "state file"), and left as it is.
func openNoFollow(what, path string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW, perm)
	if err != nil {
		if link := refuseSymlink(what, path); link != nil {
			return nil, link
		}
		return nil, err
	}
	return f, nil
}

// refuseSymlink is the ErrSymlink error when path is a symbolic link, else nil. O_NOFOLLOW
// fails with ELOOP on Linux and macOS but EMLINK on FreeBSD, so the link is asked about by name.
func refuseSymlink(what, path string) error {
	if info, err := os.Lstat(path); err == nil && info.Mode()&os.ModeSymlink != 0 {
		return symlinkError(what, path)
	}
	return nil
}

func symlinkError(what, path string) error {
	return fmt.Errorf("%s %s %w, which tapctl will not follow; remove the link or put the file itself there", what, path, ErrSymlink)
}
