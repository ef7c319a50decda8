package state

import (
	"encoding/json"
	"errors"
	"fmt"
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
}

// LockedError is returned when another tapctl works on the environment.
type LockedError struct {
	Env    string
	Holder HolderInfo
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("environment %s is in use by another tapctl (pid %d on host %s, since %s); wait for it to finish",
		e.Env, e.Holder.PID, e.Holder.Host, e.Holder.Started.UTC().Format(time.RFC3339))
}

// Lock is an exclusive hold on one environment.
type Lock struct {
	f    *os.File
	path string
}

// Acquire takes the environment's lock at once or fails with *LockedError. The kernel drops
// an flock when its process dies, so a lock left by a killed tapctl is simply taken over.
func Acquire(dir, env string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory %s is not writable: %w", dir, err)
	}
	path := filepath.Join(dir, env+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state directory %s is not writable: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			var h HolderInfo
			raw, _ := os.ReadFile(path)
			_ = json.Unmarshal(raw, &h)
			return nil, &LockedError{Env: env, Holder: h}
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	host, _ := os.Hostname()
	me, _ := json.Marshal(HolderInfo{PID: os.Getpid(), Host: host, Started: time.Now().UTC()})
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt(me, 0)
		if err == nil {
			err = f.Sync()
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("state directory %s is not writable: %w", dir, err)
		}
	}
	// A probe write proves the directory takes new files (the state file is replaced by rename).
	probe, err := os.CreateTemp(dir, ".write-probe-*")
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("state directory %s is not writable: %w", dir, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	return &Lock{f: f, path: path}, nil
}

// Release drops the lock. The lock file stays: removing it would let two processes lock two
// different inodes of the same path.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := l.f.Close() // closing drops the flock
	l.f = nil
	return err
}
