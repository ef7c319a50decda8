package state

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// BucketAPI is what InitBucket needs of an S3 client; *s3.Client has it.
type BucketAPI interface {
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
	CreateBucket(ctx context.Context, in *s3.CreateBucketInput, optFns ...func(*s3.Options)) (*s3.CreateBucketOutput, error)
	GetBucketTagging(ctx context.Context, in *s3.GetBucketTaggingInput, optFns ...func(*s3.Options)) (*s3.GetBucketTaggingOutput, error)
	PutBucketTagging(ctx context.Context, in *s3.PutBucketTaggingInput, optFns ...func(*s3.Options)) (*s3.PutBucketTaggingOutput, error)
	GetPublicAccessBlock(ctx context.Context, in *s3.GetPublicAccessBlockInput, optFns ...func(*s3.Options)) (*s3.GetPublicAccessBlockOutput, error)
	PutPublicAccessBlock(ctx context.Context, in *s3.PutPublicAccessBlockInput, optFns ...func(*s3.Options)) (*s3.PutPublicAccessBlockOutput, error)
	GetBucketVersioning(ctx context.Context, in *s3.GetBucketVersioningInput, optFns ...func(*s3.Options)) (*s3.GetBucketVersioningOutput, error)
	PutBucketVersioning(ctx context.Context, in *s3.PutBucketVersioningInput, optFns ...func(*s3.Options)) (*s3.PutBucketVersioningOutput, error)
	GetBucketEncryption(ctx context.Context, in *s3.GetBucketEncryptionInput, optFns ...func(*s3.Options)) (*s3.GetBucketEncryptionOutput, error)
	PutBucketEncryption(ctx context.Context, in *s3.PutBucketEncryptionInput, optFns ...func(*s3.Options)) (*s3.PutBucketEncryptionOutput, error)
}

// BucketReport is what a state bucket is like, as read back from S3.
type BucketReport struct {
	Bucket          string
	Created         bool   // this call made it (or finished making it)
	Versioning      bool   // every replaced or deleted state stays recoverable
	Encryption      string // the default encryption: AES256 (SSE-S3), aws:kms, aws:kms:dsse; "" none
	PublicBlocked   bool   // all four public access block settings on
	ManagedByTapctl bool   // tagged ManagedBy=tapctl
}

// Suitable says whether the bucket may hold tapctl's state.
func (r BucketReport) Suitable() bool { return len(r.missing()) == 0 }

func (r BucketReport) missing() []string {
	var m []string
	if !r.Versioning {
		m = append(m, "versioning is not enabled")
	}
	if r.Encryption == "" {
		m = append(m, "it has no default encryption")
	}
	if !r.PublicBlocked {
		m = append(m, "public access is not blocked (all four settings)")
	}
	return m
}

// InitBucket makes bucket fit for tapctl's state in region: created with versioning, default
// encryption (SSE-S3), every public access blocked and the tag ManagedBy=tapctl, then read back.
// A bucket that exists is checked, not changed, unless it is tapctl's own (its tag), which a
// killed earlier init may have left half made: that one is finished. Another bucket that lacks
// a setting is refused, naming what it lacks.
func InitBucket(ctx context.Context, client BucketAPI, bucket, region string) (BucketReport, error) {
	r := BucketReport{Bucket: bucket}
	_, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	switch status := httpStatusOf(err); {
	case err == nil:
	case status == 404:
		in := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
		if region != "us-east-1" { // us-east-1 takes no location constraint
			in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
		}
		if _, err := client.CreateBucket(ctx, in); err != nil {
			return r, fmt.Errorf("creating bucket %s: %w", bucket, err)
		}
		r.Created = true
	case status == 301:
		return r, fmt.Errorf("bucket %s is in another region than %s; pass that region with --region", bucket, region)
	case status == 403:
		return r, fmt.Errorf("bucket %s exists and these credentials may not use it (403); bucket names are global: choose another name, or use credentials of its owner", bucket)
	default:
		return r, fmt.Errorf("checking bucket %s: %w", bucket, err)
	}
	if r.Created {
		// The tag first: should init be killed now, the next one knows the bucket is its own.
		if err := tagBucket(ctx, client, bucket); err != nil {
			return r, err
		}
	}
	if err := r.read(ctx, client); err != nil {
		return r, err
	}
	if !r.ManagedByTapctl && !r.Created {
		if !r.Suitable() {
			return r, fmt.Errorf("bucket %s exists and is not suitable for tapctl's state: %s; fix that, or choose another bucket", bucket, strings.Join(r.missing(), ", "))
		}
		return r, nil
	}
	if !r.Suitable() {
		if err := configureBucket(ctx, client, bucket, r); err != nil {
			return r, err
		}
		r.Created = true
		if err := r.read(ctx, client); err != nil {
			return r, err
		}
		if !r.Suitable() {
			return r, fmt.Errorf("bucket %s: after setting it up, S3 reports %s", bucket, strings.Join(r.missing(), ", "))
		}
	}
	return r, nil
}

