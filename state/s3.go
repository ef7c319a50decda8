package state

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// S3 state: each environment's state file is one object, PREFIX/ENV.json, replaced whole by one
// PutObject (S3 never shows a part of an object, and a put cut short stores nothing), and every
// put is conditional on the ETag this run last read (If-Match; If-None-Match: * for a new one),
// so a write never silently replaces another's. The lock is PREFIX/ENV.lock (s3lock.go).

// S3API is what the S3 backend needs of an S3 client; *s3.Client has it, tests wrap it.
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

// S3Location is where the S3 backend keeps its objects: s3://Bucket/Prefix.
type S3Location struct{ Bucket, Prefix string }

func (l S3Location) String() string {
	if l.Prefix == "" {
		return "s3://" + l.Bucket
	}
	return "s3://" + l.Bucket + "/" + l.Prefix
}

func (l S3Location) key(name string) string {
	if l.Prefix == "" {
		return name
	}
	return l.Prefix + "/" + name
}

// IsS3URL tells an s3:// location from anything else.
func IsS3URL(raw string) bool { return strings.HasPrefix(raw, "s3://") }

// bucketName is S3's rule for general purpose buckets: 3 to 63 lowercase letters, digits, dots
// and hyphens, starting and ending with a letter or digit.
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// ParseS3URL reads s3://BUCKET[/PREFIX]; it makes no call.
func ParseS3URL(raw string) (S3Location, error) {
	rest, ok := strings.CutPrefix(raw, "s3://")
	if !ok {
		return S3Location{}, fmt.Errorf("invalid state location %q: expected s3://BUCKET/PREFIX (a local directory is --state-dir)", raw)
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	prefix = strings.Trim(prefix, "/")
	switch {
	case bucket == "":
		return S3Location{}, fmt.Errorf("invalid state location %q: it names no bucket; e.g. s3://my-tapctl-state/ci", raw)
	case !bucketName.MatchString(bucket) || strings.Contains(bucket, ".."):
		return S3Location{}, fmt.Errorf("invalid state location %q: %q is not a bucket name (3 to 63 lowercase letters, digits, dots and hyphens)", raw, bucket)
	case strings.ContainsAny(prefix, "?#\\") || strings.Contains(prefix, "//") || strings.IndexFunc(prefix, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		return S3Location{}, fmt.Errorf("invalid state location %q: the prefix may hold letters, digits and -_./ (no empty segments, ?, # or \\)", raw)
	case len(prefix) > 512:
		return S3Location{}, fmt.Errorf("invalid state location %q: the prefix is longer than 512 bytes", raw)
	}
	return S3Location{Bucket: bucket, Prefix: prefix}, nil
}

// S3Options shape the S3 backend's lock.
type S3Options struct {
	// Lease is how long a lock lasts without renewal (DefaultLease when zero); its holder
	// renews it every quarter lease.
	Lease time.Duration
}

type s3Backend struct {
	client S3API
	loc    S3Location
	lease  time.Duration
	// now is the clock when S3's answer carries no Date (tests' fakes); S3's own clock is
	// preferred, since the holder's and the taker's may disagree.
	now func() time.Time
}

// S3 is the backend that keeps state and locks in loc through client.
func S3(client S3API, loc S3Location, opts S3Options) Backend {
	lease := opts.Lease
	if lease <= 0 {
		lease = DefaultLease
	}
	return &s3Backend{client: client, loc: loc, lease: lease, now: time.Now}
}

func (b *s3Backend) stateKey(env string) string { return b.loc.key(stateFileName(env)) }
func (b *s3Backend) lockKey(env string) string  { return b.loc.key(env + ".lock") }
func (b *s3Backend) url(key string) string      { return "s3://" + b.loc.Bucket + "/" + key }

func (b *s3Backend) Where(env string) string { return b.url(b.stateKey(env)) }

// Errors of a conditional request, told apart by HTTP status: AWS and emulators agree on the
// statuses more than on the codes.
var (
	errMissing  = errors.New("no such object")
	errConflict = errors.New("the object changed") // 412 Precondition Failed, 409 ConditionalRequestConflict
)

func classify(err error) error {
	switch httpStatusOf(err) {
	case 404:
		return fmt.Errorf("%w (%w)", errMissing, err)
	case 409, 412:
		return fmt.Errorf("%w (%w)", errConflict, err)
	}
	return err
}

// object is one read of an object.
type object struct {
	raw          []byte
	etag         string
	lastModified time.Time
	serverNow    time.Time // S3's clock at the answer (its Date), else ours
}

func (b *s3Backend) get(ctx context.Context, key string) (object, error) {
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.loc.Bucket), Key: aws.String(key)})
	if err != nil {
		return object{}, classify(err)
	}
	defer out.Body.Close()
	raw, err := io.ReadAll(out.Body)
	if err != nil {
		return object{}, err
	}
	o := object{raw: raw, etag: aws.ToString(out.ETag), lastModified: aws.ToTime(out.LastModified), serverNow: b.now()}
	if t, ok := awsmiddleware.GetServerTime(out.ResultMetadata); ok && !t.IsZero() {
		o.serverNow = t
	}
	return o, nil
}

