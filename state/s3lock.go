package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The S3 lock of an environment is the object PREFIX/ENV.lock:
//  1. take: PutObject with If-None-Match: * — only one run can create it; it names the holder
//     (user@host, pid, start), a random token and the lease;
//  2. renew: every quarter lease the holder rewrites it with If-Match on the ETag it last wrote;
//     a refused renewal means the lock was broken or taken over, and the run stops;
//  3. refuse: a run that finds the lock within its lease reads it and names the holder;
//  4. take over: a lock not renewed for a whole lease (S3's clock: its Last-Modified against
//     the Date of the answer) is replaced with If-Match on the ETag just read, so of two takers
//     that read the same expired lock, one replaces it and the other's condition fails;
//  5. release: DeleteObject with If-Match on the holder's last ETag, so it never deletes a lock
//     another run has taken over since.

// DefaultLease is how long an S3 lock lasts without renewal: a run that dies holds its
// environment that long at most. It is renewed every quarter lease (30 s).
const DefaultLease = 2 * time.Minute

// lockBody is the lock object's content.
type lockBody struct {
	HolderInfo
	// Token is the holding run's random id: it tells the run's own lock from any other, even
	// when the answer to its put was lost and the SDK sent it again.
	Token string `json:"token"`
	// LeaseSeconds is the holder's lease: a taker waits that long after the last renewal.
	LeaseSeconds float64 `json:"leaseSeconds"`
	// Renewed changes with every renewal, and so does the object's ETag.
	Renewed time.Time `json:"renewed"`
}

// currentLock is the lock object as read, with what it means.
type currentLock struct {
	object
	body     lockBody
	readable bool
}

// lease is the holder's lease, or this run's when the lock does not say (or cannot be read).
func (c currentLock) lease(fallback time.Duration) time.Duration {
	if c.readable && c.body.LeaseSeconds > 0 {
		return time.Duration(c.body.LeaseSeconds * float64(time.Second))
	}
	return fallback
}

// expiry is when the lock lapses, on S3's clock: a lease after its last write.
func (c currentLock) expiry(fallback time.Duration) time.Time {
	return c.lastModified.Add(c.lease(fallback))
}

func (c currentLock) expired(fallback time.Duration) bool {
	return !c.serverNow.Before(c.expiry(fallback))
}

func (b *s3Backend) holderOf(c currentLock, key string) HolderInfo {
	h := c.body.HolderInfo
	if !c.readable {
		h = HolderInfo{Holder: "unknown (the lock object is not tapctl's)", Started: c.lastModified}
	}
	h.Expires, h.Where = c.expiry(b.lease), b.url(key)
	return h
}

func (b *s3Backend) readLock(ctx context.Context, key string) (currentLock, error) {
	o, err := b.get(ctx, key)
	if err != nil {
		return currentLock{}, err
	}
	c := currentLock{object: o}
	c.readable = json.Unmarshal(o.raw, &c.body) == nil && c.body.Token != ""
	return c, nil
}

// whoAmI is user@host, the pid and the start of this run.
func whoAmI() HolderInfo {
	host, _ := os.Hostname()
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	return HolderInfo{PID: os.Getpid(), Host: host, Holder: name + "@" + host, Started: time.Now().UTC().Truncate(time.Second)}
}

func (b *s3Backend) lock(ctx context.Context, env string) (*Lock, error) {
	key := b.lockKey(env)
	s := &s3Lock{b: b, key: key, body: lockBody{HolderInfo: whoAmI(), Token: newToken(), LeaseSeconds: b.lease.Seconds()}}
	for attempt := 0; attempt < 5; attempt++ {
		raw := s.nextBody()
		etag, err := b.putOnce(ctx, key, raw, "")
		if err == nil {
			return s.hold(etag, nil), nil
		}
		if !errors.Is(err, errConflict) {
			return nil, fmt.Errorf("taking the lock %s: %w", b.url(key), err)
		}
		cur, err := b.readLock(ctx, key)
		if errors.Is(err, errMissing) {
			continue // released in between: try again
		} else if err != nil {
			return nil, fmt.Errorf("reading the lock %s: %w", b.url(key), err)
		}
		if cur.readable && cur.body.Token == s.body.Token {
			return s.hold(cur.etag, nil), nil // our own put, resent after its answer was lost
		}
		if !cur.expired(b.lease) {
			return nil, &LockedError{Env: env, Holder: b.holderOf(cur, key)}
		}
		// Not renewed for a whole lease: its run died or lost touch. Replace exactly the lock
		// just read; a renewal or another taker in between makes the condition fail.
		etag, err = b.put(ctx, key, raw, cur.etag)
		switch {
		case err == nil:
			previous := b.holderOf(cur, key)
			return s.hold(etag, &previous), nil
		case errors.Is(err, errConflict), errors.Is(err, errMissing):
			continue // someone else moved first: read again
		}
		return nil, fmt.Errorf("taking over the lapsed lock %s: %w", b.url(key), err)
	}
	return nil, fmt.Errorf("taking the lock %s: it kept changing hands; try again", b.url(key))
}

