package cmd

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

// up --ttl: how long the environment lives before tapctl gc may delete it.

// maxTTL keeps the expiry a date AWS and people read alike; an environment meant to live
// longer simply takes no --ttl.
const maxTTL = 3650 * 24 * time.Hour

func ttlFlag() cli.Flag {
	return &cli.StringFlag{Name: "ttl", Usage: "mark the environment to expire this long from now, e.g. 72h, 3d or 90m (tapctl gc deletes it after); a later up --ttl sets it again, an up without --ttl keeps it"}
}

// checkTTL parses --ttl before any AWS call; zero when it is not given.
func checkTTL(c *cli.Context) (time.Duration, error) {
	if !c.IsSet("ttl") {
		return 0, nil
	}
	raw := c.String("ttl")
	d, err := parseTTL(raw)
	if err != nil {
		return 0, usagef("invalid --ttl %q: %v", raw, err)
	}
	return d, nil
}

// parseTTL reads a Go duration (72h, 90m, 1h30m) or whole days (3d, also 2d12h); it must be
// more than 0 and at most ten years.
func parseTTL(raw string) (time.Duration, error) {
	s := strings.TrimSpace(raw)
	var days time.Duration
	whole := false
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseUint(s[:i], 10, 16)
		if err != nil {
			return 0, fmt.Errorf("a duration such as 72h, 3d or 90m")
		}
		days, s, whole = time.Duration(n)*24*time.Hour, s[i+1:], true
	}
	var rest time.Duration
	if s != "" || !whole {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("a duration such as 72h, 3d or 90m")
		}
		rest = d
	}
	d := days + rest
	switch {
	case rest < 0 || d <= 0:
		return 0, fmt.Errorf("the environment must live more than 0 (an up without --ttl keeps the expiry it has)")
	case d > maxTTL:
		return 0, fmt.Errorf("at most %dd; an environment meant to live longer takes no --ttl", int(maxTTL.Hours()/24))
	}
	return d, nil
}