// put stores raw at key if the object is still at etag ("": only if there is none). A refused
// condition is checked against what is there now: when that is raw itself, the SDK resent a
// put whose first answer was lost, and the object is ours.
func (b *s3Backend) put(ctx context.Context, key string, raw []byte, etag string) (string, error) {
	written, err := b.putOnce(ctx, key, raw, etag)
	if errors.Is(err, errConflict) || errors.Is(err, errMissing) {
		if cur, rerr := b.get(ctx, key); rerr == nil && bytes.Equal(cur.raw, raw) {
			return cur.etag, nil
		}
	}
	return written, err
}

// putOnce is put without the check for a resent put: for callers that read the object anyway.
func (b *s3Backend) putOnce(ctx context.Context, key string, raw []byte, etag string) (string, error) {
	in := &s3.PutObjectInput{
		Bucket: aws.String(b.loc.Bucket), Key: aws.String(key),
		Body: bytes.NewReader(raw), ContentLength: aws.Int64(int64(len(raw))),
		ContentType: aws.String("application/json"),
	}
	if etag == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(etag)
	}
	out, err := b.client.PutObject(ctx, in)
	if err != nil {
		return "", classify(err)
	}
	return aws.ToString(out.ETag), nil
}

func (b *s3Backend) read(ctx context.Context, env string) ([]byte, string, error) {
	o, err := b.get(ctx, b.stateKey(env))
	if errors.Is(err, errMissing) {
		return nil, "", errNoState
	} else if err != nil {
		return nil, "", fmt.Errorf("reading state file %s: %w", b.Where(env), err)
	}
	return o.raw, o.etag, nil
}

// saveContext: a save or remove is not cancelled with the run (Ctrl-C): the record of what AWS
// just did must land. The SDK's attempts and retries bound it.
func saveContext() context.Context { return context.Background() }

func (b *s3Backend) write(env string, raw []byte, version string) (string, error) {
	ctx, key := saveContext(), b.stateKey(env)
	etag, err := b.put(ctx, key, raw, version)
	if errors.Is(err, errMissing) && version != "" {
		// Removed since it was read (as a local file may be): written anew, only if still none.
		etag, err = b.put(ctx, key, raw, "")
	}
	switch {
	case err == nil:
		return etag, nil
	case errors.Is(err, errConflict):
		return "", changedError(b.Where(env))
	}
	return "", fmt.Errorf("saving state file %s: %w", b.Where(env), err)
}

func changedError(where string) error {
	return fmt.Errorf("%w: %s was written by another run or by hand since this tapctl read it; tapctl will not overwrite it", ErrChanged, where)
}

func (b *s3Backend) remove(env, version string) error {
	ctx, key := saveContext(), b.stateKey(env)
	if version == "" { // none was read: only one that appeared since is in the way
		if _, err := b.get(ctx, key); errors.Is(err, errMissing) {
			return nil
		} else if err != nil {
			return fmt.Errorf("removing state file %s: %w", b.Where(env), err)
		}
		return changedError(b.Where(env))
	}
	_, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.loc.Bucket), Key: aws.String(key), IfMatch: aws.String(version)})
	err = classify(err)
	switch {
	case err == nil, errors.Is(err, errMissing): // gone, perhaps by a resent delete
		return nil
	case errors.Is(err, errConflict):
		return changedError(b.Where(env))
	}
	return fmt.Errorf("removing state file %s: %w", b.Where(env), err)
}

// keepAside stores a run's own state beside the one it conflicts with, as
// PREFIX/ENV.conflict-TOKEN.json: one object per run, rewritten with each later change.
func (b *s3Backend) keepAside(env, token string, raw []byte) (string, error) {
	key := b.loc.key(env + ".conflict-" + token + ".json")
	_, err := b.client.PutObject(saveContext(), &s3.PutObjectInput{
		Bucket: aws.String(b.loc.Bucket), Key: aws.String(key),
		Body: bytes.NewReader(raw), ContentLength: aws.Int64(int64(len(raw))),
		ContentType: aws.String("application/json"),
	})
	if err != nil {
		return "", err
	}
	return b.url(key), nil
}
