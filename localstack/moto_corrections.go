package localstack

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// motoServerScript runs moto_server with the corrections where moto refuses what AWS accepts
// (moto_server.py names each one and its source).
//
//go:embed moto_server.py
var motoServerScript []byte

// correctedServer writes the script, run by the virtualenv's python, once per content to the
// temporary directory, and returns its path: Start runs it in place of moto_server.
func correctedServer(motoServer string) (string, error) {
	python := filepath.Join(filepath.Dir(motoServer), "python")
	body := append([]byte("#!"+python+"\n"), motoServerScript...)
	sum := sha256.Sum256(body)
	path := filepath.Join(os.TempDir(), "tapctl-moto-server-"+hex.EncodeToString(sum[:8])+".py")
	if got, err := os.ReadFile(path); err == nil && string(got) == string(body) {
		return path, nil
	}
	tmp, err := os.CreateTemp(os.TempDir(), ".tapctl-moto-server-*")
	if err != nil {
		return "", fmt.Errorf("writing the moto launcher: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(body); err != nil {
		tmp.Close()
		return "", fmt.Errorf("writing the moto launcher: %w", err)
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return "", fmt.Errorf("writing the moto launcher: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("writing the moto launcher: %w", err)
	}
	// A rename is atomic: parallel test binaries each write their own copy and the last wins.
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("writing the moto launcher: %w", err)
	}
	return path, nil
}
