package provision

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// requestToken is an idempotency token for a create call: the same inputs give the same token,
// so a retried create whose first answer was lost returns the resource it already made. The
// parts should include something that changes between environments' lifetimes (a parent's ID),
// so a token never matches a resource deleted by an earlier teardown. 32 hex characters fit
// every API's limit (ECS clientToken: 36).
func requestToken(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:16])
}