func tagBucket(ctx context.Context, client BucketAPI, bucket string) error {
	_, err := client.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(bucket), Tagging: &s3types.Tagging{
		TagSet: []s3types.Tag{{Key: aws.String("ManagedBy"), Value: aws.String("tapctl")}},
	}})
	if err != nil {
		return fmt.Errorf("tagging bucket %s: %w", bucket, err)
	}
	return nil
}

// configureBucket sets what r lacks.
func configureBucket(ctx context.Context, client BucketAPI, bucket string, r BucketReport) error {
	if !r.PublicBlocked {
		on := aws.Bool(true)
		if _, err := client.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(bucket),
			PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{BlockPublicAcls: on, IgnorePublicAcls: on, BlockPublicPolicy: on, RestrictPublicBuckets: on},
		}); err != nil {
			return fmt.Errorf("blocking public access to bucket %s: %w", bucket, err)
		}
	}
	if !r.Versioning {
		if _, err := client.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
			VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
		}); err != nil {
			return fmt.Errorf("enabling versioning of bucket %s: %w", bucket, err)
		}
	}
	if r.Encryption == "" {
		if _, err := client.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(bucket),
			ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
				ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256},
			}}},
		}); err != nil {
			return fmt.Errorf("setting the default encryption of bucket %s: %w", bucket, err)
		}
	}
	return nil
}

// read fills r from what S3 says of the bucket now. A setting never made reads as off (S3
// answers 404 with a code of its own for each).
func (r *BucketReport) read(ctx context.Context, client BucketAPI) error {
	b := aws.String(r.Bucket)
	tags, err := client.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: b})
	if err != nil && httpStatusOf(err) != 404 {
		return fmt.Errorf("reading the tags of bucket %s: %w", r.Bucket, err)
	}
	r.ManagedByTapctl = false
	if err == nil {
		for _, t := range tags.TagSet {
			if aws.ToString(t.Key) == "ManagedBy" && aws.ToString(t.Value) == "tapctl" {
				r.ManagedByTapctl = true
			}
		}
	}
	pab, err := client.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b})
	if err != nil && httpStatusOf(err) != 404 {
		return fmt.Errorf("reading the public access block of bucket %s: %w", r.Bucket, err)
	}
	r.PublicBlocked = false
	if err == nil && pab.PublicAccessBlockConfiguration != nil {
		c := pab.PublicAccessBlockConfiguration
		r.PublicBlocked = aws.ToBool(c.BlockPublicAcls) && aws.ToBool(c.IgnorePublicAcls) && aws.ToBool(c.BlockPublicPolicy) && aws.ToBool(c.RestrictPublicBuckets)
	}
	ver, err := client.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: b})
	if err != nil {
		return fmt.Errorf("reading the versioning of bucket %s: %w", r.Bucket, err)
	}
	r.Versioning = ver.Status == s3types.BucketVersioningStatusEnabled
	enc, err := client.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b})
	if err != nil && httpStatusOf(err) != 404 {
		return fmt.Errorf("reading the default encryption of bucket %s: %w", r.Bucket, err)
	}
	r.Encryption = ""
	if err == nil && enc.ServerSideEncryptionConfiguration != nil {
		for _, rule := range enc.ServerSideEncryptionConfiguration.Rules {
			if d := rule.ApplyServerSideEncryptionByDefault; d != nil && d.SSEAlgorithm != "" {
				r.Encryption = string(d.SSEAlgorithm)
			}
		}
	}
	return nil
}

func httpStatusOf(err error) int {
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		return status.HTTPStatusCode()
	}
	return 0
}
