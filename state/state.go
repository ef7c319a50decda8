// Package state keeps one JSON file per environment with the IDs tapctl created, written
// atomically after every change so that a run killed at any instant loses nothing.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// SchemaVersion is the version of the file layout this tapctl writes.
const SchemaVersion = 1

var (
	// ErrCorrupt: the file is not a state file this tapctl can read; it is never overwritten.
	ErrCorrupt = errors.New("state file is corrupt")
	// ErrNewerSchema: the file was written by a newer tapctl; it is never overwritten.
	ErrNewerSchema = errors.New("state file was written by a newer tapctl")
	// ErrChanged: something other than this Store replaced the file since it was read.
	ErrChanged = errors.New("state file changed on disk")
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

// clone keeps callers from changing the stored Attrs map behind the mutex's back.
func (r Resource) clone() Resource {
	r.Attrs = maps.Clone(r.Attrs)
	return r
}

// file is the on-disk layout; field order here is the order in the file.
type file struct {
	SchemaVersion int                 `json:"schemaVersion"`
	Env           string              `json:"env"`
	CreatedAt     time.Time           `json:"createdAt"`
	UpdatedAt     time.Time           `json:"updatedAt"`
	Settings      map[string]string   `json:"settings"`
	Resources     map[string]Resource `json:"resources"`
}

func emptyFile(env string) file {
	return file{SchemaVersion: SchemaVersion, Env: env, Settings: map[string]string{}, Resources: map[string]Resource{}}
}

// Store is one environment's state file, safe for concurrent use by goroutines.
type Store struct {
	dir, env, path string
	mu             sync.Mutex
	data           file
	// disk is the file as this Store last read or wrote it (nil: none), so that a file
	// replaced behind our back is refused instead of overwritten.
	disk os.FileInfo
	// scratch: changes stay in memory (see Scratch); the file is never written or removed.
	scratch bool
}

// Open reads the environment's state file; a missing file is an empty state and nothing is
// written until the first change. A file tapctl cannot read is reported, never touched.
func Open(dir, env string) (*Store, error) {
	if err := checkEnv(env); err != nil {
		return nil, err
	}
	s := &Store{dir: dir, env: env, path: filepath.Join(dir, stateFileName(env)), data: emptyFile(env)}
	raw, info, err := readRegular(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	} else if errors.Is(err, ErrSymlink) {
		return nil, err
	} else if err != nil {
		return nil, fmt.Errorf("reading state file %s: %w", s.path, err)
	}
	f, err := decode(raw, s.path, env)
	if err != nil {
		return nil, err
	}
	s.data, s.disk = f, info
	return s, nil
}

// readRegular returns the file's bytes and the stat of the same open file. O_NONBLOCK: a FIFO
// left at the path must not hang tapctl; it is refused as not a regular file. A symbolic link
// is refused without being followed (ErrSymlink).
func readRegular(path string) ([]byte, os.FileInfo, error) {
	f, err := openNoFollow("state file", path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, nil, errors.New("not a regular file")
	}
	raw, err := io.ReadAll(f)
	return raw, info, err
}

func decode(raw []byte, path, env string) (file, error) {
	// The version is read alone first: a newer layout may not fit this struct at all.
	var probe struct {
		SchemaVersion *int `json:"schemaVersion"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return file{}, corrupt(path, err)
	}
	if probe.SchemaVersion == nil {
		return file{}, corrupt(path, errors.New("no schemaVersion"))
	}
	if v := *probe.SchemaVersion; v > SchemaVersion {
		return file{}, fmt.Errorf("%w: %s has schema version %d, this tapctl reads up to version %d; upgrade tapctl (the file is left as it is)",
			ErrNewerSchema, path, v, SchemaVersion)
	} else if v < 1 {
		return file{}, corrupt(path, fmt.Errorf("schema version %d", v))
	}
	var f file
	if err := json.Unmarshal(raw, &f); err != nil {
		return file{}, corrupt(path, err)
	}
	if f.Env != env {
		return file{}, fmt.Errorf("%w: %s belongs to environment %q, not %q; fix or move it away; tapctl will not overwrite it",
			ErrCorrupt, path, f.Env, env)
	}
	for key, r := range f.Resources {
		if key == "" || r.ID == "" {
			return file{}, corrupt(path, fmt.Errorf("resource %q has no id", key))
		}
	}
	if f.Settings == nil {
		f.Settings = map[string]string{}
	}
	if f.Resources == nil {
		f.Resources = map[string]Resource{}
	}
	return f, nil
}

func corrupt(path string, cause error) error {
	// Flatten the cause: JSON errors can quote multi-line input.
	detail := strings.Join(strings.Fields(cause.Error()), " ")
	return fmt.Errorf("%w: %s (%s); fix or move it away; tapctl will not overwrite it", ErrCorrupt, path, detail)
}

// checkEnv keeps env from naming a file outside dir; naming rules proper live elsewhere.
func checkEnv(env string) error {
	if env == "" || env == "." || env == ".." || strings.ContainsAny(env, `/\`+"\x00") {
		return fmt.Errorf("invalid environment name %q for a state file", env)
	}
	return nil
}

// Path is where the file lives.
func (s *Store) Path() string { return s.path }

// Exists reports whether the file is on disk now (Lstat: a link there is not followed).
func (s *Store) Exists() bool {
	_, err := os.Lstat(s.path)
	return err == nil
}

// Get returns a copy of the resource recorded under key.
func (s *Store) Get(key string) (Resource, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.data.Resources[key]
	return r.clone(), ok
}

// Put records a resource and saves at once; recording what is already there writes nothing.
// An empty key or ID is refused: Open would reject the file it produced.
func (s *Store) Put(key string, r Resource) error {
	if key == "" || r.ID == "" {
		return fmt.Errorf("recording %q in state file %s: empty key or id", key, s.path)
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
	keys := []string{}
	for k := range s.data.Resources {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// Setting is an environment-level choice, e.g. "mesh"; "" when unset.
func (s *Store) Setting(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data.Settings[name]
}

// SetSetting records a choice and saves at once; an unchanged value writes nothing. Setting
// reads "" as unset, so storing "" removes the entry.
func (s *Store) SetSetting(name, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data.Settings[name] == value {
		return nil
	}
	next := s.copyData()
	if value == "" {
		delete(next.Settings, name)
	} else {
		next.Settings[name] = value
	}
	return s.save(next)
}

// Remove deletes the file after a successful teardown and empties the Store; a missing file
// is fine. A file replaced behind this Store's back is left alone.
func (s *Store) Remove() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.scratch {
		s.data = emptyFile(s.env)
		return nil
	}
	if err := s.checkDisk(); err != nil {
		return err
	}
	if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing state file %s: %w", s.path, err)
	}
	s.data, s.disk = emptyFile(s.env), nil
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

// checkDisk refuses to replace a file someone else wrote since we read it (an edit by hand,
// a second tapctl that ignored the lock). A file deleted meanwhile may be written again.
// Callers hold s.mu.
func (s *Store) checkDisk() error {
	// Lstat: a link planted at the path is refused, neither followed nor replaced.
	cur, err := os.Lstat(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking state file %s: %w", s.path, err)
	}
	if cur.Mode()&os.ModeSymlink != 0 {
		return symlinkError("state file", s.path)
	}
	if s.disk != nil && os.SameFile(cur, s.disk) && cur.Size() == s.disk.Size() && cur.ModTime().Equal(s.disk.ModTime()) {
		return nil
	}
	return fmt.Errorf("%w: %s was written by something else since this tapctl read it; check it and run again; tapctl will not overwrite it",
		ErrChanged, s.path)
}

// save writes next atomically and adopts it only once it is on disk, so memory and disk never
// disagree. Callers hold s.mu, which serializes saves.
func (s *Store) save(next file) error {
	if s.scratch {
		s.data = next
		return nil
	}
	now := time.Now().UTC()
	if next.CreatedAt.IsZero() {
		next.CreatedAt = now
	}
	next.SchemaVersion, next.UpdatedAt = SchemaVersion, now
	raw, err := encode(next)
	if err != nil {
		return fmt.Errorf("encoding state file %s: %w", s.path, err)
	}
	if err := s.checkDisk(); err != nil {
		return err
	}
	info, err := writeAtomic(s.dir, s.path, raw)
	if info != nil { // renamed into place, even if the directory sync then failed
		s.data, s.disk = next, info
	}
	if err != nil {
		return fmt.Errorf("saving state file %s: %w", s.path, err)
	}
	return nil
}
