package provision

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tapctl/tapctl/catalog"
)

// NetworkSetting is how the state file remembers the network up applied last (SettingNetwork),
// e.g. "natGateways=3;gatewayEndpoints=true;interfaceEndpoints=ecr.api,logs".
func NetworkSetting(n catalog.Network) string {
	return fmt.Sprintf("natGateways=%d;gatewayEndpoints=%t;interfaceEndpoints=%s", n.NATGateways, n.GatewayEndpoints, strings.Join(n.InterfaceEndpoints, ","))
}

// ParseNetworkSetting reads NetworkSetting's form back; an empty or unreadable one is an error
// (the caller keeps the default).
func ParseNetworkSetting(s string) (catalog.Network, error) {
	n := catalog.Network{}
	seen := 0
	for part := range strings.SplitSeq(s, ";") {
		key, value, ok := strings.Cut(part, "=")
		if !ok {
			return n, fmt.Errorf("network setting %q: %q is not key=value", s, part)
		}
		var err error
		switch key {
		case "natGateways":
			n.NATGateways, err = strconv.Atoi(value)
			if err == nil && n.NATGateways != 1 && n.NATGateways != AZCount {
				err = fmt.Errorf("%d NAT gateways", n.NATGateways)
			}
		case "gatewayEndpoints":
			n.GatewayEndpoints, err = strconv.ParseBool(value)
		case "interfaceEndpoints":
			for _, kind := range strings.Split(value, ",") {
				switch {
				case kind == "":
				case slices.Contains(catalog.InterfaceKinds, kind):
					n.InterfaceEndpoints = append(n.InterfaceEndpoints, kind)
				default:
					err = fmt.Errorf("unknown interface endpoint %q", kind)
				}
			}
		default:
			err = fmt.Errorf("unknown key %q", key)
		}
		if err != nil {
			return n, fmt.Errorf("network setting %q: %w", s, err)
		}
		seen++
	}
	if seen != 3 {
		return n, fmt.Errorf("network setting %q: want natGateways, gatewayEndpoints and interfaceEndpoints", s)
	}
	return n, nil
}