func (b *s3Backend) holder(ctx context.Context, env string) (HolderInfo, bool, error) {
	key := b.lockKey(env)
	cur, err := b.readLock(ctx, key)
	if errors.Is(err, errMissing) {
		return HolderInfo{}, false, nil
	} else if err != nil {
		return HolderInfo{}, false, fmt.Errorf("reading the lock %s: %w", b.url(key), err)
	}
	return b.holderOf(cur, key), true, nil
}

// breakLock deletes the lock as it was read, so a renewal in between is noticed and read
// again rather than a newer lock deleted unseen.
func (b *s3Backend) breakLock(ctx context.Context, env string) (HolderInfo, bool, error) {
	key := b.lockKey(env)
	for attempt := 0; attempt < 3; attempt++ {
		cur, err := b.readLock(ctx, key)
		if errors.Is(err, errMissing) {
			return HolderInfo{}, false, nil
		} else if err != nil {
			return HolderInfo{}, false, fmt.Errorf("reading the lock %s: %w", b.url(key), err)
		}
		_, err = b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.loc.Bucket), Key: aws.String(key), IfMatch: aws.String(cur.etag)})
		switch err = classify(err); {
		case err == nil, errors.Is(err, errMissing):
			return b.holderOf(cur, key), true, nil
		case !errors.Is(err, errConflict):
			return HolderInfo{}, false, fmt.Errorf("deleting the lock %s: %w", b.url(key), err)
		}
	}
	return HolderInfo{}, false, fmt.Errorf("deleting the lock %s: it changed three times while being broken; try again", b.url(key))
}

// s3Lock is a held S3 lock and its renewal.
type s3Lock struct {
	b    *s3Backend
	key  string
	lock *Lock

	mu   sync.Mutex // body and etag: the renewer and release
	body lockBody
	etag string

	stop, done chan struct{}
}

// nextBody is the lock's content as of now: every write differs from the one before.
func (s *s3Lock) nextBody() []byte {
	now := time.Now().UTC()
	s.body.Renewed, s.body.Expires = now, now.Add(s.b.lease)
	raw, _ := json.Marshal(s.body)
	return raw
}

func (s *s3Lock) hold(etag string, replaced *HolderInfo) *Lock {
	s.etag = etag
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	s.lock = &Lock{release: s.release, lost: make(chan struct{}), replaced: replaced}
	go s.renew()
	return s.lock
}

// renew rewrites the lock every quarter lease until release. A refused renewal means someone
// broke or took the lock. A renewal that fails otherwise (the network, a slow answer) is tried
// again at the next tick, until the lease has run out since the last one that succeeded
// (counted from when that one was sent, so never later than S3 counts it): then another run
// may take the lock, and it counts as lost too.
func (s *s3Lock) renew() {
	defer close(s.done)
	every := s.b.lease / 4
	tick := time.NewTicker(every)
	defer tick.Stop()
	renewed := time.Now()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		sent := time.Now()
		ctx, cancel := context.WithDeadline(context.Background(), renewed.Add(s.b.lease))
		s.mu.Lock()
		raw := s.nextBody()
		etag, err := s.b.put(ctx, s.key, raw, s.etag)
		if err == nil {
			s.etag = etag
		}
		s.mu.Unlock()
		cancel()
		switch {
		case err == nil:
			renewed = sent
		case errors.Is(err, errConflict), errors.Is(err, errMissing):
			s.lose(s.takenBy())
			return
		case time.Since(renewed) >= s.b.lease:
			s.lose(fmt.Errorf("the lock %s could not be renewed since %s (%v); another run may take it now", s.b.url(s.key), renewed.UTC().Format(time.TimeOnly+"Z"), err))
			return
		}
	}
}

// takenBy says who has the lock now, as well as a read can tell.
func (s *s3Lock) takenBy() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.b.lease/4)
	defer cancel()
	cur, err := s.b.readLock(ctx, s.key)
	switch {
	case errors.Is(err, errMissing):
		return fmt.Errorf("the lock %s was broken (tapctl unlock)", s.b.url(s.key))
	case err != nil || !cur.readable:
		return fmt.Errorf("the lock %s was broken or taken over", s.b.url(s.key))
	}
	h := cur.body.HolderInfo
	return fmt.Errorf("the lock %s was taken over by %s (pid %d) at %s", s.b.url(s.key), h.Holder, h.PID, cur.lastModified.UTC().Format(time.RFC3339))
}

func (s *s3Lock) lose(why error) {
	s.lock.lostErr = why
	close(s.lock.lost)
}

// release stops the renewal and deletes the lock if it is still this run's.
func (s *s3Lock) release() error {
	close(s.stop)
	<-s.done
	if s.lock.LostErr() != nil {
		return nil // not ours any more: nothing to delete
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.b.lease)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.b.loc.Bucket), Key: aws.String(s.key), IfMatch: aws.String(s.etag)})
	switch err = classify(err); {
	case err == nil, errors.Is(err, errMissing):
		return nil
	case errors.Is(err, errConflict):
		return fmt.Errorf("releasing the lock %s: it is no longer this run's; left as it is", s.b.url(s.key))
	}
	return fmt.Errorf("releasing the lock %s: %w (it lapses by itself %s after its last renewal)", s.b.url(s.key), err, s.b.lease)
}
