// Package state keeps one JSON file per environment with the IDs tapctl created, written
// atomically after every change so that a run killed at any instant loses nothing.
package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// SchemaVersion is the version of the file layout this tapctl writes.
const SchemaVersion = 1

var (
	ErrCorrupt     = errors.New("state file is corrupt")
	ErrNewerSchema = errors.New("state file was written by a newer tapctl")
)

// Resource is what tapctl remembers about one AWS resource: IDs and non-secret attributes only.
type Resource struct {
	ID    string            `json:"id"`
	ARN   string            `json:"arn,omitempty"`
	Attrs map[string]string `json:"attrs,omitempty"`
}

func (r Resource) equal(o Resource) bool {
	return r.ID == o.ID && r.ARN == o.ARN && maps.Equal(r.Attrs, o.Attrs)
}

func (r Resource) clone() Resource {
	r.Attrs = maps.Clone(r.Attrs)
	return r
}

type file struct {
	SchemaVersion int                 `json:"schemaVersion"`
	Env           string              `json:"env"`
	CreatedAt     time.Time           `json:"createdAt"`
	UpdatedAt     time.Time           `json:"updatedAt"`
	Settings      map[string]string   `json:"settings,omitempty"`
	Resources     map[string]Resource `json:"resources"`
}

// Store is one environment's state file, safe for concurrent use by goroutines.
type Store struct {
	dir, env, path string
	mu             sync.Mutex
	data           file
	exists         bool
}

// Open reads the environment's state file; a missing file is an empty state.
func Open(dir, env string) (*Store, error) {
	s := &Store{dir: dir, env: env, path: filepath.Join(dir, env+".json")}
	s.data = file{SchemaVersion: SchemaVersion, Env: env, Settings: map[string]string{}, Resources: map[string]Resource{}}
	raw, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading state file %s: %w", s.path, err)
	}
	var probe struct {
		SchemaVersion *int `json:"schemaVersion"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil || probe.SchemaVersion == nil {
		return nil, corrupt(s.path, err)
	}
	if *probe.SchemaVersion > SchemaVersion {
		return nil, fmt.Errorf("%w: %s has schema version %d, this tapctl reads up to %d; upgrade tapctl", ErrNewerSchema, s.path, *probe.SchemaVersion, SchemaVersion)
	}
	var f file
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&f); err != nil || dec.More() {
		return nil, corrupt(s.path, err)
	}
	if f.SchemaVersion < 1 {
		return nil, corrupt(s.path, fmt.Errorf("schema version %d", f.SchemaVersion))
	}
	if f.Env != env {
		return nil, fmt.Errorf("%w: %s belongs to environment %q, not %q; tapctl will not overwrite it", ErrCorrupt, s.path, f.Env, env)
	}
	for key, r := range f.Resources {
		if key == "" || r.ID == "" {
			return nil, corrupt(s.path, fmt.Errorf("resource %q has no id", key))
		}
	}
	if f.Settings == nil {
		f.Settings = map[string]string{}
	}
	if f.Resources == nil {
		f.Resources = map[string]Resource{}
	}
	s.data, s.exists = f, true
	return s, nil
}

func corrupt(path string, cause error) error {
	detail := "not a tapctl state file"
	if cause != nil {
		detail = strings.Join(strings.Fields(cause.Error()), " ")
	}
	return fmt.Errorf("%w: %s (%s); fix or move it away, tapctl will not overwrite it", ErrCorrupt, path, detail)
}

// Path is where the file lives.
func (s *Store) Path() string { return s.path }

// Exists reports whether the file is on disk.
func (s *Store) Exists() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exists
}

// Get returns a copy of the resource recorded under key.
func (s *Store) Get(key string) (Resource, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.data.Resources[key]
	return r.clone(), ok
}

// Put records a resource and saves at once; recording what is already there writes nothing.
func (s *Store) Put(key string, r Resource) error {
	if key == "" || r.ID == "" {
		return fmt.Errorf("recording %q in the state file: empty key or id", key)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.data.Resources[key]; ok && old.equal(r) {
		return nil
	}
	next := s.copyData()
	next.Resources[key] = r.clone()
	return s.save(next)
}

// Delete forgets a resource and saves at once; forgetting a missing key writes nothing.
func (s *Store) Delete(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.data.Resources[key]; !ok {
		return nil
	}
	next := s.copyData()
	delete(next.Resources, key)
	return s.save(next)
}

// Keys lists the recorded resources, sorted.
func (s *Store) Keys() []string { return s.KeysWithPrefix("") }

// KeysWithPrefix lists the recorded resources whose key starts with prefix, sorted.
func (s *Store) KeysWithPrefix(prefix string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for k := range s.data.Resources {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// Setting is an environment-level choice, e.g. "mesh"; "" when unset.
func (s *Store) Setting(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data.Settings[name]
}

// SetSetting records a choice and saves at once; an unchanged value writes nothing.
func (s *Store) SetSetting(name, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.data.Settings[name]; ok && cur == value {
		return nil
	}
	next := s.copyData()
	next.Settings[name] = value
	return s.save(next)
}

// Remove deletes the file, after a successful teardown. A missing file is fine.
func (s *Store) Remove() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing state file %s: %w", s.path, err)
	}
	s.exists = false
	s.data.Resources = map[string]Resource{}
	return nil
}

func (s *Store) copyData() file {
	next := s.data
	next.Settings = maps.Clone(s.data.Settings)
	next.Resources = make(map[string]Resource, len(s.data.Resources)+1)
	for k, r := range s.data.Resources {
		next.Resources[k] = r.clone()
	}
	return next
}

// save writes next atomically and adopts it only when the write succeeded, so memory and disk
// never disagree. Callers hold s.mu.
func (s *Store) save(next file) error {
	now := time.Now().UTC()
	if next.CreatedAt.IsZero() {
		next.CreatedAt = now
	}
	next.UpdatedAt = now
	raw, err := json.MarshalIndent(next, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding state file %s: %w", s.path, err)
	}
	if err := WriteFileAtomic(s.path, append(raw, '\n')); err != nil {
		return fmt.Errorf("saving state file: %w", err)
	}
	s.data, s.exists = next, true
	return nil
}

// WriteFileAtomic replaces path with data so that a reader sees either the old or the new
// content, never a part: temporary file in the same directory, fsync, rename, fsync the directory.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating directory %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	done = true
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
