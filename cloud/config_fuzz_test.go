package cloud

import (
	"strings"
	"testing"
)

// FuzzValidateRegion: any --region value is accepted as a region code or refused with one line
// that quotes it; nothing panics.
func FuzzValidateRegion(f *testing.F) {
	for _, s := range []string{"us-east-1", "eu-west-2", "us-gov-west-1", "", "moon", "US-EAST-1", "us-east-1\n", "us-east-123", "é-a-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, region string) {
		err := ValidateRegion(region)
		if err == nil {
			if region != "" && !regionPattern.MatchString(region) {
				t.Fatalf("accepted %q", region)
			}
			return
		}
		if region == "" {
			t.Fatalf("refused the empty region (the config chain's default): %v", err)
		}
		if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "unknown region") {
			t.Fatalf("error for %q is not one clear line: %q", region, msg)
		}
	})
}
