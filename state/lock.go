package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// HolderInfo says who holds an environment's lock.
type HolderInfo struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
	// Holder is user@host (S3 locks: runners of many machines meet there).
	Holder string `json:"holder,omitempty"`
	// Expires is when the lock lapses unless its holder renews it (S3 locks; zero for a local
	// lock, which lapses with its process).
	Expires time.Time `json:"expires,omitzero"`
	// Where names the lock (its s3:// URL) in messages; not stored.
	Where string `json:"-"`
}

// LockedError is returned when another tapctl works on the environment.
type LockedError struct {
	Env    string
	Holder HolderInfo
}

func (e *LockedError) Error() string {
	h := e.Holder
	switch {
	case h.PID == 0 && h.Holder == "":
		return fmt.Sprintf("environment %s is in use by another tapctl (holder unknown); wait for it to finish", e.Env)
	case h.Expires.IsZero():
		return fmt.Sprintf("environment %s is in use by another tapctl (pid %d on host %s, since %s); wait for it to finish",
			e.Env, h.PID, h.Host, h.Started.UTC().Format(time.RFC3339))
	}
	who := h.Holder
	if h.PID != 0 {
		who += fmt.Sprintf(", pid %d", h.PID)
	}
	return fmt.Sprintf("environment %s is in use by another tapctl (%s, since %s; lock %s, leased until %s); wait for it to finish: if that run died, its lock lapses then, or break it with tapctl unlock --env %s",
		e.Env, who, h.Started.UTC().Format(time.RFC3339), h.Where, h.Expires.UTC().Format(time.TimeOnly+"Z"), e.Env)
}

// Lock is an exclusive hold on one environment, held until Release, the process's death or
// (S3) the end of a lease it failed to renew.
type Lock struct {
	release   func() error
	leftovers []string
	// lost is closed when the lock is no longer this run's (S3: broken or taken over); nil
	// for a lock that cannot be lost while its process lives (local).
	lost    chan struct{}
	lostErr error // why, set before lost is closed
	// replaced is the lapsed lock this one took over (S3), nil when there was none.
	replaced *HolderInfo
}

// Replaced names the holder of the lapsed lock this one took over; false when there was none.
func (l *Lock) Replaced() (HolderInfo, bool) {
	if l.replaced == nil {
		return HolderInfo{}, false
	}
	return *l.replaced, true
}

// Leftovers names the temporary files of a killed earlier run that Acquire removed.
func (l *Lock) Leftovers() []string { return l.leftovers }

// Lost is closed when the lock stopped being this run's; the run must then stop changing
// anything. Nil (never closed) for a local lock.
func (l *Lock) Lost() <-chan struct{} { return l.lost }

// LostErr says why the lock was lost, once Lost is closed.
func (l *Lock) LostErr() error {
	select {
	case <-l.lost:
		return l.lostErr
	default:
		return nil
	}
}

// Release drops the lock; calling it again does nothing.
func (l *Lock) Release() error {
	if l == nil || l.release == nil {
		return nil
	}
	release := l.release
	l.release = nil
	return release()
}

// Acquire takes the environment's lock in the local directory dir (see dirBackend.lock).
func Acquire(dir, env string) (*Lock, error) {
	return AcquireIn(context.Background(), Dir(dir), env)
}

// localLock is a flock on dir/env.lock; the file names its holder.
type localLock struct {
	f    *os.File
	path string
	me   HolderInfo
}

// lock takes the environment's lock at once or fails with *LockedError. The kernel drops an
// flock when its process dies, so a lock file left by a killed tapctl, or one naming a pid that
// is not running (a copied file, a filesystem without flock), is simply taken over.
func (d dirBackend) lock(_ context.Context, env string) (*Lock, error) {
	dir := d.dir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, notWritable(dir, err)
	}
	path := filepath.Join(dir, env+".lock")
	f, err := lockFile(dir, env, path)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	ll := &localLock{f: f, path: path, me: HolderInfo{PID: os.Getpid(), Host: host, Started: time.Now().UTC().Truncate(time.Second)}}
	l := &Lock{release: ll.release}
	if err := ll.writeHolder(); err != nil {
		l.Release()
		return nil, notWritable(dir, err)
	}
	// Temporary files a killed run of this environment left are dead now that we hold the lock;
	// removed before the probe, they leave it their room.
	l.leftovers = removeLeftovers(dir, env)
	// The state file is replaced by rename, which needs a directory that takes new files even
	// when the lock file was already there, and room for the old and the new file side by side;
	// find out now rather than after the first AWS call, when a failed save would leave a
	// created resource unrecorded.
	if err := probeRoom(dir, env); err != nil {
		l.Release()
		return nil, notWritable(dir, err)
	}
	return l, nil
}

