package state

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
)

// Backend is where environments' state files and locks are kept: a local directory (Dir, the
// default) or a prefix of an S3 bucket (S3). Store and Lock behave the same on both; only these
// few operations differ. The methods are unexported: the two backends are the package's own.
type Backend interface {
	// Where names an environment's state file in messages: a path or an s3:// URL.
	Where(env string) string
	// read returns the state's bytes and a version that tells this copy from any later one;
	// errNoState when there is none.
	read(ctx context.Context, env string) (raw []byte, version string, err error)
	// write replaces the state with raw in one step, only if it is still at version ("": only
	// if there is none), and returns the new version. A version with an error means raw was
	// stored but something after it failed. A state someone else wrote since is refused with
	// ErrChanged and left as it is.
	write(env string, raw []byte, version string) (string, error)
	// remove deletes the state if it is still at version; a missing state is fine.
	remove(env, version string) error
	// lock takes the environment's lock at once or fails with *LockedError.
	lock(ctx context.Context, env string) (*Lock, error)
	// holder says who holds the environment's lock; false when no one does.
	holder(ctx context.Context, env string) (HolderInfo, bool, error)
	// breakLock removes the environment's lock whoever holds it and says whose it was; false
	// when there was none.
	breakLock(ctx context.Context, env string) (HolderInfo, bool, error)
}

// errNoState: the environment has no state file yet.
var errNoState = errors.New("no state file")

// asideKeeper is a backend that can keep a run's own state beside one written by someone else
// since the run read it, so that a conflict loses neither (S3: a second object).
type asideKeeper interface {
	keepAside(env, token string, raw []byte) (where string, err error)
}

// OpenIn reads the environment's state from b; a missing state is an empty one and nothing is
// written until the first change. A state tapctl cannot read is reported, never touched.
func OpenIn(ctx context.Context, b Backend, env string) (*Store, error) {
	if err := checkEnv(env); err != nil {
		return nil, err
	}
	s := &Store{backend: b, env: env, where: b.Where(env), data: emptyFile(env)}
	raw, version, err := b.read(ctx, env)
	if errors.Is(err, errNoState) {
		return s, nil
	} else if err != nil {
		return nil, err
	}
	f, err := decode(raw, s.where, env)
	if err != nil {
		return nil, err
	}
	s.data, s.version = f, version
	return s, nil
}

// AcquireIn takes the environment's lock in b at once, or fails with *LockedError naming the
// holder.
func AcquireIn(ctx context.Context, b Backend, env string) (*Lock, error) {
	if err := checkEnv(env); err != nil {
		return nil, err
	}
	return b.lock(ctx, env)
}

// HolderOf says who holds the environment's lock in b; false when no one does.
func HolderOf(ctx context.Context, b Backend, env string) (HolderInfo, bool, error) {
	if err := checkEnv(env); err != nil {
		return HolderInfo{}, false, err
	}
	return b.holder(ctx, env)
}

// Break removes the environment's lock on purpose (tapctl unlock) and says whose it was; false
// when there was none. A run whose lock is broken notices at its next renewal and stops.
func Break(ctx context.Context, b Backend, env string) (HolderInfo, bool, error) {
	if err := checkEnv(env); err != nil {
		return HolderInfo{}, false, err
	}
	return b.breakLock(ctx, env)
}

// newToken is a random name for one run's lock or conflict copy.
func newToken() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
