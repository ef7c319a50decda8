// Package state keeps one JSON file per environment with the IDs tapctl created, written
// atomically after every change so that a run killed at any instant loses nothing, and the
// lock that keeps two runs of one environment apart: in a local directory or on S3 (Backend).
package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
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
	ErrChanged = errors.New("state file changed")
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
	backend    Backend
	env, where string
	mu         sync.Mutex
	data       file
	// version is the state as this Store last read or wrote it ("": none), so that a state
	// replaced behind our back is refused instead of overwritten.
	version string
	// scratch: changes stay in memory (see Scratch); the state is never written or removed.
	scratch bool
	// aside is where this run's own state was kept after a conflict (asideKeeper); once set,
	// every later change goes there too and the run ends with the conflict.
	aside, asideToken string
	conflict          error
}

// Open reads the environment's state file in dir; a missing file is an empty state and nothing
// is written until the first change. A file tapctl cannot read is reported, never touched.
func Open(dir, env string) (*Store, error) {
	return OpenIn(context.Background(), Dir(dir), env)
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

// Path is where the state file lives: a path, or an s3:// URL.
func (s *Store) Path() string { return s.where }

// Exists reports whether the state file existed when this Store last read or wrote it.
func (s *Store) Exists() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version != ""
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
		return fmt.Errorf("recording %q in state file %s: empty key or id", key, s.where)
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
	if s.conflict != nil {
		return s.conflict
	}
	if err := s.backend.remove(s.env, s.version); err != nil {
		return err
	}
	s.data, s.version = emptyFile(s.env), ""
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

// save writes next in one step and adopts it only once it is stored, so memory and the state
// file never disagree. Callers hold s.mu, which serializes saves.
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
		return fmt.Errorf("encoding state file %s: %w", s.where, err)
	}
	if s.conflict != nil {
		return s.keepAside(next, raw, s.conflict)
	}
	version, err := s.backend.write(s.env, raw, s.version)
	if version != "" { // stored, even if something after it failed
		s.data, s.version = next, version
	}
	if errors.Is(err, ErrChanged) {
		return s.keepAside(next, raw, err)
	}
	return err
}

// keepAside, after a conflict, stores this run's own state beside the other one where the
// backend can (S3), so that neither is lost, and adopts it in memory so that every later
// change lands there too. The run still ends with the conflict: a person decides which to keep.
// Where the backend cannot (a local directory, whose lock keeps two runs apart), the change is
// refused and memory stays as the file was.
func (s *Store) keepAside(next file, raw []byte, conflict error) error {
	keeper, ok := s.backend.(asideKeeper)
	if !ok {
		return conflict
	}
	if s.asideToken == "" {
		s.asideToken = newToken()
	}
	where, err := keeper.keepAside(s.env, s.asideToken, raw)
	if err != nil {
		return fmt.Errorf("%w; keeping this run's own state aside failed too: %v", conflict, err)
	}
	s.data, s.aside = next, where
	if s.conflict == nil {
		s.conflict = fmt.Errorf("%w; this run's own state is kept at %s: compare the two, keep the right one as %s, and run again", conflict, where, s.where)
	}
	return s.conflict
}