// holder reads the lock file when a live process holds its flock.
func (d dirBackend) holder(_ context.Context, env string) (HolderInfo, bool, error) {
	path := filepath.Join(d.dir, env+".lock")
	f, err := openNoFollow("lock file", path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, os.ErrNotExist) {
		return HolderInfo{}, false, nil
	} else if err != nil {
		return HolderInfo{}, false, err
	}
	defer f.Close()
	if err := flock(f, syscall.LOCK_SH|syscall.LOCK_NB); err == nil {
		flock(f, syscall.LOCK_UN)
		return HolderInfo{}, false, nil // a file no live process holds: nothing to wait for
	} else if !errors.Is(err, syscall.EWOULDBLOCK) {
		return HolderInfo{}, false, fmt.Errorf("checking %s: %w", path, err)
	}
	return readHolder(path), true, nil
}

// breakLock cannot take a kernel lock from a live process, and a local lock dies with its
// process anyway: a held lock is refused with its holder, a free one needs no breaking.
func (d dirBackend) breakLock(ctx context.Context, env string) (HolderInfo, bool, error) {
	h, held, err := d.holder(ctx, env)
	if err != nil || !held {
		return h, false, err
	}
	return h, true, fmt.Errorf("the lock of environment %s in %s is held by a live process (pid %d on host %s, since %s); a local lock ends with its process: stop that process instead",
		env, d.dir, h.PID, h.Host, h.Started.UTC().Format(time.RFC3339))
}

// probeBytes is the room a run needs in the state directory: a whole environment's state file is
// about 10 KiB with three services (3 KiB more per service), and a save holds the old and the
// new one at once; the rest is margin for larger catalogs.
const probeBytes = 256 << 10

// probeRoom writes probeBytes to a new file in dir, syncs it to the disk (where a full disk
// shows, on file systems that allocate late) and removes it.
func probeRoom(dir, env string) error {
	probe, err := os.CreateTemp(dir, probePattern(env))
	if err != nil {
		return err
	}
	defer os.Remove(probe.Name())
	_, err = probe.Write(make([]byte, probeBytes))
	if err == nil {
		err = probe.Sync()
	}
	if cerr := probe.Close(); err == nil {
		err = cerr
	}
	return err
}

func notWritable(dir string, err error) error {
	return fmt.Errorf("state directory %s is not writable: %w", dir, err)
}

// lockFile opens and flocks path. A releasing holder unlinks the file while still holding it,
// so a flock won on an inode no longer at path protects nothing: then try again. A symbolic
// link at path is refused, not followed: the lock file is written, and a link would aim that
// write at any file the user can write.
func lockFile(dir, env, path string) (*os.File, error) {
	for attempt := 0; attempt < 10; attempt++ {
		f, err := openNoFollow("lock file", path, os.O_RDWR|os.O_CREATE, 0o600)
		if errors.Is(err, ErrSymlink) {
			return nil, err
		} else if err != nil {
			return nil, notWritable(dir, err)
		}
		if err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, &LockedError{Env: env, Holder: readHolder(path)}
			}
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		if stillAt(f, path) {
			return f, nil
		}
		f.Close()
	}
	return nil, fmt.Errorf("locking %s: the lock file keeps being replaced", path)
}

func flock(f *os.File, how int) error {
	for {
		if err := syscall.Flock(int(f.Fd()), how); !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// stillAt reports whether the open file is the one path names now (a link to it is not).
func stillAt(f *os.File, path string) bool {
	open, err1 := f.Stat()
	named, err2 := os.Lstat(path)
	return err1 == nil && err2 == nil && os.SameFile(open, named)
}

// readHolder reads who holds path. The holder may be between truncating and writing, so an
// unreadable file is read again briefly before the holder is called unknown.
func readHolder(path string) HolderInfo {
	for attempt := 0; ; attempt++ {
		raw, err := readNoFollow(path)
		var h HolderInfo
		if err == nil && json.Unmarshal(raw, &h) == nil && h.PID != 0 {
			return h
		}
		if attempt == 5 {
			return HolderInfo{}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readNoFollow(path string) ([]byte, error) {
	f, err := openNoFollow("lock file", path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 1<<16))
}

// writeHolder replaces whatever a previous holder left with this process's details.
func (l *localLock) writeHolder() error {
	raw, err := json.Marshal(l.me)
	if err != nil {
		return err
	}
	if err := l.f.Chmod(0o600); err != nil {
		return err
	}
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	if _, err := l.f.WriteAt(append(raw, '\n'), 0); err != nil {
		return err
	}
	return l.f.Sync()
}

// release drops the lock. The lock file is removed first, while still locked, and only if it
// still names this process; lockFile's inode check makes that removal safe for others.
func (l *localLock) release() error {
	f := l.f
	var errs []error
	var h HolderInfo
	raw, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<16))
	if err == nil && json.Unmarshal(raw, &h) == nil && h.PID == l.me.PID && h.Host == l.me.Host && stillAt(f, l.path) {
		if err := os.Remove(l.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("removing lock file %s: %w", l.path, err))
		}
	}
	if err := flock(f, syscall.LOCK_UN); err != nil {
		errs = append(errs, fmt.Errorf("unlocking %s: %w", l.path, err))
	}
	if err := f.Close(); err != nil {
		errs = append(errs, fmt.Errorf("closing %s: %w", l.path, err))
	}
	return errors.Join(errs...)
}
