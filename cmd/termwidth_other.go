//go:build !unix

package cmd

import "os"

// terminalWidth is unknown here; live lines are kept to a width that fits most terminals.
func terminalWidth(*os.File) int { return 0 }
