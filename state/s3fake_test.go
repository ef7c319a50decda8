package state

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// fakeS3 keeps objects in memory and honours If-None-Match: * and If-Match on PutObject and
// If-Match on DeleteObject as S3 does: 412 when the condition fails, 404 for If-Match on a
// missing object. ETags are the MD5 of the content, as S3's are without KMS.
type fakeS3 struct {
	mu      sync.Mutex
	objects map[string]fakeObject
	clock   func() time.Time
	calls   []string
	// afterGet runs after each GetObject, outside the lock (tests line up racers with it).
	afterGet func(key string)
	// loseNextPutAnswer stores the next put and answers it as the SDK's resent request
	// would be answered: 412, since the object already holds it.
	loseNextPutAnswer bool
}

type fakeObject struct {
	raw      []byte
	etag     string
	modified time.Time
}

type statusError struct{ code int }

func (e statusError) Error() string       { return fmt.Sprintf("fake S3: HTTP %d", e.code) }
func (e statusError) HTTPStatusCode() int { return e.code }

func newFakeS3(clock func() time.Time) *fakeS3 {
	return &fakeS3{objects: map[string]fakeObject{}, clock: clock}
}

func (f *fakeS3) note(op, key string) {
	f.calls = append(f.calls, op+" "+key)
}

func (f *fakeS3) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fakeS3) object(key string) (fakeObject, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.objects[key]
	return o, ok
}

func (f *fakeS3) set(key string, raw []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.objects[key] = f.newObject(raw)
}

func (f *fakeS3) newObject(raw []byte) fakeObject {
	sum := md5.Sum(raw)
	return fakeObject{raw: append([]byte(nil), raw...), etag: `"` + hex.EncodeToString(sum[:]) + `"`, modified: f.clock().Truncate(time.Second)}
}

func (f *fakeS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	key := aws.ToString(in.Key)
	f.mu.Lock()
	f.note("GetObject", key)
	o, ok := f.objects[key]
	f.mu.Unlock()
	if f.afterGet != nil {
		defer f.afterGet(key)
	}
	if !ok {
		return nil, statusError{404}
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(o.raw)), ETag: aws.String(o.etag), LastModified: aws.Time(o.modified)}, nil
}

func (f *fakeS3) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	key := aws.ToString(in.Key)
	raw, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.note("PutObject", key)
	cur, exists := f.objects[key]
	switch {
	case aws.ToString(in.IfNoneMatch) == "*" && exists:
		return nil, statusError{412}
	case in.IfMatch != nil && !exists:
		return nil, statusError{404}
	case in.IfMatch != nil && *in.IfMatch != cur.etag:
		return nil, statusError{412}
	}
	o := f.newObject(raw)
	f.objects[key] = o
	if f.loseNextPutAnswer {
		f.loseNextPutAnswer = false
		return nil, statusError{412}
	}
	return &s3.PutObjectOutput{ETag: aws.String(o.etag)}, nil
}

func (f *fakeS3) DeleteObject(_ context.Context, in *s3.DeleteObjectInput, _ ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	key := aws.ToString(in.Key)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.note("DeleteObject", key)
	cur, exists := f.objects[key]
	switch {
	case in.IfMatch != nil && !exists:
		return nil, statusError{404}
	case in.IfMatch != nil && *in.IfMatch != cur.etag:
		return nil, statusError{412}
	}
	delete(f.objects, key)
	return &s3.DeleteObjectOutput{}, nil
}

// fakeClock is a settable clock for lease tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fakeBackend is the S3 backend on fake with the given lease and clock.
func fakeBackend(fake *fakeS3, lease time.Duration, clock func() time.Time) *s3Backend {
	b := S3(fake, S3Location{Bucket: "state-bucket", Prefix: "ci"}, S3Options{Lease: lease}).(*s3Backend)
	b.now = clock
	return b
}
