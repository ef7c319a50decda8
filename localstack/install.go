package localstack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// install makes sure <repo>/.venv-moto holds the pinned moto[server] and returns the path of its
// moto_server. An flock on <repo>/.venv-moto.lock keeps parallel test binaries (go test ./...
// runs packages at once) from installing together; the others wait and then find it installed.
func install(ctx context.Context) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	venv := filepath.Join(root, venvDir)
	server := filepath.Join(venv, "bin", "moto_server")

	lock, err := os.OpenFile(filepath.Join(root, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", fmt.Errorf("installing moto: %w", err)
	}
	defer lock.Close() // closing releases the flock
	if err := flock(ctx, lock); err != nil {
		return "", fmt.Errorf("installing moto: locking %s: %w", lock.Name(), err)
	}

	if installed(venv, server) {
		return server, nil
	}
	spec := "moto[server]==" + MotoVersion
	fmt.Fprintf(os.Stderr, "localstack: installing %s into %s (first run only)\n", spec, venvDir)

	logFile, err := os.CreateTemp("", "tapctl-moto-install-*.log")
	if err != nil {
		return "", fmt.Errorf("installing moto: %w", err)
	}
	defer logFile.Close()
	python := "python3"
	if p := os.Getenv("PYTHON"); p != "" {
		python = p
	}
	steps := [][]string{
		// --clear: a venv with another version, or one whose scripts name a python that is gone
		// (the repository was moved), is rebuilt rather than patched.
		{python, "-m", "venv", "--clear", venv},
		{filepath.Join(venv, "bin", "pip"), "install", "--quiet", "--disable-pip-version-check", spec},
	}
	for _, args := range steps {
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Run(); err != nil {
			if ctx.Err() != nil {
				return "", fmt.Errorf("installing moto: %w", ctx.Err())
			}
			return "", &startError{
				msg:     fmt.Sprintf("installing moto: %s: %v", strings.Join(args, " "), err),
				tail:    fileTail(logFile.Name(), logTailLines),
				logPath: logFile.Name(),
			}
		}
	}
	if err := os.WriteFile(filepath.Join(venv, versionMarker), []byte(MotoVersion+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("installing moto: %w", err)
	}
	logFile.Close()
	os.Remove(logFile.Name())
	return server, nil
}

// installed: the marker names the pinned version and moto_server exists with a working
// interpreter line (a virtualenv's scripts name its python by absolute path).
func installed(venv, server string) bool {
	got, err := os.ReadFile(filepath.Join(venv, versionMarker))
	if err != nil || strings.TrimSpace(string(got)) != MotoVersion {
		return false
	}
	f, err := os.Open(server)
	if err != nil {
		return false
	}
	defer f.Close()
	first, _ := bufio.NewReader(f).ReadString('\n')
	if interp, ok := strings.CutPrefix(strings.TrimSpace(first), "#!"); ok {
		if fields := strings.Fields(interp); len(fields) > 0 {
			if _, err := os.Stat(fields[0]); err != nil {
				return false
			}
		}
	}
	return true
}

// flock takes an exclusive lock on f, waiting for other holders while ctx allows.
func flock(ctx context.Context, f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// --- start-up -------------------------------------------------------------------------------
